""""Already paid?" with an M-Pesa code hotspotd never heard of: ask M-Pesa.

When the code a customer types matches no payment hotspotd knows (its callback or
confirmation was lost, or it paid the Paybill with a mistyped account number), the page
asks `ask()`: hotspotd records a check and sends Daraja's Transaction Status query
(`InitiatorClient.transaction_status`); the answer comes later to the result URL
(`hotspotd.billing.daraja_results`), and `status_checks` decides whether it proves a
payment by that phone to this site for enough money. Meanwhile the page polls `outcome()`:
checking, found (the payment, applied, to this device), or not found: one answer for an
unknown code, another short code, another phone and too little money.

The same code from the same phone while a check is under way (or after it found the
payment) gets that check again, not a second query. Besides the page's own budgets per
device and address, the site sends at most `QUERIES_PER_SITE` checks (30 at once, then one
every 10 s): a flood of made-up codes costs Daraja calls and rows, so it is bounded.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING, Callable

from ..billing import initiator_requests as requests
from ..billing import status_checks
from ..billing.initiator_requests import RequestKind, RequestStatus
from ..billing.status_checks import FOUND, Outcome
from ..errors import InvalidInput, NotFound, RateLimited, UpstreamError
from ..phone import normalise as normalise_phone
from ..store.db import storage_errors, utcnow, write_transaction
from ..store.models import InitiatorRequest
from .attempts import Budget

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

log = logging.getLogger(__name__)

# The same words as "already paid?" (hotspotd.customer.already_paid): the page shows one
# message whichever way a code fails.
BAD_CODE = "An M-Pesa code has 10 letters and digits, like TJK3ABC12X"
NO_MATCH = "No paid M-Pesa payment matches that code and phone number. Check both and try again."
QUERIES_PER_SITE = Budget(30, 10)
REMARKS = "Payment check"


def clean_code(text: str) -> str:
    """The code as M-Pesa prints it (capitals, no spaces); InvalidInput when it is not one."""
    code = "".join(ch for ch in (text or "").upper() if not ch.isspace())
    if len(code) != 10 or not (code.isascii() and code.isalnum()):
        raise InvalidInput(BAD_CODE)
    return code


class ReceiptCheck:
    """The Transaction Status checks of one portal process."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.rt = runtime
        self.clock = clock
        self._site = QUERIES_PER_SITE.limit(time.monotonic, max_keys=1)

    @property
    def enabled(self) -> bool:
        """Whether M-Pesa can be asked (the initiator's credentials are configured)."""
        return self.rt.config.initiator_enabled

    def ask(self, receipt: str, phone: str, now: datetime | None = None, *, package_id: int | None = None,
            mac: str | None = None, ip: str | None = None, lang: str | None = None) -> str:
        """Ask M-Pesa about `receipt`, paid from `phone`; returns the check's reference
        (the page polls `outcome` with it). UpstreamError when M-Pesa cannot be asked now."""
        code, number = clean_code(receipt), normalise_phone(phone)
        now = now or self.clock()
        with storage_errors("receipt check"):
            found = self._earlier(code, number)
            if found is not None:
                return found
            if not self._site.allow("site"):
                raise RateLimited(self._site.retry_after("site"))
            with write_transaction():
                request_id, ref = requests.create(RequestKind.STATUS, receipt=code, now=now, phone=number,
                                                  package_id=package_id, mac=mac, ip=ip, lang=lang)
        config = self.rt.config
        try:
            accepted = self.rt.initiator.transaction_status(code, result_url=config.result_url,
                                                            timeout_url=config.result_timeout_url, remarks=REMARKS)
        except UpstreamError as exc:
            with storage_errors("receipt check"), write_transaction():
                requests.mark_failed(request_id, str(exc), now, outcome="error")
            log.warning("Transaction Status for %s could not be asked: %s", code, exc)
            raise
        with storage_errors("receipt check"):
            requests.mark_sent(request_id, accepted, now)
        log.info("Transaction Status asked for %s (check %s)", code, request_id)
        return ref

    @staticmethod
    def _earlier(code: str, number: str) -> str | None:
        """A check of the same code from the same phone that is under way or found it."""
        earlier = (InitiatorRequest.select().where(
            (InitiatorRequest.kind == RequestKind.STATUS) & (InitiatorRequest.receipt == code)
            & (InitiatorRequest.phone == number)
            & (InitiatorRequest.status.in_([RequestStatus.REQUESTED, RequestStatus.SENT])
               | (InitiatorRequest.outcome == FOUND))).order_by(InitiatorRequest.id.desc()).first())
        return None if earlier is None else earlier.ref

    def outcome(self, request_id: str) -> Outcome:
        """What the check `request_id` (its reference) came to; NotFound for no such check.
        A found payment is applied here if the worker has not yet."""
        with storage_errors("receipt check"):
            found = status_checks.outcome(request_id)
            if found is None:
                raise NotFound(NO_MATCH)
            request, outcome = found
            if outcome.status == FOUND and outcome.payment_id is not None:
                status_checks.apply_found(outcome.payment_id, self.clock())
            return outcome

    def asked_by(self, request_id: str) -> tuple[str | None, str | None]:
        """The device (mac, ip) that asked, for the portal to give the login to it alone."""
        found = status_checks.outcome(request_id)
        if found is None:
            raise NotFound(NO_MATCH)
        return found[0].mac, found[0].ip
