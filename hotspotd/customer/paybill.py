"""Paying by Paybill (M-Pesa C2B), the second way to pay, for when the prompt never
reaches a phone (old SIM cards, M-Pesa's night-time maintenance).

1. `offer()`: the portal asks for a package; the device gets a short account number bound
   to it and that package for `[mpesa] paybill_valid_for` seconds (a pending `c2b`
   payment, `payment.initiated`). The page shows "business number X, account number Y"
   and polls the payment like an STK payment (`Checkout.payment_status`).
2. The customer pays from the M-Pesa menu. If Safaricom has validation enabled for the
   short code, Daraja first asks `validate()`: an unknown or expired account number is
   refused (C2B00012), an amount below the package's price (C2B00013).
3. Daraja POSTs the confirmation: `confirm()` records it durably (group commit, once per
   TransID) and answers only after the commit; the payment is `received` and applied by
   the `apply_payments` task like any payment, so the waiting page logs the device in.
   Money to an account that matches nothing is kept for the operator (`payment.unmatched`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from .. import devices
from ..billing import c2b, packages
from ..billing.callbacks import Incoming, Recorded
from ..devices import Asker
from ..errors import MalformedCallback, NotFound
from .checkout import PaymentInbox, buyer_account
from ..mpesa import c2b as daraja
from ..store.db import storage_errors, utcnow
from ..store.models import iso

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

log = logging.getLogger(__name__)


class Paybill:
    """The Paybill use cases of one portal process."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.rt = runtime
        self.clock = clock
        self._inbox = PaymentInbox(runtime, c2b.record_confirmations, name="c2b-writer",
                                   what="Paybill confirmation")

    @property
    def business_number(self) -> str:
        return self.rt.config.mpesa.paybill

    @property
    def valid_for(self) -> float:
        return self.rt.config.mpesa.paybill_valid_for

    def close(self) -> None:
        self._inbox.close()

    def offer(self, *, package_id: object, device: Asker, top_up: bool = False,
              lang: str | None = None) -> dict[str, Any]:
        """An account number for the asking device and package: {payment_id, business_number,
        account, amount, package, expires_at}. A device a router confirms gets the same one
        when it asks again; the account it pays for is chosen as for the M-Pesa prompt."""
        self.rt.site_clock.require_believable()  # selling waits for a believable clock (plumbing.clock)
        if not self.business_number:
            raise NotFound("Paying by Paybill is not available here")
        now = self.clock()
        with storage_errors("paybill offer"):
            devices.refuse_blocked(device.mac)
            package = packages.get_package(package_id)
            buyer = buyer_account(device, top_up)
            payment = (c2b.open_offer(package, mac=device.mac, now=now, valid_for=self.valid_for)
                       if device.verified and device.mac else None)
            if payment is None:
                payment = c2b.make_offer(package, mac=device.mac, ip=device.ip, now=now, customer_id=buyer,
                                         verified=device.verified, lang=lang)
        return {"payment_id": payment.ref, "status": payment.status, "business_number": self.business_number,
                "account": payment.account, "amount": payment.amount, "package": package.name,
                "expires_at": iso(payment.created_at + timedelta(seconds=self.valid_for))}

    def validate(self, body: bytes) -> dict[str, str]:
        """Daraja's validation call: the answer to send back (accept or a C2B refusal)."""
        try:
            payment = daraja.parse_c2b(body)
        except MalformedCallback as exc:
            log.warning("malformed C2B validation: %s", exc)
            return daraja.refuse(daraja.OTHER_ERROR)
        with storage_errors("paybill validation"):
            answer = c2b.validate(payment, short_code=self.business_number or self.rt.config.mpesa.shortcode,
                                  now=self.clock(), valid_for=self.valid_for)
        log.info("Paybill validation of %s to account %r: %s", payment.trans_id, payment.bill_ref, answer["ResultCode"])
        return answer

    def confirm(self, body: bytes, remote_addr: str | None) -> Recorded:
        """Record a confirmation durably; return once it is committed. StorageUnavailable
        when it could not be (Daraja retries)."""
        return self._inbox.submit(Incoming(body, remote_addr, self.clock()))
