"""Recording Daraja STK callbacks: durably, once, before they are answered.

This is the hottest write path (a burst of callbacks after a power cut or an M-Pesa
backlog), so it takes callbacks in batches: one transaction and one fsync for everything
that arrived together (`hotspotd.customer.checkout` runs it through `hotspotd.store.batching`).
Every body that records a result or money is kept whole in `mpesa_callback`, and the
result goes to the payment state machine (`payments.take_result`); of bodies that carry
nothing to act on (malformed, replayed, a failure for no payment of ours) a bounded sample
is kept and the rest counted (`hotspotd.store.sampling`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Sequence, TypeVar

from ..console import audit
from ..errors import Conflict, MalformedCallback, NotFound
from ..mpesa.callback import StkCallback, parse_stk_callback
from ..store import sampling
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
    source: str = "confirmation"  # Paybill: "pull" when Pull Transactions found it (no confirmation came)


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
         '"remote_addr", "sampled", "truncated") VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
_ORPHANS = ('SELECT "id", "body" FROM "mpesa_callback" WHERE "checkout_request_id" = ? AND "outcome" = \'orphan\' '
            'AND "truncated" = 0 ORDER BY "id"')
_ADOPT = 'UPDATE "mpesa_callback" SET "outcome" = \'recorded\' WHERE "id" = ?'
_KEPT_ALREADY = ('SELECT 1 FROM "mpesa_callback" WHERE "checkout_request_id" = ? AND "outcome" = \'orphan\' '
                 'AND "body" = ? LIMIT 1')


def record_callbacks(batch: Sequence[Incoming]) -> list[Recorded]:
    """Record a batch of callbacks in one transaction; one outcome per callback.

    Never raises for bad input: a body that cannot be parsed is `malformed`, an unknown
    CheckoutRequestID is an `orphan`, a result that was known already is a `duplicate` (a
    replay changes nothing). Every body that records a result, or money for no payment
    we know (an orphan that succeeded), is kept whole; of the rest a sample is kept
    (`sample()`), so a flood of them cannot fill the disk.
    """
    return record_batch(batch, parse_stk_callback, _record)


def sample(kind: str, incoming: Incoming) -> tuple[str, bool] | None:
    """Count a body that records no money; (its text, clipped; whether it was cut) when it
    is one of the hour's sample to keep, None when it is only counted. In the transaction."""
    admission = sampling.admit(kind, incoming.received_at, size=len(incoming.body), source=incoming.remote_addr)
    return sampling.clip(incoming.body) if admission.keep else None


def _record(incoming: Incoming, callback: StkCallback | Exception) -> Recorded:
    at = to_db_time(incoming.received_at)

    def keep(kind: str | None, checkout_request_id: str | None, outcome: str, error: str | None = None) -> bool:
        """Whole (kind None), or as a sample of `kind`; False when only counted."""
        kept = ((incoming.body.decode("utf-8", errors="replace"), False) if kind is None
                else sample(kind, incoming))
        if kept is not None:
            db.execute_sql(_KEEP, (at, kept[0], checkout_request_id, outcome, error, incoming.remote_addr,
                                   int(kind is not None), int(kept[1])))
        return kept is not None

    if isinstance(callback, Exception):
        if keep(sampling.STK_MALFORMED, None, "malformed", str(callback)[:300]):
            log.warning("malformed M-Pesa callback from %s: %s", incoming.remote_addr, callback)
        return Recorded("malformed", error=str(callback))
    checkout = callback.checkout_request_id
    payment = payments.find_by_checkout(checkout)
    if payment is None:
        text = incoming.body.decode("utf-8", errors="replace")
        if db.execute_sql(_KEPT_ALREADY, (checkout, text)).fetchone():  # a replay of one kept whole
            keep(sampling.STK_DUPLICATE, checkout, "duplicate")
            return Recorded("duplicate")
        if callback.succeeded:  # money M-Pesa took for no payment we know: for the operator
            keep(None, checkout, "orphan")
            log.warning("M-Pesa callback for unknown CheckoutRequestID %s kept as orphan", checkout)
        elif keep(sampling.STK_ORPHAN, checkout, "orphan"):  # a failure: our push may still record it
            log.info("failed M-Pesa callback for unknown CheckoutRequestID %s kept as orphan", checkout)
        return Recorded("orphan")
    result = payments.take_result(payment, callback, incoming.received_at)
    if result == "duplicate":  # the payment has what it said already
        keep(sampling.STK_DUPLICATE, checkout, "duplicate")
        return Recorded("duplicate", payment.id)
    kept = "recorded" if result == "apply" else result
    keep(None, checkout, kept)
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
            try:
                callback = parse_stk_callback(body.encode())
            except MalformedCallback:  # kept with characters replaced: the reconciler's query tells
                continue
            payment = payments.find_by_checkout(checkout_request_id)
            received |= payments.take_result(payment, callback, now) == "apply"
            db.execute_sql(_ADOPT, (orphan_id,))
    return received


def assign_orphan(callback_id: int, payment_id: int, now: datetime, *, by: audit.Actor) -> bool:
    """The operator says an orphan callback (money M-Pesa reported for no payment we know)
    belongs to `payment_id`: its result is taken by that payment, audited. Returns True if
    the payment became `received` (apply it after this returns)."""
    with write_transaction():
        row = db.execute_sql('SELECT "body", "outcome", "truncated" FROM "mpesa_callback" WHERE "id" = ?',
                             (callback_id,)).fetchone()
        if row is None:
            raise NotFound(f"no callback {callback_id}")
        if row[1] != "orphan":
            raise Conflict("this callback is not unmatched: it was applied already")
        try:
            callback = parse_stk_callback(row[0].encode()) if not row[2] else None
        except MalformedCallback:
            callback = None
        if callback is None:
            raise Conflict("this callback cannot be read as it was kept: it reports no payment")
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
