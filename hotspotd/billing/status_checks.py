"""What a Transaction Status result proves, and the payment it becomes.

"Already paid?" with an M-Pesa code hotspotd never heard of (its callback or confirmation
was lost, or it was paid to the Paybill with a mistyped account number) asks Daraja's
Transaction Status (`hotspotd.customer.receipt_check`). When the result arrives
(`hotspotd.billing.daraja_results`), `take_result` decides, in the transaction that
records it:

- found: the query succeeded, the transaction is Completed, it ran between the phone
  number the customer typed and one of this site's short codes (`TransactionStatus.between`),
  and its amount covers the package the customer picked, or else at least the cheapest
  active package. It is recorded as a payment (method `status`, the code as its receipt,
  unique: never twice), `received`, and applied after the commit like any payment; it buys
  the package picked, or the dearest active package the amount covers. Paybill money kept
  as unmatched under that receipt is marked as matched to it.
- not found: anything else. Another short code, another phone, too little money, a
  receipt M-Pesa does not know: one answer, so the page cannot be used to learn which.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Iterable

from ..mpesa.results import DarajaResult, transaction_status
from ..store.db import db
from ..store.models import InitiatorRequest, Package, Payment, to_db_time
from . import payments
from .initiator_requests import RequestStatus, finish
from .payments import PaymentStatus

log = logging.getLogger(__name__)

METHOD = "status"  # a payment found by Transaction Status
CHECKING, FOUND, NOT_FOUND = "checking", "found", "not_found"


@dataclass(frozen=True)
class Outcome:
    """What the portal may say about a check: `checking`, `found` (with the payment's
    reference and id), or `not_found`."""

    status: str
    payment_ref: str | None = None
    payment_id: int | None = None


def choose_package(amount: Decimal, package_id: int | None) -> Package | None:
    """The package `amount` buys: the one picked when it covers its price; without one
    picked, the dearest active package it covers (None: not even the cheapest)."""
    if package_id is not None:
        package = Package.get_or_none((Package.id == package_id) & (Package.active == True))  # noqa: E712
        return package if package is not None and amount >= package.price else None
    return (Package.select().where((Package.active == True) & (Package.price <= amount))  # noqa: E712
            .order_by(Package.price.desc(), Package.id).first())


def take_result(request: InitiatorRequest, result: DarajaResult, short_codes: Iterable[str],
                now: datetime) -> list[int]:
    """Act on the result of a status check: returns the payments to apply after the
    commit. In the write transaction that recorded the result."""
    status = transaction_status(result)
    receipt = status.receipt
    reason = None
    package = None
    if not status.completed:
        reason = f"M-Pesa says {status.status or 'nothing'} ({result.result_code}: {result.result_desc})"
    elif receipt != request.receipt:
        reason = f"the result names another receipt ({receipt})"
    elif not any(status.between(request.phone or "", code) for code in short_codes if code):
        reason = "paid from another phone, or to another short code"
    elif status.amount is None or (package := choose_package(status.amount, request.package_id)) is None:
        reason = f"too little money ({status.amount})"
    if reason is not None:
        return _not_found(request, reason, now)
    existing = Payment.get_or_none(Payment.receipt == receipt)
    if existing is not None:  # another check (or a late callback) recorded it first
        if existing.phone != request.phone or existing.status not in (PaymentStatus.RECEIVED, PaymentStatus.PAID):
            return _not_found(request, "the receipt belongs to another payment", now)
        finish(request.id, status=RequestStatus.DONE, outcome=FOUND, now=now, found_payment_id=existing.id)
        return [existing.id] if existing.status == PaymentStatus.RECEIVED else []
    payment_id = _record_payment(request, package, receipt, status.amount, result.result_desc, now)
    finish(request.id, status=RequestStatus.DONE, outcome=FOUND, now=now, found_payment_id=payment_id)
    log.info("Transaction Status found %s (KES %s) for the check %s: payment %s", receipt, status.amount,
             request.id, payment_id)
    return [payment_id]


def time_out(request: InitiatorRequest, now: datetime) -> None:
    """Daraja's queue timed out before the check was made: not found (the customer may ask
    again). In the write transaction that recorded it."""
    _not_found(request, "M-Pesa's queue timed out before the check was made", now)


def _not_found(request: InitiatorRequest, reason: str, now: datetime) -> list[int]:
    log.info("Transaction Status check %s of %s: not found (%s)", request.id, request.receipt, reason)
    finish(request.id, status=RequestStatus.DONE, outcome=NOT_FOUND, now=now, error=reason)
    return []


_PAYMENT = ('INSERT INTO "payment" ("ref", "package_id", "phone", "amount", "amount_paid", "status", "result_code", '
            '"result_desc", "receipt", "mac", "ip", "created_at", "updated_at", "resolved_at", "query_count", '
            '"method", "lang", "verified") VALUES (?, ?, ?, ?, ?, \'received\', \'0\', ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)')


def _record_payment(request: InitiatorRequest, package: Package, receipt: str, amount: Decimal, desc: str,
                    now: datetime) -> int:
    """The payment a status check proved, `received` (applied after the commit). The check
    keeps a MAC only when a router confirmed the device that asked (`Restore.restore_or_check`)."""
    at = to_db_time(now)
    payment_id = db.execute_sql(_PAYMENT, (secrets.token_urlsafe(12), package.id, request.phone, package.price,
                                           str(amount), f"Found by Transaction Status: {desc}"[:300], receipt,
                                           request.mac, request.ip, at, at, at, METHOD, request.lang,
                                           int(bool(request.mac)))).lastrowid  # a MAC only from a confirmed device
    # Paybill money kept as unmatched under this receipt (a mistyped account number) is this payment.
    db.execute_sql('UPDATE "c2b_transaction" SET "outcome" = \'matched\', "payment_id" = ? '
                   'WHERE "trans_id" = ? AND "outcome" = \'unmatched\'', (payment_id, receipt))
    return payment_id


def outcome(ref: str) -> tuple[InitiatorRequest, Outcome] | None:
    """The check with reference `ref` and what it came to (None: no such check)."""
    request = InitiatorRequest.get_or_none((InitiatorRequest.ref == str(ref)[:64])
                                           & (InitiatorRequest.kind == "status"))
    if request is None:
        return None
    if request.status in (RequestStatus.REQUESTED, RequestStatus.SENT):
        return request, Outcome(CHECKING)
    if request.outcome == FOUND and request.found_payment_id is not None:
        payment = Payment.get_by_id(request.found_payment_id)
        if payment.status in (PaymentStatus.RECEIVED, PaymentStatus.PAID):
            return request, Outcome(FOUND, payment.ref, payment.id)
    return request, Outcome(NOT_FOUND)


def apply_found(payment_id: int, now: datetime) -> Payment:
    """The found payment, applied now if the worker has not yet (idempotent)."""
    payment = Payment.get_by_id(payment_id)
    if payment.status == PaymentStatus.RECEIVED:
        payments.apply(payment_id, now)
        payment = Payment.get_by_id(payment_id)
    return payment
