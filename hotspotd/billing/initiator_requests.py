"""Requests hotspotd makes of Daraja as its API user (the initiator): Transaction Status
queries ("already paid?" with a receipt hotspotd never saw) and Reversals (refunds).

Both are asynchronous (docs/protocols.md, "Transaction Status", "Reversal"): Daraja
acknowledges a request with two conversation ids, and POSTs the result later to the
ResultURL. Each request is one `initiator_request` row, written before Daraja is asked
(`requested`), then `sent` with the ids Daraja gave, then `done` or `failed` when its
result is recorded (`hotspotd.billing.daraja_results`), once: nothing is acted on twice.

    create()      a request, before Daraja is asked                   (in a write transaction)
    mark_sent()   Daraja accepted it: the ids its result will carry
    mark_failed() it ended without a result worth acting on
    for_result()  the request a result answers
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..mpesa.initiator import RequestAccepted
from ..mpesa.results import DarajaResult
from ..store.db import db, write_transaction
from ..store.models import InitiatorRequest, iso, to_db_time


class RequestKind(StrEnum):
    STATUS = "status"  # TransactionStatusQuery
    REVERSAL = "reversal"  # TransactionReversal (a refund)


class RequestStatus(StrEnum):
    REQUESTED = "requested"  # recorded; Daraja not yet asked, or its acceptance not yet recorded
    SENT = "sent"  # Daraja accepted it; its result will come to the ResultURL
    DONE = "done"  # its result was recorded and acted on
    FAILED = "failed"  # Daraja refused it, or its result says it failed


OPEN = (RequestStatus.REQUESTED, RequestStatus.SENT)

_FIELDS = ("receipt", "payment_id", "package_id", "phone", "amount", "mac", "ip", "lang", "reason", "requested_by")


def create(kind: RequestKind, *, receipt: str, now: datetime, **fields: Any) -> tuple[int, str]:
    """Record a request before Daraja is asked; returns (id, ref). In a write transaction.
    Raises peewee.IntegrityError when it breaks a rule of the table (a second live refund)."""
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise TypeError(f"unknown request fields {sorted(unknown)}")
    ref = secrets.token_urlsafe(12)
    at = to_db_time(now)
    values = {"receipt": receipt, **fields}
    if values.get("amount") is not None:
        values["amount"] = str(values["amount"])  # shillings as text, as Daraja writes them ("10", "10.50")
    names = ", ".join(f'"{name}"' for name in values)
    cursor = db.execute_sql(
        f'INSERT INTO "initiator_request" ("ref", "kind", "status", "created_at", "updated_at", {names}) '
        f'VALUES (?, ?, ?, ?, ?{", ?" * len(values)})',
        (ref, kind.value, RequestStatus.REQUESTED.value, at, at, *values.values()))
    return cursor.lastrowid, ref


def attempt(request_id: int, now: datetime) -> int:
    """Count one more try at sending; returns the tries so far (its own transaction)."""
    with write_transaction():
        db.execute_sql('UPDATE "initiator_request" SET "attempts" = "attempts" + 1, "updated_at" = ? WHERE "id" = ?',
                       (to_db_time(now), request_id))
        return db.execute_sql('SELECT "attempts" FROM "initiator_request" WHERE "id" = ?', (request_id,)).fetchone()[0]


def mark_sent(request_id: int, accepted: RequestAccepted, now: datetime) -> None:
    """Daraja accepted the request. A result may already have been recorded (it can race
    ahead of this), so only a request still `requested` becomes `sent`; the ids are kept
    either way."""
    at = to_db_time(now)
    with write_transaction():
        db.execute_sql(
            'UPDATE "initiator_request" SET "conversation_id" = ?, "originator_conversation_id" = ?, "sent_at" = ?, '
            '"updated_at" = ?, "error" = NULL, "status" = CASE WHEN "status" = \'requested\' THEN \'sent\' '
            'ELSE "status" END WHERE "id" = ?',
            (accepted.conversation_id or None, accepted.originator_conversation_id or None, at, at, request_id))


def note_error(request_id: int, error: str, now: datetime) -> None:
    """A try that failed and will be made again."""
    with write_transaction():
        db.execute_sql('UPDATE "initiator_request" SET "error" = ?, "updated_at" = ? WHERE "id" = ?',
                       (error[:500], to_db_time(now), request_id))


def mark_failed(request_id: int, error: str, now: datetime, *, outcome: str) -> bool:
    """The request ended without success (`outcome` says how). In a write transaction.
    False when it had ended already."""
    return db.execute_sql(
        'UPDATE "initiator_request" SET "status" = \'failed\', "outcome" = ?, "error" = ?, "updated_at" = ? '
        'WHERE "id" = ? AND "status" IN (\'requested\', \'sent\')',
        (outcome, error[:500], to_db_time(now), request_id)).rowcount == 1


def finish(request_id: int, *, status: RequestStatus, outcome: str, now: datetime, error: str | None = None,
           found_payment_id: int | None = None) -> None:
    """Record what a request's result came to. In the write transaction that acted on it."""
    db.execute_sql('UPDATE "initiator_request" SET "status" = ?, "outcome" = ?, "error" = ?, "found_payment_id" = ?, '
                   '"updated_at" = ? WHERE "id" = ?',
                   (status.value, outcome, error[:500] if error else None, found_payment_id, to_db_time(now),
                    request_id))


