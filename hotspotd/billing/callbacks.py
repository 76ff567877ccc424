"""Recording Daraja STK callbacks: durably, once, before they are answered.

This is the hottest write path (a burst of callbacks after a power cut or an M-Pesa
backlog), so it takes callbacks in batches: one transaction and one fsync for everything
that arrived together (`hotspotd.customer.checkout` runs it through `hotspotd.store.batching`).
Every body is kept in `mpesa_callback` whatever it holds; the result it carries goes to
the payment state machine (`payments.take_result`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Sequence, TypeVar

from ..console import audit
from ..errors import Conflict, NotFound
from ..mpesa.callback import StkCallback, parse_stk_callback
from ..store.db import db, write_transaction
from ..store.models import to_db_time
from . import payments

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Incoming:
    """A body Daraja POSTed (an STK callback, a Paybill confirmation), as it arrived."""

    body: bytes
    remote_addr: str | None
    received_at: datetime


@dataclass(frozen=True)
class Recorded:
    outcome: str  # STK: recorded | duplicate | orphan | malformed; Paybill: matched | unmatched | duplicate | malformed
    payment_id: int | None = None
    apply: bool = False  # the payment is now `received`: apply it after the commit
    error: str | None = None


Parsed = TypeVar("Parsed")


def record_batch(batch: Sequence[Incoming], parse: Callable[[bytes], Parsed],
                 record: Callable[[Incoming, Parsed | Exception], Recorded]) -> list[Recorded]:
    """Parse every body first (what cannot be read is passed on as its exception), then
    record them all in one transaction: one outcome each."""
    parsed: list[Parsed | Exception] = []
    for incoming in batch:
        try:
            parsed.append(parse(incoming.body))
        except Exception as exc:  # MalformedCallback, or whatever a hostile body provokes
            parsed.append(exc)
    with write_transaction():
        return [record(incoming, each) for incoming, each in zip(batch, parsed, strict=True)]


_KEEP = ('INSERT INTO "mpesa_callback" ("received_at", "body", "checkout_request_id", "outcome", "error", '
         '"remote_addr") VALUES (?, ?, ?, ?, ?, ?)')
_ORPHANS = ('SELECT "id", "body" FROM "mpesa_callback" WHERE "checkout_request_id" = ? AND "outcome" = \'orphan\' '
            'ORDER BY "id"')
_ADOPT = 'UPDATE "mpesa_callback" SET "outcome" = \'recorded\' WHERE "id" = ?'


def record_callbacks(batch: Sequence[Incoming]) -> list[Recorded]:
    """Record a batch of callbacks in one transaction; one outcome per callback.

    Never raises for bad input: a body that cannot be parsed is `malformed` (kept for
    inspection), an unknown CheckoutRequestID is an `orphan` (kept for the operator), a
    result that was known already is a `duplicate` (a replay changes nothing).
    """
    return record_batch(batch, parse_stk_callback, _record)


def _record(incoming: Incoming, callback: StkCallback | Exception) -> Recorded:
    text = incoming.body.decode("utf-8", errors="replace")
    at = to_db_time(incoming.received_at)
    if isinstance(callback, Exception):
        db.execute_sql(_KEEP, (at, text, None, "malformed", str(callback)[:300], incoming.remote_addr))
        log.warning("malformed M-Pesa callback from %s: %s", incoming.remote_addr, callback)
        return Recorded("malformed", error=str(callback))
    payment = payments.find_by_checkout(callback.checkout_request_id)
    if payment is None:
        db.execute_sql(_KEEP, (at, text, callback.checkout_request_id, "orphan", None, incoming.remote_addr))
        log.warning("M-Pesa callback for unknown CheckoutRequestID %s kept as orphan", callback.checkout_request_id)
        return Recorded("orphan")
    result = payments.take_result(payment, callback, incoming.received_at)
    kept = "recorded" if result == "apply" else result
    db.execute_sql(_KEEP, (at, text, callback.checkout_request_id, kept, None, incoming.remote_addr))
    return Recorded(kept, payment.id, apply=result == "apply")


def record_callback(body: bytes, *, remote_addr: str | None, now: datetime) -> Recorded:
    """One callback in a batch of its own (tests, and the command line)."""
    return record_callbacks([Incoming(body, remote_addr, now)])[0]


def adopt_orphans(checkout_request_id: str, now: datetime) -> bool:
    """A callback that raced ahead of our own record of the push is taken now.

    Returns True if the payment became `received` (apply it after this returns)."""
    received = False
    with write_transaction():
        for orphan_id, body in db.execute_sql(_ORPHANS, (checkout_request_id,)).fetchall():
            payment = payments.find_by_checkout(checkout_request_id)
            received |= payments.take_result(payment, parse_stk_callback(body.encode()), now) == "apply"
            db.execute_sql(_ADOPT, (orphan_id,))
    return received


def assign_orphan(callback_id: int, payment_id: int, now: datetime, *, by: audit.Actor) -> bool:
    """The operator says an orphan callback (money M-Pesa reported for no payment we know)
    belongs to `payment_id`: its result is taken by that payment, audited. Returns True if
    the payment became `received` (apply it after this returns)."""
    with write_transaction():
        row = db.execute_sql('SELECT "body", "outcome" FROM "mpesa_callback" WHERE "id" = ?', (callback_id,)).fetchone()
        if row is None:
            raise NotFound(f"no callback {callback_id}")
        if row[1] != "orphan":
            raise Conflict("this callback is not unmatched: it was applied already")
        callback = parse_stk_callback(row[0].encode())
        if not callback.succeeded:
            raise Conflict(f"this callback reports no payment ({callback.result_desc})")
        payment = db.execute_sql('SELECT "id", "status", "receipt", "phone", "amount", "checkout_request_id" '
                                 'FROM "payment" WHERE "id" = ?', (payment_id,)).fetchone()
        if payment is None:
            raise NotFound(f"no payment {payment_id}")
        if payment[1] in (payments.PaymentStatus.RECEIVED, payments.PaymentStatus.PAID):
            raise Conflict("this payment is paid already")
        result = payments.take_result(payments.PaymentRow(*payment[:5]), callback, now)
        if result == "duplicate":
            raise Conflict("this M-Pesa receipt was applied to another payment already")
        if payment[5] is None:
            db.execute_sql('UPDATE "payment" SET "checkout_request_id" = ? WHERE "id" = ?',
                           (callback.checkout_request_id, payment_id))
        db.execute_sql(_ADOPT, (callback_id,))
        audit.record(by, "callback.assign", f"callback {callback_id}", now, payment_id=payment_id,
                     receipt=callback.receipt, amount=None if callback.amount is None else float(callback.amount))
    return result == "apply"
