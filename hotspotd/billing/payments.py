"""What happens to an M-Pesa payment, from the STK push to access, in one place.

    initiate()         customer asks to pay: a pending payment, then the STK push
    record_callback()  Daraja reports the result (see callbacks.py, the hot path)
    record_query()     no callback came: the reconciler asked Daraja (STK query)
    apply()            a received payment becomes a subscription with credentials

Every function is idempotent and commits its state change together with its event.
Side effects that follow (applying, provisioning) are returned to the caller, who
enqueues them after the commit; the reconciler finds anything that was lost.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple, Protocol, Sequence

import peewee

from .. import events
from .. import phone as phones
from ..errors import NotFound, UpstreamError
from ..mpesa.callback import status_for_result
from ..store.db import db, write_transaction
from ..store.models import Payment, Subscription, iso, to_db_time
from . import callbacks, packages, subscriptions

log = logging.getLogger(__name__)

# Payments applied per transaction: large enough to share an fsync, small enough that the
# portal, waiting to record callbacks, never waits long for the write lock.
APPLY_CHUNK = 8
LOCK_GAP = 0.003


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
    if callbacks.adopt_orphans(payment.id, accepted.checkout_request_id, now):
        return Payment.get_by_id(payment.id)
    return payment


def _finish(payment: Payment, status: str, now: datetime, *, reason: str | None,
            result_code: str | None = None) -> None:
    """End `payment` without access (callbacks.record_failure) and keep the object in step."""
    callbacks.record_failure(payment.id, status, reason, result_code=result_code, phone=payment.phone,
                             amount=payment.amount, now=now)
    payment.status, payment.reason = status, reason
    payment.result_code = result_code or payment.result_code
    payment.resolved_at = payment.updated_at = now


@dataclass(frozen=True)
class Applied:
    payment_id: int
    status: str
    subscription_id: int | None = None


class _Package(NamedTuple):
    id: int
    name: str
    price: int
    duration_s: int
    data_limit: int | None


# Plain SQL: this runs for every payment of a burst (see bench/callback_bench.py).
_TO_APPLY = ('SELECT p."status", p."amount_paid", p."amount", p."phone", p."mac", p."receipt", p."subscription_id", '
             'k."id", k."name", k."price", k."duration_s", k."data_limit" '
             'FROM "payment" p JOIN "package" k ON k."id" = p."package_id" WHERE p."id" = ?')
_PAID = ('UPDATE "payment" SET "customer_id" = ?, "subscription_id" = ?, "status" = \'paid\', "applied_at" = ?, '
         '"updated_at" = ? WHERE "id" = ?')


def apply(payment_id: int, now: datetime) -> Applied:
    """Turn a received payment into access: customer, credentials, subscription, events.

    Running it again, or on a payment that is not `received`, changes nothing.
    """
    with write_transaction():
        return _apply(payment_id, now)


def apply_many(payment_ids: Sequence[int], now: datetime) -> tuple[list[Applied], list[tuple[int, Exception]]]:
    """Apply a batch in one transaction; each payment in its own savepoint, so one that
    fails (returned second, with its error) leaves the others applied."""
    applied: list[Applied] = []
    failed: list[tuple[int, Exception]] = []
    for start in range(0, len(payment_ids), APPLY_CHUNK):
        if start:
            time.sleep(LOCK_GAP)  # let a waiting writer (the portal's callbacks) have the lock
        with write_transaction():
            for payment_id in payment_ids[start:start + APPLY_CHUNK]:
                try:
                    with db.atomic():
                        applied.append(_apply(payment_id, now))
                except Exception as exc:
                    log.exception("applying payment %s failed", payment_id)
                    failed.append((payment_id, exc))
    return applied, failed


def _apply(payment_id: int, now: datetime) -> Applied:
    row = db.execute_sql(_TO_APPLY, (payment_id,)).fetchone()
    if row is None:
        raise NotFound(f"no payment {payment_id}")
    status, amount_paid, amount, phone, mac, receipt, subscription_id = row[:7]
    package = _Package(*row[7:])
    if status != "received":
        return Applied(payment_id, status, subscription_id)
    at = to_db_time(now)
    paid = Decimal(str(amount_paid if amount_paid is not None else amount))
    if paid < package.price:
        callbacks.record_failure(payment_id, "failed", f"underpaid: paid {paid:f}, the package costs {package.price}",
                                 result_code=None, phone=phone, amount=amount, now=now)
        return Applied(payment_id, "failed")
    customer_id = subscriptions.find_or_create_customer(phone, now)
    grant = subscriptions.grant(customer_id, package, now, mac=mac, source={"payment_id": payment_id})
    db.execute_sql(_PAID, (customer_id, grant.subscription_id, at, at, payment_id))
    events.emit("payment.processed", {"payment_id": payment_id, "amount": str(paid), "receipt": receipt,
                                      "phone": phone, "subscription_id": grant.subscription_id}, now)
    return Applied(payment_id, "paid", grant.subscription_id)


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
        username, password = subscriptions.credential_for(payment.customer_id, payment.applied_at)
        subscription: Subscription = payment.subscription
        view.update(username=username, password=password,
                    expires_at=iso(subscription.ends_at))
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