_BY_CONVERSATION = ('SELECT "id" FROM "initiator_request" WHERE "conversation_id" = ? '
                    'OR "originator_conversation_id" = ? ORDER BY "id" LIMIT 1')
# A result that raced ahead of our record of Daraja's acceptance (or a crash between the
# two): the open request of that kind for the receipt the result names.
_BY_RECEIPT = ('SELECT "id" FROM "initiator_request" WHERE "kind" = ? AND "receipt" = ? AND "conversation_id" IS NULL '
               'AND "status" IN (\'requested\', \'sent\') ORDER BY "id" DESC LIMIT 1')


def for_result(result: DarajaResult, receipts: dict[str, str | None]) -> InitiatorRequest | None:
    """The request `result` answers: by its conversation ids, else (a request whose ids were
    not recorded yet) by kind and the receipt the result names (`receipts`: kind -> receipt)."""
    for conversation in (result.conversation_id, result.originator_conversation_id):
        if conversation:
            row = db.execute_sql(_BY_CONVERSATION, (conversation, conversation)).fetchone()
            if row:
                return InitiatorRequest.get_by_id(row[0])
    for kind, receipt in receipts.items():
        if receipt:
            row = db.execute_sql(_BY_RECEIPT, (kind, receipt)).fetchone()
            if row:
                return InitiatorRequest.get_by_id(row[0])
    return None


def take(request_id: int, result: DarajaResult, body: str, now: datetime) -> bool:
    """Keep a result on its request, once: False when the request had one already (a
    replay, or Daraja's result after a queue time-out). In a write transaction."""
    at = to_db_time(now)
    return db.execute_sql(
        'UPDATE "initiator_request" SET "result_at" = ?, "result_code" = ?, "result_desc" = ?, "result_body" = ?, '
        '"conversation_id" = COALESCE("conversation_id", ?), "updated_at" = ? WHERE "id" = ? AND "result_at" IS NULL',
        (at, result.result_code, result.result_desc[:500], body, result.conversation_id or None, at,
         request_id)).rowcount == 1


def due_to_send(kind: RequestKind, older_than: datetime, limit: int = 50) -> list[int]:
    """Requests of `kind` recorded but never accepted by Daraja, last touched before
    `older_than` (their task was lost): for the reconciler."""
    rows = db.execute_sql('SELECT "id" FROM "initiator_request" WHERE "kind" = ? AND "status" = \'requested\' '
                          'AND "updated_at" < ? ORDER BY "id" LIMIT ?', (kind.value, to_db_time(older_than), limit))
    return [row[0] for row in rows.fetchall()]


def public(row: InitiatorRequest) -> dict[str, Any]:
    """A request as the console shows it."""

    def t(value: datetime | None) -> str | None:
        return None if value is None else iso(value)

    return {"id": row.id, "kind": row.kind, "receipt": row.receipt, "status": row.status, "outcome": row.outcome,
            "reason": row.reason, "requested_by": row.requested_by, "amount": row.amount,
            "created_at": t(row.created_at), "sent_at": t(row.sent_at), "result_at": t(row.result_at),
            "result_code": row.result_code, "result_desc": row.result_desc, "error": row.error,
            "attempts": row.attempts}
