"""The payment state machine: every status an M-Pesa payment can have, and the one writer
of each transition.

    pending ──(callback or query: paid)──────────> received ──(apply)──> paid
       │                                             ↑  │
       ├──(callback or query: not paid)──> failed | cancelled | expired
       │                                             │  └──(apply: underpaid)──> failed
       └──(late success: money was taken anyway)─────┘
                                        paid ──(Reversal succeeded)──> refunded

    start()           a pending payment, before the STK push is asked for
    pushed()          Daraja accepted the push                        payment.initiated
    take_result()     a callback's result moves the payment on
    record_query()    no callback came: Daraja's STK query decides
    mark_received()   the one way into `received`
    end()             the one way out without access                  payment.failed
    apply()           `received` becomes access (a subscription)      payment.processed
    refunded()        `paid` becomes `refunded` (M-Pesa gave the money back; billing.refunds)

Every writer commits its state change together with its event, and is idempotent. What
follows a transition (applying, provisioning) is returned to the caller, who enqueues it
after the commit (see `hotspotd.customer.checkout` and `hotspotd.plumbing.tasks`); the reconciler finds
whatever was lost between the two.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple, Protocol, Sequence

from .. import events
from ..errors import NotFound, UpstreamError
from ..mpesa.callback import StkCallback
from ..store.db import db, write_transaction
from ..store.models import Package, Payment, to_db_time
from . import bindings, grants, subscriptions

log = logging.getLogger(__name__)


class PaymentStatus(StrEnum):
    PENDING = "pending"  # push asked for (or being asked for), no result yet
    RECEIVED = "received"  # M-Pesa says paid; not yet applied
    PAID = "paid"  # applied: subscription and credentials exist
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"  # was paid; M-Pesa gave the money back (a Reversal): access ended


ENDED = frozenset({PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.EXPIRED})

# Branch on Daraja's ResultCode only: ResultDesc texts and prefixes vary.
_CANCELLED_CODES = {1031, 1032}
_EXPIRED_CODES = {1019, 1037}

# Payments applied per transaction: large enough to share an fsync, small enough that the
# portal, waiting to record callbacks, never waits long for the write lock.
APPLY_CHUNK = 8
LOCK_GAP = 0.003


def status_for_result(code: int) -> PaymentStatus:
    """The status a Daraja ResultCode leads to."""
    if code == 0:
        return PaymentStatus.RECEIVED
    if code in _CANCELLED_CODES:
        return PaymentStatus.CANCELLED
    if code in _EXPIRED_CODES:
        return PaymentStatus.EXPIRED
    return PaymentStatus.FAILED


class StkPusher(Protocol):
    def stk_push(self, *, phone: str, amount: int, callback_url: str, account_reference: str,
                 description: str, now: datetime): ...

    def stk_query(self, checkout_request_id: str, *, now: datetime): ...


# -- the writers. Plain SQL on the paths a burst of callbacks takes (see bench/callback_bench.py).

_RECEIVED = ('UPDATE "payment" SET "receipt" = ?, "amount_paid" = ?, "result_code" = \'0\', "result_desc" = ?, '
             '"status" = \'received\', "reason" = NULL, "resolved_at" = ?, "updated_at" = ? WHERE "id" = ?')
_ENDED = ('UPDATE "payment" SET "status" = ?, "reason" = ?, "result_code" = COALESCE(?, "result_code"), '
          '"resolved_at" = ?, "updated_at" = ? WHERE "id" = ?')
_SET_RECEIPT = 'UPDATE "payment" SET "receipt" = ? WHERE "id" = ? AND "receipt" IS NULL'
_RECEIPT_TAKEN = 'SELECT 1 FROM "payment" WHERE "receipt" = ?'
_ROW = 'SELECT "id", "status", "receipt", "phone", "amount" FROM "payment" WHERE "checkout_request_id" = ?'


class PaymentRow(NamedTuple):
    id: int
    status: str
    receipt: str | None
    phone: str
    amount: int


def find_by_checkout(checkout_request_id: str) -> PaymentRow | None:
    row = db.execute_sql(_ROW, (checkout_request_id,)).fetchone()
    return None if row is None else PaymentRow(*row)


def mark_received(payment_id: int, *, receipt: str | None, amount_paid: Decimal, result_desc: str,
                  now: datetime) -> None:
    """The payment is paid at M-Pesa and waits to be applied. In a write transaction."""
    at = to_db_time(now)
    db.execute_sql(_RECEIVED, (receipt, str(amount_paid), result_desc, at, at, payment_id))


def end(payment_id: int, status: PaymentStatus, reason: str | None, *, result_code: str | None,
        phone: str, amount: int, now: datetime) -> None:
    """The payment ends without access (failed, cancelled, expired, underpaid), with its
    `payment.failed` event. Every path that ends a payment so comes here. In a write
    transaction."""
    if status not in ENDED:
        raise ValueError(f"a payment cannot end as {status!r}")
    at = to_db_time(now)
    db.execute_sql(_ENDED, (status.value, reason, result_code, at, at, payment_id))
    events.emit("payment.failed", {"payment_id": payment_id, "status": status.value, "reason": reason,
                                   "phone": phone, "amount": events.money(amount)}, now)


def _receipt_taken(receipt: str | None) -> bool:
    return receipt is not None and db.execute_sql(_RECEIPT_TAKEN, (receipt,)).fetchone() is not None


def take_result(payment: PaymentRow, callback: StkCallback, now: datetime) -> str:
    """Move a payment on by a callback's result. In a write transaction.

    Returns `apply` (now received: apply it after the commit), `recorded` (ended) or
    `duplicate` (the result was known already: a replay changes nothing).
    """
    if callback.succeeded:
        if payment.status in (PaymentStatus.RECEIVED, PaymentStatus.PAID):
            if payment.receipt is None and not _receipt_taken(callback.receipt):  # resolved by query first
                db.execute_sql(_SET_RECEIPT, (callback.receipt, payment.id))
            return "duplicate"
        # A late success after we gave up (expired, or cancelled by a query) still means
        # money was taken: honour it rather than keep the customer's shillings.
        if _receipt_taken(callback.receipt):
            return "duplicate"
        mark_received(payment.id, receipt=callback.receipt, amount_paid=callback.amount,
                      result_desc=callback.result_desc, now=now)
        return "apply"
    if payment.status != PaymentStatus.PENDING:
        return "duplicate"
    end(payment.id, status_for_result(callback.result_code), callback.result_desc,
        result_code=str(callback.result_code), phone=payment.phone, amount=payment.amount, now=now)
    return "recorded"


# -- from the customer's "Pay" to the STK push

def start(package: Package, phone: str, *, mac: str | None, ip: str | None, now: datetime,
          method: str = "stk", account: str | None = None, customer_id: int | None = None,
          verified: bool = False, lang: str | None = None) -> Payment:
    """Record a pending payment before the push is asked for, so that a crash in between
    leaves a record the reconciler expires, never a prompt nobody knows about.

    `method` "c2b" is a Paybill payment the customer makes by hand to `account`. With
    `customer_id` the payment buys for that account (the paying device's own: "buy more");
    without, it buys a new account for the device. `verified`: a router confirmed that
    `mac` is the device paying (it is then bound to the account and logged in)."""
    with write_transaction():
        return Payment.create(ref=secrets.token_urlsafe(12), package=package, phone=phone, amount=package.price,
                              status=PaymentStatus.PENDING, mac=mac, ip=ip, created_at=now, updated_at=now,
                              method=method, account=account, customer=customer_id, verified=verified,
                              lang=lang)


def push_refused(payment: Payment, error: UpstreamError, now: datetime) -> None:
    """Daraja refused the push: the payment fails with the reason the customer is shown."""
    with write_transaction():
        end(payment.id, PaymentStatus.FAILED, f"M-Pesa did not accept the request: {error}", result_code=None,
            phone=payment.phone, amount=payment.amount, now=now)


def pushed(payment: Payment, *, checkout_request_id: str, merchant_request_id: str, now: datetime) -> None:
    """Daraja accepted the push: the prompt is on the customer's phone."""
    with write_transaction():
        Payment.update(checkout_request_id=checkout_request_id, merchant_request_id=merchant_request_id,
                       updated_at=now).where(Payment.id == payment.id).execute()
        events.emit("payment.initiated", {"payment_id": payment.id, "package_id": payment.package_id,
                                          "amount": events.money(payment.amount), "phone": payment.phone}, now)


# -- no callback: the reconciler asks Daraja

def record_query(payment_id: int, daraja: StkPusher, *, pending_timeout: float, now: datetime) -> PaymentStatus:
    """Ask Daraja about a payment that had no callback; returns the resulting status.

    'Being processed' keeps it pending until `pending_timeout` has passed since the push,
    then it expires. A Daraja error is raised (the task retries) unless the payment is
    past its time, in which case it expires all the same.
    """
    payment = Payment.get_by_id(payment_id)
    if payment.status != PaymentStatus.PENDING:
        return PaymentStatus(payment.status)
    overdue = now - payment.created_at >= timedelta(seconds=pending_timeout)
    answer = None
    if payment.checkout_request_id is not None:
        try:
            answer = daraja.stk_query(payment.checkout_request_id, now=now)
        except UpstreamError:
            if not overdue:
                raise
    elif not overdue:
        return PaymentStatus.PENDING
    with write_transaction():
        payment = Payment.get_by_id(payment_id)
        if payment.status != PaymentStatus.PENDING:
            return PaymentStatus(payment.status)
        if payment.checkout_request_id is not None:
            Payment.update(queried_at=now, query_count=Payment.query_count + 1).where(
                Payment.id == payment_id).execute()
        if answer is None or answer.pending:
            if not overdue:
                return PaymentStatus.PENDING
            reason = ("M-Pesa never confirmed the request" if payment.checkout_request_id is None
                      else "no answer from the customer's phone in time")
            end(payment.id, PaymentStatus.EXPIRED, reason, result_code=None, phone=payment.phone,
                amount=payment.amount, now=now)
            return PaymentStatus.EXPIRED
        code = int(answer.result_code) if str(answer.result_code).lstrip("-").isdigit() else -1
        status = status_for_result(code)
        if status == PaymentStatus.RECEIVED:
            # The query does not say how much was paid; the push asked this much.
            mark_received(payment.id, receipt=None, amount_paid=Decimal(payment.amount),
                          result_desc=answer.result_desc, now=now)
        else:
            end(payment.id, status, answer.result_desc, result_code=str(answer.result_code), phone=payment.phone,
                amount=payment.amount, now=now)
        return status


# -- received becomes access

@dataclass(frozen=True)
class Applied:
    payment_id: int
    status: PaymentStatus
    subscription_id: int | None = None
    granted: grants.Granted | None = field(default=None, compare=False)  # what follows (newly paid only)


class _Package(NamedTuple):
    id: int
    name: str
    price: int
    duration_s: int
    data_limit: int | None


_TO_APPLY = ('SELECT p."status", p."amount_paid", p."amount", p."phone", p."mac", p."receipt", p."subscription_id", '
             'p."customer_id", p."ip", p."verified", p."notify_phone", p."lang", k."id", k."name", k."price", k."duration_s", k."data_limit" '
             'FROM "payment" p JOIN "package" k ON k."id" = p."package_id" WHERE p."id" = ?')
_FOR_SUBSCRIBER = 'SELECT "subscriber_id" FROM "payment" WHERE "id" = ?'
_PAID = ('UPDATE "payment" SET "customer_id" = ?, "subscription_id" = ?, "status" = \'paid\', "applied_at" = ?, '
         '"updated_at" = ? WHERE "id" = ? AND "status" = \'received\'')


def apply(payment_id: int, now: datetime) -> Applied:
    """Turn a received payment into access: customer, credentials, subscription, events.

    Running it again, or on a payment that is not `received`, changes nothing.
    """
    with write_transaction():
        return _apply(payment_id, now)


def apply_many(payment_ids: Sequence[int], now: datetime) -> tuple[list[Applied], list[tuple[int, Exception]]]:
    """Apply a batch, a few per transaction; each payment in its own savepoint, so one that
    fails (returned second, with its error) leaves the others applied."""
    applied: list[Applied] = []
    failed: list[tuple[int, Exception]] = []
    for start_at in range(0, len(payment_ids), APPLY_CHUNK):
        if start_at:
            time.sleep(LOCK_GAP)  # let a waiting writer (the portal's callbacks) have the lock
        with write_transaction():
            for payment_id in payment_ids[start_at:start_at + APPLY_CHUNK]:
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
    status, amount_paid, amount, phone, mac, receipt, subscription_id, buyer, ip, verified, notify, lang = row[:12]
    package = _Package(*row[12:])
    if status != PaymentStatus.RECEIVED:
        return Applied(payment_id, PaymentStatus(status), subscription_id)
    if db.execute_sql(_FOR_SUBSCRIBER, (payment_id,)).fetchone()[0] is not None:  # hotspotd.pppoe.billing's
        return Applied(payment_id, PaymentStatus(status), subscription_id)
    paid = Decimal(str(amount_paid if amount_paid is not None else amount))
    if paid < package.price:
        end(payment_id, PaymentStatus.FAILED, f"underpaid: paid {paid:f}, the package costs {package.price}",
            result_code=None, phone=phone, amount=amount, now=now)
        return Applied(payment_id, PaymentStatus.FAILED)
    # "Buy more" from a device with an account of its own extends that account; any other
    # purchase is an account of its own for the device that made it (a family's phones
    # paying from one M-Pesa number each get theirs), known by the paying phone number.
    customer_id = buyer or subscriptions.new_customer(phone or None, now)
    grant, granted = grants.grant(customer_id, package, now, device=grants.device_of_payment(mac, ip, bool(verified)),
                                  how=bindings.BoundBy.PAID, source={"payment_id": payment_id},
                                  phone=phone or notify, lang=lang)
    at = to_db_time(now)
    db.execute_sql(_PAID, (customer_id, grant.subscription_id, at, at, payment_id))
    events.emit("payment.processed", {"payment_id": payment_id, "amount": events.money(paid), "receipt": receipt,
                                      "phone": phone, "subscription_id": grant.subscription_id}, now)
    return Applied(payment_id, PaymentStatus.PAID, grant.subscription_id,
                   grants.Granted(granted.subscription_id, granted.mac, granted.ip, payment_id))


def find_by_ref(ref: str) -> Payment | None:
    """The payment the portal knows by its unguessable reference."""
    return Payment.get_or_none(Payment.ref == str(ref)[:64])


# -- paid becomes refunded

_REFUNDED = ('UPDATE "payment" SET "status" = \'refunded\', "refunded_at" = ?, "updated_at" = ? '
             'WHERE "id" = ? AND "status" = \'paid\'')


def refunded(payment_id: int, now: datetime) -> bool:
    """M-Pesa reversed the payment: it is `refunded` (the one way there; what it bought is
    ended by `billing.refunds`, which writes `payment.refunded`). In a write transaction.
    Returns False when the payment was not `paid` (refunded already)."""
    at = to_db_time(now)
    return db.execute_sql(_REFUNDED, (at, at, payment_id)).rowcount == 1
