"""Recording Daraja STK callbacks: durably, once, before they are answered.

This is the hottest write path (a burst of callbacks after a power cut or an M-Pesa
backlog), so it is written in plain SQL and takes callbacks in batches: one
transaction and one fsync for everything that arrived together (see
`hotspotd.store.batching`). Every body is kept in `mpesa_callback` whatever it holds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from .. import events
from ..mpesa.callback import StkCallback, parse_stk_callback, status_for_result
from ..store.db import db, write_transaction
from ..store.models import to_db_time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingCallback:
    body: bytes
    remote_addr: str | None
    received_at: datetime


@dataclass(frozen=True)
class CallbackOutcome:
    outcome: str  # recorded | duplicate | orphan | malformed
    payment_id: int | None = None
    apply: bool = False  # the payment is now `received`: enqueue apply(payment_id)
    error: str | None = None


_FIND = 'SELECT "id", "status", "receipt", "phone", "amount" FROM "payment" WHERE "checkout_request_id" = ?'
_RECEIPT_TAKEN = 'SELECT 1 FROM "payment" WHERE "receipt" = ?'
_SET_RECEIPT = 'UPDATE "payment" SET "receipt" = ? WHERE "id" = ?'
_RECEIVED = ('UPDATE "payment" SET "receipt" = ?, "amount_paid" = ?, "result_code" = \'0\', "result_desc" = ?, '
             '"status" = \'received\', "reason" = NULL, "resolved_at" = ?, "updated_at" = ? WHERE "id" = ?')
_FAILED = ('UPDATE "payment" SET "status" = ?, "reason" = ?, "result_code" = COALESCE(?, "result_code"), '
           '"resolved_at" = ?, "updated_at" = ? WHERE "id" = ?')
_KEEP = ('INSERT INTO "mpesa_callback" ("received_at", "body", "checkout_request_id", "outcome", "error", '
         '"remote_addr") VALUES (?, ?, ?, ?, ?, ?)')
_ADOPT = 'UPDATE "mpesa_callback" SET "outcome" = \'recorded\' WHERE "id" = ?'


def record_callbacks(batch: Sequence[IncomingCallback]) -> list[CallbackOutcome]:
    """Record a batch of callbacks in one transaction; one outcome per callback.

    Never raises for bad input: a body that cannot be parsed is `malformed` (kept for
    inspection), an unknown CheckoutRequestID is an `orphan` (kept for the operator), a
    result that was known already is a `duplicate` (a replay changes nothing).
    """
    parsed: list[StkCallback | Exception] = []
    for incoming in batch:
        try:
            parsed.append(parse_stk_callback(incoming.body))
        except Exception as exc:  # MalformedCallback, or whatever a hostile body provokes
            parsed.append(exc)
    outcomes = []
    with write_transaction():
        for incoming, callback in zip(batch, parsed, strict=True):
            text = incoming.body.decode("utf-8", errors="replace")
            at = to_db_time(incoming.received_at)
            if isinstance(callback, Exception):
                db.execute_sql(_KEEP, (at, text, None, "malformed", str(callback)[:300], incoming.remote_addr))
                log.warning("malformed M-Pesa callback from %s: %s", incoming.remote_addr, callback)
                outcomes.append(CallbackOutcome("malformed", error=str(callback)))
                continue
            row = db.execute_sql(_FIND, (callback.checkout_request_id,)).fetchone()
            result = "orphan" if row is None else apply_result(row, callback, incoming.received_at)
            kept = "recorded" if result == "apply" else result
            db.execute_sql(_KEEP, (at, text, callback.checkout_request_id, kept, None, incoming.remote_addr))
            if result == "orphan":
                log.warning("M-Pesa callback for unknown CheckoutRequestID %s kept as orphan",
                            callback.checkout_request_id)
                outcomes.append(CallbackOutcome("orphan"))
            else:
                outcomes.append(CallbackOutcome(kept, row[0], apply=result == "apply"))
    return outcomes


def record_callback(body: bytes, *, remote_addr: str | None, now: datetime) -> CallbackOutcome:
    return record_callbacks([IncomingCallback(body, remote_addr, now)])[0]


def apply_result(row: tuple, callback: StkCallback, now: datetime) -> str:
    """Move a payment on by a callback's result; returns apply | recorded | duplicate.

    `row` is (id, status, receipt, phone, amount). Inside a write transaction.
    """
    payment_id, status, receipt, phone, amount = row
    at = to_db_time(now)
    if callback.succeeded:
        if status in ("received", "paid"):
            if receipt is None and not _receipt_taken(callback.receipt):  # resolved by query first
                db.execute_sql(_SET_RECEIPT, (callback.receipt, payment_id))
            return "duplicate"
        # A late success after we gave up (expired, or cancelled by a query) still means
        # money was taken: honour it rather than keep the customer's shillings.
        if _receipt_taken(callback.receipt):
            return "duplicate"
        db.execute_sql(_RECEIVED, (callback.receipt, str(callback.amount), callback.result_desc, at, at, payment_id))
        return "apply"
    if status != "pending":
        return "duplicate"
    record_failure(payment_id, status_for_result(callback.result_code), callback.result_desc,
                   result_code=str(callback.result_code), phone=phone, amount=amount, now=now)
    return "recorded"


def record_failure(payment_id: int, status: str, reason: str | None, *, result_code: str | None,
                   phone: str, amount: int, now: datetime) -> None:
    """A payment ends without access (failed, cancelled, expired, underpaid), with its
    `payment.failed` event. Every path that ends a payment so comes here. In a write
    transaction."""
    at = to_db_time(now)
    db.execute_sql(_FAILED, (status, reason, result_code, at, at, payment_id))
    events.emit("payment.failed", {"payment_id": payment_id, "status": status, "reason": reason,
                                   "phone": phone, "amount": amount}, now)


def adopt_orphans(payment_id: int, checkout_request_id: str, now: datetime) -> bool:
    """A callback that raced ahead of our own record of the push is applied now.

    Returns True if the payment became `received`."""
    received = False
    with write_transaction():
        orphans = db.execute_sql('SELECT "id", "body" FROM "mpesa_callback" WHERE "checkout_request_id" = ? '
                                 'AND "outcome" = \'orphan\' ORDER BY "id"', (checkout_request_id,)).fetchall()
        for orphan_id, body in orphans:
            row = db.execute_sql(_FIND, (checkout_request_id,)).fetchone()
            received |= apply_result(row, parse_stk_callback(body.encode()), now) == "apply"
            db.execute_sql(_ADOPT, (orphan_id,))
    return received


def _receipt_taken(receipt: str | None) -> bool:
    return receipt is not None and db.execute_sql(_RECEIPT_TAKEN, (receipt,)).fetchone() is not None
