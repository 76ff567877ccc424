"""The customer's side of the hotspot, from "Pay" to access, in one place.

What happens to an M-Pesa payment (docs/architecture.md draws it as a sequence):

1. `pay()`: a pending `payment` row is written first (`payments.start`), then Daraja is
   asked for the STK push. Accepted: the CheckoutRequestID is stored and
   `payment.initiated` written. Refused: `payment.failed`, and the page is told why.
2. The customer types the PIN; Daraja POSTs the callback to the portal, which hands the
   body to `receive_callback()`. The callback writer commits everything that arrived
   together in one transaction (`billing.callbacks`: the body in `mpesa_callback`, the
   result through `payments.take_result`: the payment is now `received`, or ended with
   `payment.failed`). Daraja gets its 200 only after that commit; then the
   `apply_payments` task is enqueued. No callback at all? The worker's reconciler asks
   Daraja (`tasks.check_payment`, `payments.record_query`) after `[mpesa] query_after`.
3. `tasks.apply_payments` (worker): `payments.apply` writes the customer, credentials, the
   subscription (`subscription.created` or `.extended`) and `payment.processed` in one
   transaction, then enqueues `provision_subscriptions` (`user.provisioned`) and
   `auto_login`.
4. RADIUS learns of it: triggers note every changed credential and subscription in
   `radius_change`; the RADIUS role reads them into its view within a second, and at once
   when a login would otherwise be turned away (`hotspotd.radius.server.AuthLoop`).
5. The page polls `payment_status()`; once paid, the device that paid gets its
   credentials and logs in at the router.

Vouchers take a shorter road: `redeem_voucher()` grants the subscription at once
(`voucher.redeemed`) and enqueues provisioning and the device's auto-login. The queue only speeds things up: the
record says what is unfinished, and the reconciler finds whatever an enqueue lost.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .. import devices
from ..billing import bindings, callbacks, packages, payments, vouchers
from ..billing.callbacks import Incoming, Recorded
from ..billing.payments import PaymentStatus
from ..billing.subscriptions import credential_for
from ..devices import Asker
from ..errors import NotFound, RateLimited, StorageUnavailable, UpstreamError
from ..phone import normalise as normalise_phone
from ..plumbing import tasks
from . import account
from .attempts import PROMPTS_PER_PHONE
from ..store.batching import Batcher
from ..store.db import ping, storage_errors, utcnow
from ..store.models import Payment, iso

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

log = logging.getLogger(__name__)

RECORD_WAIT = 30.0  # seconds a callback's or confirmation's answer may wait for its batch to commit


class PaymentInbox:
    """Where Daraja's news of money arrives (STK callbacks here, Paybill confirmations in
    `hotspotd.customer.paybill`): each is recorded durably in a group commit, and the answer goes
    back only after it; the payments a batch made `received` are applied after the commit,
    one task for the batch."""

    def __init__(self, runtime: Runtime, record: Callable[[list], list], *, name: str, what: str) -> None:
        self.rt = runtime
        self.what = what
        self._batcher = Batcher(record, after_commit=self._apply_received, name=name)

    def submit(self, item: Any) -> Any:
        """The item's outcome once committed; StorageUnavailable when it could not be (Daraja retries)."""
        try:
            return self._batcher.submit(item, RECORD_WAIT)
        except Exception as exc:
            log.critical("%s not recorded: %s", self.what, exc)
            raise StorageUnavailable("Temporarily unavailable, retry later") from exc

    def _apply_received(self, outcomes: Sequence[Any]) -> None:
        received = [o.payment_id for o in outcomes if o.apply]
        if received:
            self.rt.queue.dispatch(tasks.apply_payments, received)

    def close(self) -> None:
        self._batcher.close()


