"""What happens to an M-Pesa payment, from the STK push to access, in one place.

    initiate()         customer asks to pay: a pending payment, then the STK push
    record_callback()  Daraja reports the result: stored durably, once, before the answer
    record_query()     no callback came: the reconciler asked Daraja (STK query)
    apply()            a received payment becomes a subscription with credentials

Every function is idempotent and commits its state change together with its event.
Side effects that follow (applying, provisioning) are returned to the caller, who
enqueues them after the commit; the reconciler finds anything that was lost.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

import peewee

from .. import events
from .. import phone as phones
from ..errors import UpstreamError
from ..mpesa.callback import StkCallback, parse_stk_callback, status_for_result
from ..store.db import write_transaction
from ..store.models import MpesaCallback, Payment, Subscription
from . import packages, subscriptions

log = logging.getLogger(__name__)

FINAL = ("paid", "failed", "cancelled", "expired")


class StkPusher(Protocol):
    def stk_push(self, *, phone: str, amount: int, callback_url: str, account_reference: str,
                 description: str, now: datetime): ...

    def stk_query(self, checkout_request_id: str, *, now: datetime): ...


def initiate(*, package_id: object, phone: str, mac: str | None, ip: str | None, daraja: StkPusher,
             callback_url: str, account_reference: str, now: datetime) -> Payment:
    """Record a pending payment, then ask Daraja to prompt the customer's phone.

    The payment is written before the push so that a crash in between leaves a record
    the reconciler expires, never a prompt nobody knows about. A Daraja error marks the
    payment failed and is raised for the portal to show.
    """
    package = packages.get_package(package_id)
    number = phones.normalise(phone)
    with write_transaction():
        payment = Payment.create(ref=secrets.token_urlsafe(12), package=package, phone=number,
                                 amount=package.price, status="pending", mac=(mac or "").upper() or None,
                                 ip=ip or None, created_at=now, updated_at=now)
    try:
        accepted = daraja.stk_push(phone=number, amount=package.price, callback_url=callback_url,
                                   account_reference=account_reference, description=package.name[:13], now=now)
    except UpstreamError as exc:
        with write_transaction():
            _finish(payment, "failed", now, reason=f"M-Pesa did not accept the request: {exc}")
        raise
    with write_transaction():
        payment = Payment.get_by_id(payment.id)
        payment.checkout_request_id = accepted.checkout_request_id
        payment.merchant_request_id = accepted.merchant_request_id
        payment.updated_at = now
        payment.save()
        events.emit("payment.initiated", {"payment_id": payment.id, "package_id": package.id,
                                          "amount": package.price, "phone": number}, now)
    adopted = _adopt_orphans(payment, now)
    return adopted or payment


@dataclass(frozen=True)
class CallbackOutcome:
    outcome: str  # recorded | duplicate | orphan | malformed
    payment_id: int | None = None
    apply: bool = False  # the caller should enqueue apply(payment_id)
    error: str | None = None


def record_callback(body: bytes, *, remote_addr: str | None, now: datetime) -> CallbackOutcome:
    """Store a Daraja callback durably and update its payment; never raises for bad input.

    Returns `malformed` for a body that cannot be parsed (kept for inspection),
    `orphan` when no payment has its CheckoutRequestID (kept for the operator),
    `duplicate` when the result was known already (a replay changes nothing).
    """
    text = body.decode("utf-8", errors="replace")
    try:
        callback = parse_stk_callback(body)
    except Exception as exc:  # MalformedCallback, or anything a hostile body provokes
        with write_transaction():
            MpesaCallback.create(received_at=now, body=text, outcome="malformed", error=str(exc)[:300],
                                 remote_addr=remote_addr)
        log.warning("malformed M-Pesa callback from %s: %s", remote_addr, exc)
        return CallbackOutcome("malformed", error=str(exc))
    with write_transaction():
        payment = Payment.get_or_none(Payment.checkout_request_id == callback.checkout_request_id)
        outcome = "orphan" if payment is None else _apply_result(payment, callback, now)
        MpesaCallback.create(received_at=now, body=text, checkout_request_id=callback.checkout_request_id,
                             outcome="recorded" if outcome == "apply" else outcome, remote_addr=remote_addr)
    if outcome == "orphan":
        log.warning("M-Pesa callback for unknown CheckoutRequestID %s kept as orphan", callback.checkout_request_id)
        return CallbackOutcome("orphan")
    return CallbackOutcome("recorded" if outcome in ("apply", "recorded") else outcome,
                           payment.id, apply=outcome == "apply")


def _apply_result(payment: Payment, callback: StkCallback, now: datetime) -> str:
    """Move a payment on by a callback's result. Inside a write transaction."""
    if callback.succeeded:
        if payment.status in ("received", "paid"):
            if payment.receipt is None and callback.receipt:  # resolved by query first
                _set_receipt(payment, callback.receipt)
            return "duplicate"
        # A late success after we gave up (expired/cancelled by query) still means money
        # was taken: honour it rather than keep the customer's shillings.
        if callback.receipt and Payment.select().where(Payment.receipt == callback.receipt).exists():
            return "duplicate"
        payment.receipt = callback.receipt
        payment.amount_paid = callback.amount
        payment.result_code, payment.result_desc = "0", callback.result_desc
        payment.status, payment.reason = "received", None
        payment.resolved_at = payment.updated_at = now
        payment.save()
        return "apply"
    if payment.status != "pending":
        return "duplicate"
    _finish(payment, status_for_result(callback.result_code), now, reason=callback.result_desc,
            result_code=str(callback.result_code))
    return "recorded"


