""""Already paid?": a customer who paid but is not online types the M-Pesa code from the
SMS (TJK3ABC12X) and the phone number it was paid from; if a paid payment matches, this
device gets its credentials and the page logs it in.

Which payments match:
- one whose receipt is that code, paid from that phone (an STK payment's number, or the
  masked or hashed MSISDN of a Paybill payment): for whoever has both, from any device;
- when no payment has that receipt (its callback never arrived): the STK payments from
  that phone in the last day whose receipt is unknown, made by *this* device as a router
  confirms it. Daraja is asked first (STK query) about those still pending or given up
  on; one it says was paid is applied now. The query does not return the receipt, so the
  device that paid is what proves the claim (a stranger who knows your number gets
  nothing), and the code is only kept in the `payment.restored` event.
One answer for a wrong pair, a payment that is someone else's and no payment at all.

The device joins the account (`billing.bindings`) when a router confirms it: in a free
device slot; for a one-device package (or when every other device is offline) in place
of the oldest device, which loses it — how a phone whose MAC changed gets its package
back. A device no router confirms gets the login; its first login takes a free slot.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

import peewee

from .. import devices, events, sessions
from ..billing import bindings, grants, payments
from ..billing.bindings import BoundBy
from ..billing.payments import PaymentStatus
from ..billing.subscriptions import credential_for
from ..devices import Asker
from ..errors import Conflict, InvalidInput, NotFound, UpstreamError
from ..mpesa.c2b import payer_matches
from ..phone import normalise as normalise_phone
from ..plumbing import tasks
from ..store.db import storage_errors, utcnow, write_transaction
from ..store.models import C2BTransaction, Credential, Payment, Session
from .checkout import access_view

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

log = logging.getLogger(__name__)

RECEIPT = re.compile(r"[A-Z0-9]{10}")
BAD_CODE = "An M-Pesa code has 10 letters and digits, like TJK3ABC12X"
NO_MATCH = "No paid M-Pesa payment matches that code and phone number. Check both and try again."
ALL_DEVICES = "This payment is already in use on as many devices as its package allows"
MOVED = "moved to another device by \"already paid?\""
ENDED = "The package bought with that payment has ended. Buy a new one to get online."
WINDOW = timedelta(days=1)  # how far back a payment without a known receipt is looked for
MAX_QUERIES = 3  # Daraja queries per attempt, newest payments first


def clean_receipt(text: str) -> str:
    """What the customer typed, as M-Pesa prints it: capitals, no spaces."""
    code = "".join(ch for ch in (text or "").upper() if not ch.isspace())
    if not RECEIPT.fullmatch(code):
        raise InvalidInput(BAD_CODE)
    return code


class Restore:
    """The "already paid?" use case of one portal process."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.rt = runtime
        self.clock = clock

    def restore(self, *, receipt: str, phone: str, device: Asker) -> dict[str, Any]:
        """Credentials for the asking device when a paid payment matches: {username,
        password, expires_at, package, ...}; NotFound (one message) when none does."""
        self.rt.site_clock.require_believable()  # selling waits for a believable clock (plumbing.clock)
        code = clean_receipt(receipt)
        number = normalise_phone(phone)
        now = self.clock()
        with storage_errors("restore"):
            devices.refuse_blocked(device.mac)
            payment, via = self._find(code, number, device, now)
            if payment.status == PaymentStatus.RECEIVED:
                payments.apply(payment.id, now)  # idempotent: the worker may be applying it too
                payment = Payment.get_by_id(payment.id)
            if payment.status != PaymentStatus.PAID:
                raise NotFound(NO_MATCH)
            view = access_view(payment.customer_id, now)
            if view is None:
                raise Conflict(ENDED)
            granted = self._admit(payment, device, allowed=view["devices_allowed"], code=code, via=via, now=now)
            username, password = credential_for(payment.customer_id, now)
            view = access_view(payment.customer_id, now) or view
        tasks.after_grant(self.rt, [granted])
        return {**view, "username": username, "password": password, "payment_id": payment.ref}

    def _find(self, code: str, number: str, device: Asker, now: datetime) -> tuple[Payment, str]:
        payment = Payment.get_or_none(Payment.receipt == code)
        if payment is not None:
            if payment.method == "c2b":
                sent = C2BTransaction.get_or_none(C2BTransaction.trans_id == code)
                owner = sent is not None and payer_matches(sent.msisdn or "", number)
            else:
                owner = payment.phone == number
            if not owner:
                raise NotFound(NO_MATCH)
            return payment, "receipt"
        if not device.verified:  # without the receipt, only the device that paid may ask
            raise NotFound(NO_MATCH)
        candidates = list(Payment.select().where(
            (Payment.phone == number) & (Payment.method == "stk") & Payment.receipt.is_null()
            & Payment.verified & (Payment.mac == device.mac)
            & Payment.checkout_request_id.is_null(False) & (Payment.created_at > now - WINDOW)
            & Payment.status.in_([PaymentStatus.PAID, PaymentStatus.RECEIVED, PaymentStatus.PENDING,
                                  PaymentStatus.EXPIRED])).order_by(Payment.created_at.desc()))
        for payment in candidates:  # resolved already (by the reconciler's query)
            if payment.status in (PaymentStatus.PAID, PaymentStatus.RECEIVED):
                return payment, "phone"
        for payment in candidates[:MAX_QUERIES]:  # its callback never came: ask Daraja now
            if self._paid_says_daraja(payment, now):
                return Payment.get_by_id(payment.id), "query"
        raise NotFound(NO_MATCH)

    def _paid_says_daraja(self, payment: Payment, now: datetime) -> bool:
        try:
            answer = self.rt.daraja.stk_query(payment.checkout_request_id, now=now)
        except UpstreamError as exc:
            log.warning("STK query for restore of payment %s failed: %s", payment.id, exc)
            return False
        if answer.pending or str(answer.result_code) != "0":
            return False
        with write_transaction():
            fresh = Payment.get_by_id(payment.id)
            if fresh.status in (PaymentStatus.PENDING, PaymentStatus.EXPIRED):
                # The query does not say how much was paid; the push asked this much.
                payments.mark_received(payment.id, receipt=None, amount_paid=payment.amount,
                                       result_desc=answer.result_desc, now=now)
        return True

    def _admit(self, payment: Payment, device: Asker, *, allowed: int, code: str, via: str,
               now: datetime) -> grants.Granted:
        """Bind a confirmed device to the payment's account: a free slot, or the oldest
        device's (which is logged out) when every other device is offline."""
        account = payment.customer_id
        with write_transaction():
            if device.verified and not bindings.bind(account, device.mac, BoundBy.RESTORED, now, allowed=allowed):
                online = _online_devices(account)
                if allowed > 1 and all(mac in online for mac in bindings.bound(account)):
                    raise Conflict(ALL_DEVICES)
                for mac in bindings.move(account, device.mac, BoundBy.RESTORED, now, allowed=allowed,
                                         keep=online if allowed > 1 else frozenset()):
                    _log_out(account, mac, now)
            events.emit("payment.restored", {"payment_id": payment.id, "mac": device.mac, "ip": device.ip,
                                             "verified": device.verified, "via": via,
                                             "receipt": payment.receipt or code}, now)
        if device.verified:
            return grants.Granted(payment.subscription_id, device.mac, device.ip)
        return grants.Granted(payment.subscription_id)



    # -- a code hotspotd never heard of: ask M-Pesa (Transaction Status, issue 17)

    def _receipt_check(self):  # -> ReceiptCheck (made on first use, one per portal process)
        from .receipt_check import ReceiptCheck

        if "_check" not in self.__dict__:
            self.__dict__["_check"] = ReceiptCheck(self.rt, clock=self.clock)
        return self.__dict__["_check"]

    def restore_or_check(self, *, receipt: str, phone: str, device: Asker, package_id: int | None = None,
                         lang: str | None = None) -> dict[str, Any]:
        """As `restore`; but when the code matches no payment hotspotd knows and M-Pesa can
        be asked (`[mpesa] initiator`), {"status": "checking", "restore_id"}: M-Pesa's
        Transaction Status is asked, and the page polls `checked(restore_id)`. Whoever has the
        receipt and the phone number may ask, from any device."""
        try:
            return self.restore(receipt=receipt, phone=phone, device=device)
        except NotFound:
            check = self._receipt_check()
            code = clean_receipt(receipt)
            with storage_errors("restore"):
                known = Payment.select().where(Payment.receipt == code).exists()
            if known or not check.enabled:
                raise
        restore_id = check.ask(code, phone, self.clock(), package_id=package_id,
                               mac=device.mac if device.verified else None, ip=device.ip, lang=lang)
        return {"status": "checking", "restore_id": restore_id}

    def checked(self, restore_id: str, *, device: Asker) -> dict[str, Any]:
        """What the check `restore_id` came to, for the page that asked (it holds the id; a
        confirmed device that asked must be the one polling): {"status": "checking",
        "restore_id"}, or the credentials as `restore` gives them; NotFound (the one message)
        when M-Pesa did not prove a payment."""
        check = self._receipt_check()
        asked_mac, _ = check.asked_by(restore_id)
        if asked_mac and not device.is_(asked_mac):
            raise NotFound(NO_MATCH)
        outcome = check.outcome(restore_id)
        if outcome.status == "checking":
            return {"status": "checking", "restore_id": restore_id}
        if outcome.status != "found" or outcome.payment_id is None:
            raise NotFound(NO_MATCH)
        now = self.clock()
        with storage_errors("restore"):
            payment = Payment.get_by_id(outcome.payment_id)
            if payment.status != PaymentStatus.PAID:
                return {"status": "checking", "restore_id": restore_id}
            view = access_view(payment.customer_id, now)
            if view is None:
                raise Conflict(ENDED)
            granted = self._admit(payment, device, allowed=view["devices_allowed"], code=payment.receipt,
                                  via="status", now=now)
            username, password = credential_for(payment.customer_id, now)
        tasks.after_grant(self.rt, [granted])
        return {**view, "status": "paid", "username": username, "password": password, "payment_id": payment.ref}


def _online_devices(customer_id: int) -> frozenset[str]:
    credential = Credential.get_or_none(Credential.customer == customer_id)
    if credential is None:
        return frozenset()
    return frozenset(s.mac for s in Session.select(Session.mac).where(
        (Session.username == credential.username) & (Session.status == sessions.SessionStatus.OPEN)) if s.mac)


def _log_out(customer_id: int, mac: str, now: datetime) -> None:
    """The device that lost its slot is cut off (its login no longer works on it)."""
    credential = Credential.get_or_none(Credential.customer == customer_id)
    if credential is None:
        return
    for session in Session.select(Session.id).where(
            (Session.username == credential.username) & (Session.mac == mac)
            & (Session.status == sessions.SessionStatus.OPEN)):
        sessions.request_disconnect(session.id, MOVED, now)