class Checkout:
    """The use cases the captive portal offers; one per portal process."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.rt = runtime
        self.clock = clock
        self._inbox = PaymentInbox(runtime, callbacks.record_callbacks, name="callback-writer",
                                   what="M-Pesa callback")
        # No client may flood a phone with prompts, whatever MAC or address it claims.
        self._prompts = PROMPTS_PER_PHONE.limit(time.monotonic)

    def close(self) -> None:
        self._inbox.close()

    def ping(self) -> None:
        """The store answers (StorageUnavailable if not): the portal's /healthz."""
        ping()

    # -- what is for sale

    def packages(self) -> list[dict[str, Any]]:
        with storage_errors("packages"):
            return [packages.package_dict(p) for p in packages.list_packages()]

    # -- M-Pesa (STK push)

    def pay(self, *, package_id: object, phone: str, device: Asker, top_up: bool = False,
            lang: str | None = None) -> dict[str, Any]:
        """Send the M-Pesa prompt to `phone` for a package, for the asking device: its own
        account when a router confirms the device has one ("buy more" extends it), else a
        new account of its own. `top_up` (the "buy more" button) needs a confirmed device.
        Returns {payment_id, status}; the payment id is the secret that fetches the login."""
        self.rt.site_clock.require_believable()  # selling waits for a believable clock (plumbing.clock)
        now = self.clock()
        with storage_errors("pay"):
            devices.refuse_blocked(device.mac)
            package = packages.get_package(package_id)
            number = normalise_phone(phone)
            buyer = buyer_account(device, top_up)
            if not self._prompts.allow(number):
                raise RateLimited(self._prompts.retry_after(number))
            payment = payments.start(package, number, mac=device.mac, ip=device.ip, now=now, customer_id=buyer,
                                     verified=device.verified, lang=lang)  # `lang`: its receipt SMS's
            config = self.rt.config
            try:
                accepted = self.rt.daraja.stk_push(phone=number, amount=package.price, callback_url=config.callback_url,
                                                   account_reference=config.mpesa.account_reference,
                                                   description=package.name[:13], now=now)
            except UpstreamError as exc:
                payments.push_refused(payment, exc, now)
                raise
            payments.pushed(payment, checkout_request_id=accepted.checkout_request_id,
                            merchant_request_id=accepted.merchant_request_id, now=now)
            if callbacks.adopt_orphans(accepted.checkout_request_id, now):  # its callback raced ahead
                self.rt.queue.dispatch(tasks.apply_payments, [payment.id])
        return {"payment_id": payment.ref, "status": PaymentStatus.PENDING.value}

    def receive_callback(self, body: bytes, remote_addr: str | None) -> Recorded:
        """Record a Daraja STK callback durably; return only once it is committed.

        Raises StorageUnavailable when it could not be recorded (Daraja, or the
        reconciler's query, will try again). Received payments are applied after the commit.
        """
        return self._inbox.submit(Incoming(body, remote_addr, self.clock()))

    def payment_status(self, ref: str, *, device: Asker) -> dict[str, Any]:
        """What the portal may show about a payment. Its credentials go to the holder of the
        payment id (a secret only the page that paid holds), unless a router says the asking
        device is not the one that paid."""
        with storage_errors("payment status"):
            payment = payments.find_by_ref(ref)
            if payment is None:
                raise NotFound("No such payment")
            status = PaymentStatus(payment.status)
            view = {"payment_id": payment.ref,
                    "status": PaymentStatus.PENDING.value if status == PaymentStatus.RECEIVED else status.value,
                    "amount": payment.amount, "package": payment.package.name, "method": payment.method}
            if status in payments.ENDED:
                view.update(reason=payment.reason, result_code=payment.result_code)
            if status == PaymentStatus.PAID and _may_see(payment, device):
                username, password = credential_for(payment.customer_id, payment.applied_at)
                view.update(access_view(payment.customer_id, self.clock()) or {},
                            username=username, password=password)
                view.setdefault("expires_at", iso(payment.subscription.ends_at))
            return view

    # -- vouchers

    def redeem_voucher(self, code: str, *, device: Asker, lang: str | None = None) -> dict[str, Any]:
        """Turn a voucher code into access for the device typing it (whoever has the code);
        {username, password, expires_at}."""
        self.rt.site_clock.require_believable()  # selling waits for a believable clock (plumbing.clock)
        with storage_errors("voucher"):
            devices.refuse_blocked(device.mac)
            redeemed = vouchers.redeem(code, device=device, now=self.clock(), lang=lang)
        if redeemed.granted is not None:
            tasks.after_grant(self.rt, [redeemed.granted])
        with storage_errors("voucher"):
            view = access_view(redeemed.customer_id, self.clock()) or {"expires_at": iso(redeemed.expires_at)}
        return {**view, "username": redeemed.username, "password": redeemed.password}


def access_view(customer_id: int, now: datetime) -> dict[str, Any] | None:
    """What a customer's credentials give them now (package, expires_at, data left, ...)."""
    found = account.access_of(customer_id, now)
    return None if found is None else found.as_dict()


def buyer_account(device: Asker, top_up: bool) -> int | None:
    """The account a purchase from `device` extends: its own, when a router confirms the
    device and it has one; None for a new account of its own. "Buy more" (`top_up`) from a
    device no router confirms is refused: it would extend whichever account it claimed."""
    if top_up:
        device.confirmed()
    return bindings.own_account(device.mac) if device.verified else None


def _may_see(payment: Payment, device: Asker) -> bool:
    """The payment id's holder sees its login, unless a router says it is another device
    than the confirmed one that paid."""
    return not (payment.verified and device.verified and device.mac != payment.mac)