def _set_receipt(payment: Payment, receipt: str) -> None:
    if not Payment.select().where(Payment.receipt == receipt).exists():
        payment.receipt = receipt
        payment.save()


def _finish(payment: Payment, status: str, now: datetime, *, reason: str | None,
            result_code: str | None = None) -> None:
    payment.status, payment.reason = status, reason
    payment.result_code = result_code or payment.result_code
    payment.resolved_at = payment.updated_at = now
    payment.save()
    events.emit("payment.failed", {"payment_id": payment.id, "status": status, "reason": reason,
                                   "phone": payment.phone, "amount": payment.amount}, now)


def _adopt_orphans(payment: Payment, now: datetime) -> Payment | None:
    """A callback that raced ahead of our own record of the push is applied now."""
    orphans = list(MpesaCallback.select().where(
        (MpesaCallback.checkout_request_id == payment.checkout_request_id) & (MpesaCallback.outcome == "orphan")))
    if not orphans:
        return None
    for orphan in orphans:
        with write_transaction():
            fresh = Payment.get_by_id(payment.id)
            _apply_result(fresh, parse_stk_callback(orphan.body.encode()), now)
            orphan.outcome = "recorded"
            orphan.save()
    return Payment.get_by_id(payment.id)


@dataclass(frozen=True)
class Applied:
    payment_id: int
    status: str
    subscription_id: int | None = None


def apply(payment_id: int, now: datetime) -> Applied:
    """Turn a received payment into access: customer, credentials, subscription, events.

    Running it again, or on a payment that is not `received`, changes nothing.
    """
    with write_transaction():
        payment = Payment.get_by_id(payment_id)
        if payment.status != "received":
            return Applied(payment.id, payment.status, payment.subscription_id)
        package = payment.package
        paid = Decimal(payment.amount_paid if payment.amount_paid is not None else payment.amount)
        if paid < package.price:
            _finish(payment, "failed", now, reason=f"underpaid: paid {paid:f}, the package costs {package.price}")
            return Applied(payment.id, "failed")
        customer = subscriptions.find_or_create_customer(payment.phone, now)
        grant = subscriptions.grant(customer, package, now, mac=payment.mac, source={"payment_id": payment.id})
        payment.customer, payment.subscription = customer, grant.subscription
        payment.status, payment.applied_at, payment.updated_at = "paid", now, now
        payment.save()
        events.emit("payment.processed", {"payment_id": payment.id, "amount": str(paid), "receipt": payment.receipt,
                                          "phone": payment.phone, "subscription_id": grant.subscription.id}, now)
        return Applied(payment.id, "paid", grant.subscription.id)


def record_query(payment_id: int, daraja: StkPusher, *, pending_timeout: float, now: datetime) -> str:
    """Ask Daraja about a payment that had no callback; returns the resulting status.

    'Being processed' keeps it pending until `pending_timeout` has passed since the push,
    then it expires. A Daraja error is raised (the task retries) unless the payment is
    past its time, in which case it expires all the same.
    """
    payment = Payment.get_by_id(payment_id)
    if payment.status != "pending":
        return payment.status
    overdue = now - payment.created_at >= timedelta(seconds=pending_timeout)
    if payment.checkout_request_id is None:
        if overdue:
            with write_transaction():
                _finish_if_pending(payment_id, "expired", now, reason="M-Pesa never confirmed the request")
        return Payment.get_by_id(payment_id).status
    try:
        answer = daraja.stk_query(payment.checkout_request_id, now=now)
    except UpstreamError:
        if not overdue:
            raise
        answer = None
    with write_transaction():
        payment = Payment.get_by_id(payment_id)
        if payment.status != "pending":
            return payment.status
        payment.queried_at, payment.query_count = now, payment.query_count + 1
        payment.save()
        if answer is None or answer.pending:
            if overdue:
                _finish(payment, "expired", now, reason="no answer from the customer's phone in time")
            return payment.status
        code = int(answer.result_code) if str(answer.result_code).lstrip("-").isdigit() else -1
        if code == 0:
            payment.amount_paid = Decimal(payment.amount)  # the query does not say; the push asked this much
            payment.result_code, payment.result_desc = "0", answer.result_desc
            payment.status, payment.resolved_at, payment.updated_at = "received", now, now
            payment.save()
        else:
            _finish(payment, status_for_result(code), now, reason=answer.result_desc, result_code=str(answer.result_code))
        return payment.status


def _finish_if_pending(payment_id: int, status: str, now: datetime, *, reason: str) -> None:
    payment = Payment.get_by_id(payment_id)
    if payment.status == "pending":
        _finish(payment, status, now, reason=reason)


def portal_view(payment: Payment, *, mac: str | None, ip: str | None) -> dict:
    """What the portal may show about a payment. Credentials go only to the device that paid."""
    status = "pending" if payment.status == "received" else payment.status
    view = {"payment_id": payment.ref, "status": status, "amount": payment.amount,
            "package": payment.package.name}
    if payment.status in ("failed", "cancelled", "expired"):
        view["reason"] = payment.reason
    if payment.status == "paid" and _same_device(payment, mac, ip):
        credential = subscriptions.credential_for(payment.customer, payment.applied_at)
        subscription: Subscription = payment.subscription
        view.update(username=credential.username, password=credential.password,
                    expires_at=subscription.ends_at.isoformat().replace("+00:00", "Z"))
    return view


def _same_device(payment: Payment, mac: str | None, ip: str | None) -> bool:
    if payment.mac:
        return bool(mac) and mac.upper() == payment.mac
    return bool(ip) and ip == payment.ip


def find_by_ref(ref: str) -> Payment | None:
    try:
        return Payment.get_or_none(Payment.ref == str(ref)[:64])
    except peewee.PeeweeException:
        return None
