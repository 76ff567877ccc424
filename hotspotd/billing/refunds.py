"""Refunds: an operator gives a customer's money back through M-Pesa's Reversal.

    request_refund()  from the payment's page: checked, recorded, audited      payment.refund_requested
    send()            the worker asks Daraja for the Reversal (retried; once accepted, never again)
    take_result()     Daraja's result, once:                                    payment.refunded
                        success: the payment is `refunded`, what it bought      or payment.refund_failed
                        ends now, the device's sessions are disconnected

A payment is refunded at most once: one refund per payment can be under way or done (a
unique index in the store, so two operators clicking at once get one refund and one 409);
only a refund that failed for certain (Daraja refused it, its result says so, its queue
timed out) lets another be asked. "Already reversed" (R000001) counts as refunded: the
money went back, whoever asked.

Only a payment with an M-Pesa receipt can be reversed (the Reversal names it). An STK
payment whose callback never came and that the STK query confirmed has none (the query
does not return it): it is refused with a message saying to reverse it from the M-Pesa
org portal and end the package by hand. How much of the package was used is shown to the
operator (`view`), whose judgement a partial use is.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import peewee

from .. import events, sessions
from ..console import audit
from ..console.audit import Actor
from ..errors import Conflict, InvalidInput, NotFound, UpstreamError
from ..mpesa.initiator import RequestAccepted
from ..mpesa.results import DarajaResult, reversal
from ..store.db import db, write_transaction
from ..store.models import InitiatorRequest, Package, Payment, Session, Subscription, iso, to_db_time
from . import initiator_requests as requests
from . import payments
from .initiator_requests import RequestKind, RequestStatus
from .payments import PaymentStatus
from .subscriptions import SubscriptionStatus

log = logging.getLogger(__name__)

MAX_SENDS = 4  # tries to hand the Reversal to Daraja before it fails for good
DISCONNECT_REASON = "payment refunded"
NO_RECEIPT = ("This payment has no M-Pesa receipt: the STK query confirmed it, and the query does not give the "
              "receipt, so M-Pesa cannot be asked to reverse it from here. Reverse it from the M-Pesa org portal "
              "(find it by the phone number and time), then end the package by hand.")
NOT_PAID = "Only a paid payment can be refunded"
UNDER_WAY = "A refund of this payment is under way or done already: a payment is refunded once"
REFUNDED = "This payment was refunded already"
NOT_SET_UP = ("Refunds need M-Pesa's API user: set [mpesa] initiator, initiator_password and certificate, "
              "then restart")


class Reverser(Protocol):
    def reversal(self, receipt: str, amount: Decimal | int | str, *, result_url: str, timeout_url: str,
                 remarks: str, occasion: str = "") -> RequestAccepted: ...


def _reason(text: object) -> str:
    reason = " ".join(str(text or "").split())
    if not 2 <= len(reason) <= 100:  # it goes to Daraja as the Reversal's Remarks (2 to 100 characters)
        raise InvalidInput("Give a reason for the refund (2 to 100 characters); it is kept in the audit log")
    return reason


def refusal(payment: Payment) -> str | None:
    """Why `payment` cannot be refunded now, or None when it can."""
    if payment.status == PaymentStatus.REFUNDED:
        return REFUNDED
    if payment.status != PaymentStatus.PAID:
        return NOT_PAID
    if not payment.receipt:
        return NO_RECEIPT
    return None


def request_refund(payment_id: int, reason: object, *, by: Actor, now: datetime) -> int:
    """Record a refund of the payment, to be sent by the worker; returns its request id.
    NotFound, InvalidInput (no reason), Conflict (not refundable, or refunded once already)."""
    reason = _reason(reason)
    with write_transaction():
        payment = Payment.get_or_none(Payment.id == payment_id)
        if payment is None:
            raise NotFound(f"no payment {payment_id}")
        refused = refusal(payment)
        if refused:
            raise Conflict(refused)
        amount = payment.amount_paid if payment.amount_paid is not None else Decimal(payment.amount)
        try:
            with db.atomic():
                request_id, _ = requests.create(RequestKind.REVERSAL, receipt=payment.receipt, now=now,
                                                payment_id=payment.id, amount=events.money(amount),
                                                phone=payment.phone, reason=reason, requested_by=by.username)
        except peewee.IntegrityError:  # the unique index: another refund is under way or done
            raise Conflict(UNDER_WAY) from None
        data = {"payment_id": payment.id, "amount": events.money(amount), "receipt": payment.receipt,
                "reason": reason, "by": by.username, "subscription_id": payment.subscription_id}
        events.emit("payment.refund_requested", data, now)
        audit.record(by, "payment.refund", f"payment {payment.id}", now, payment_id=payment.id,
                     reason=reason, amount=events.money(amount), receipt=payment.receipt)
    log.info("refund of payment %s (%s) requested by %s", payment_id, payment.receipt, by.username)
    return request_id


def send(request_id: int, reverser: Reverser, *, result_url: str, timeout_url: str, now: datetime) -> bool:
    """Hand a recorded refund to Daraja. True when Daraja accepted it (or it was handed
    already); raises UpstreamError for a failure worth another try (the task retries),
    and records a failure for good after `MAX_SENDS` tries or a refusal."""
    request = InitiatorRequest.get_or_none(InitiatorRequest.id == request_id)
    if request is None or request.kind != RequestKind.REVERSAL or request.status != RequestStatus.REQUESTED:
        return request is not None and request.status != RequestStatus.FAILED
    tries = requests.attempt(request_id, now)
    try:
        accepted = reverser.reversal(request.receipt, request.amount, result_url=result_url, timeout_url=timeout_url,
                                     remarks=request.reason or "Refund", occasion=f"refund {request.payment_id}")
    except UpstreamError as exc:
        if exc.retryable and tries < MAX_SENDS:
            requests.note_error(request_id, str(exc), now)
            raise
        _fail(request, f"M-Pesa did not take the reversal: {exc}", None, now)
        return False
    requests.mark_sent(request_id, accepted, now)
    return True


def fail_unsendable(request_id: int, error: str, now: datetime) -> None:
    """A refund that cannot be sent at all (no initiator configured): it fails, said so."""
    request = InitiatorRequest.get_or_none(InitiatorRequest.id == request_id)
    if request is not None:
        _fail(request, error, None, now)


def _fail(request: InitiatorRequest, error: str, result_code: str | None, now: datetime) -> None:
    with write_transaction():
        if requests.mark_failed(request.id, error, now, outcome="failed"):
            events.emit("payment.refund_failed", {"payment_id": request.payment_id, "reason": error[:300],
                                                  "result_code": result_code, "receipt": request.receipt}, now)
    log.warning("refund of payment %s failed: %s", request.payment_id, error)


def take_result(request: InitiatorRequest, result: DarajaResult, now: datetime, *, timed_out: bool = False) -> list[int]:
    """Act on the result of a refund, in the write transaction that recorded it; returns
    the subscriptions that ended (their router users go)."""
    answer = reversal(result)
    if timed_out or not (answer.succeeded or answer.already_reversed):
        why = ("M-Pesa's queue timed out before the reversal was made" if timed_out
               else f"M-Pesa refused the reversal ({result.result_code}: {result.result_desc})")
        requests.finish(request.id, status=RequestStatus.FAILED, outcome="failed", now=now, error=why)
        events.emit("payment.refund_failed", {"payment_id": request.payment_id, "reason": why[:300],
                                              "result_code": result.result_code, "receipt": request.receipt}, now)
        log.warning("refund of payment %s failed: %s", request.payment_id, why)
        return []
    requests.finish(request.id, status=RequestStatus.DONE, outcome="refunded", now=now)
    payment = Payment.get_by_id(request.payment_id)
    if not payments.refunded(payment.id, now):
        log.warning("refund result for payment %s, which is %s: recorded, nothing changed", payment.id, payment.status)
        return []
    ended, ends_at, disconnected = _end_package(payment, now)
    events.emit("payment.refunded", {"payment_id": payment.id, "amount": events.money(answer.amount or request.amount),
                                     "receipt": payment.receipt, "reversal_receipt": answer.reversal_receipt,
                                     "subscription_id": payment.subscription_id, "customer_id": payment.customer_id,
                                     "ends_at": ends_at, "disconnected": disconnected,
                                     "already_reversed": answer.already_reversed}, now)
    log.info("payment %s refunded (reversal %s); its package ends, %s session(s) disconnected", payment.id,
             answer.reversal_receipt, disconnected)
    return ended


def _end_package(payment: Payment, now: datetime) -> tuple[list[int], str | None, int]:
    """Take what the payment bought off its subscription: its whole period when it was the
    only purchase on it (the package ends now), else its duration and data. Sessions on a
    subscription that ended are disconnected. (ended subscription ids, ends_at, sessions)"""
    sub = Subscription.get_or_none(Subscription.id == payment.subscription_id) if payment.subscription_id else None
    if sub is None:
        return [], None, 0
    package = Package.get_by_id(payment.package_id)
    ends = max(sub.ends_at - timedelta(seconds=package.duration_s), now, sub.starts_at)
    data_limit = sub.data_limit
    if data_limit is not None and package.data_limit is not None:
        data_limit = max(0, data_limit - package.data_limit)
    ended = ends <= now or ends <= sub.starts_at
    at = to_db_time(now)
    if ended:
        ends = max(now, sub.starts_at) if sub.starts_at > now else now
        db.execute_sql('UPDATE "subscription" SET "ends_at" = ?, "status" = ?, "expired_at" = ?, "updated_at" = ? '
                       'WHERE "id" = ?', (to_db_time(ends), SubscriptionStatus.EXPIRED.value, at, at, sub.id))
        events.emit("subscription.expired", {"subscription_id": sub.id, "customer_id": sub.customer_id,
                                             "ends_at": iso(ends)}, now)
    else:  # other purchases stay on it: only this one's time and data go
        db.execute_sql('UPDATE "subscription" SET "ends_at" = ?, "data_limit" = ?, "updated_at" = ?, '
                       '"provisioned_at" = NULL WHERE "id" = ?', (to_db_time(ends), data_limit, at, sub.id))
    disconnected = 0
    if ended:
        for (session_id,) in db.execute_sql('SELECT "id" FROM "session" WHERE "subscription_id" = ? '
                                            'AND "status" = \'open\'', (sub.id,)).fetchall():
            disconnected += sessions.request_disconnect(session_id, DISCONNECT_REASON, now)
    return ([sub.id] if ended else []), iso(ends), disconnected


def view(payment: Payment, now: datetime) -> dict[str, Any]:
    """The refund part of a payment's page: its refund (if any), whether one can be asked
    (and why not), and how much of the package was used, for the operator's judgement."""
    latest = (InitiatorRequest.select().where((InitiatorRequest.kind == RequestKind.REVERSAL)
                                              & (InitiatorRequest.payment_id == payment.id))
              .order_by(InitiatorRequest.id.desc()).first())
    refused = refusal(payment)
    if refused is None and latest is not None and latest.status != RequestStatus.FAILED:
        refused = UNDER_WAY
    return {"refund": None if latest is None else requests.public(latest), "refundable": refused is None,
            "refund_refused": refused, "usage": usage(payment, now)}


def usage(payment: Payment, now: datetime) -> dict[str, Any] | None:
    """Time and data used on what the payment bought, so far."""
    sub = Subscription.get_or_none(Subscription.id == payment.subscription_id) if payment.subscription_id else None
    if sub is None:
        return None
    since = max(sub.starts_at, payment.applied_at or sub.starts_at)
    until = min(now, sub.ends_at)
    count, seconds, in_bytes, out_bytes = db.execute_sql(
        'SELECT COUNT(*), COALESCE(SUM("session_time"), 0), COALESCE(SUM("input_bytes"), 0), '
        'COALESCE(SUM("output_bytes"), 0) FROM "session" WHERE "subscription_id" = ?', (sub.id,)).fetchone()
    return {"subscription_id": sub.id, "since": iso(since), "ends_at": iso(sub.ends_at),
            "seconds_since": max(0, int((until - since).total_seconds())), "sessions": count,
            "online_seconds": seconds, "bytes_used": sub.bytes_used, "session_bytes": in_bytes + out_bytes,
            "data_limit": sub.data_limit, "open_sessions": Session.select().where(
                (Session.subscription == sub.id) & (Session.status == "open")).count()}
