"""The event outbox as central sync reads it: what waits after the cursor, one batch at a
time, in the wire form, and moving the cursor when central acknowledges.

Reading by id after the cursor misses nothing: SQLite has one writer at a time, so event
ids are committed in order (a reader never sees id N+1 before N). Only one batch is held
in memory at a time; a week's backlog costs no more memory than an hour's.
"""

from __future__ import annotations

import json
from datetime import datetime

from ..store.db import db, rows_for_ids, write_transaction
from ..store.models import Setting, from_db_time
from .protocol import BATCH_EVENTS, WITHHELD

FULL_PHONES_KEY = "sync.full_phone_numbers"


def cursor() -> int:
    return db.execute_sql('SELECT "cursor" FROM "sync_state" WHERE "id" = 1').fetchone()[0]


def waiting(after: int) -> int:
    return db.execute_sql('SELECT COUNT(*) FROM "event" WHERE "id" > ?', (after,)).fetchone()[0]


def highest() -> int:
    return db.execute_sql('SELECT MAX("id") FROM "event"').fetchone()[0] or 0


def oldest_waiting(after: int) -> datetime | None:
    row = db.execute_sql('SELECT "at" FROM "event" WHERE "id" > ? ORDER BY "id" LIMIT 1', (after,)).fetchone()
    return from_db_time(row[0]) if row else None


def full_phone_numbers() -> bool:
    """Whether the central operator asked for full phone numbers in payment events."""
    row = Setting.get_or_none(Setting.key == FULL_PHONES_KEY)
    return bool(row and row.value is True)


def read_batch(after: int, limit: int = BATCH_EVENTS) -> list[tuple[int, str, str, str]]:
    """(id, type, at, data as stored JSON) of the events after `after`, oldest first."""
    return db.execute_sql('SELECT "id", "type", "at", "data" FROM "event" WHERE "id" > ? ORDER BY "id" LIMIT ?',
                          (after, limit)).fetchall()


def _phones(payment_ids: set[int]) -> dict[int, str]:
    return dict(rows_for_ids('SELECT "id", "phone" FROM "payment" WHERE "id" IN ({ids})', payment_ids))


def wire_events(rows: list[tuple[int, str, str, str]], *, full_phones: bool = False) -> list[str]:
    """Each event as JSON text for the batch. Data that may hold something that must not
    leave the box (a withheld key) is parsed and cleaned; the rest goes as stored."""
    phones = {}
    if full_phones:
        ids = set()
        for _, type_, _, data in rows:
            if type_.startswith("payment.") and '"phone"' in data:
                payment_id = json.loads(data).get("payment_id")
                if isinstance(payment_id, int):
                    ids.add(payment_id)
        phones = _phones(ids) if ids else {}
    out = []
    for event_id, type_, at, data in rows:
        if any(f'"{key}"' in data for key in WITHHELD) or (phones and type_.startswith("payment.")):
            value = {k: v for k, v in json.loads(data).items() if k not in WITHHELD}
            if phones and value.get("payment_id") in phones and "phone" in value:
                value["phone"] = phones[value["payment_id"]]
            data = json.dumps(value, separators=(",", ":"), sort_keys=True)
        out.append(f'{{"id":{event_id},"type":{json.dumps(type_)},"at":"{at}","data":{data}}}')
    return out


def acknowledge(acknowledged: int, last_sent: int, *, events: int, sent_bytes: int) -> int:
    """Move the cursor to what central acknowledged: never past what was sent, never back.
    Returns the cursor now."""
    target = min(int(acknowledged), last_sent)
    with write_transaction():
        db.execute_sql('UPDATE "sync_state" SET "cursor" = MAX("cursor", ?), "events_sent" = "events_sent" + ?, '
                       '"bytes_sent" = "bytes_sent" + ? WHERE "id" = 1', (target, events, sent_bytes))
        return cursor()
