"""Retention: what the site keeps and for how long, so that its disk use stays flat for months.

The worker's ticker sends a `tick` (one pass) to the queue every `[retention] interval`
seconds. Business records (payments, subscriptions, customers, vouchers) are kept; what
only grows with traffic is not:

- the health log after `health_log_days` (7);
- events after `event_days` once central sync has them (at most the id the receiver
  acknowledged: `synced_through`), or all events after `event_days` when sync is off
  (nothing will ever take them);
- M-Pesa callback bodies after `callback_days` (the payment keeps what they said), and
  the sample of bodies that carried no money (`hotspotd.store.sampling`) after
  `sampling.DAYS` (7), its hourly tally after `callback_days`;
- `radius_change` rows once every running RADIUS process has read them (each records how
  far it has read in `radius_reader`); the newest row always stays, so a process that
  was behind sees a gap and reloads its whole view instead of missing a change;
- closed sessions after `session_days`, rolled up into `daily_usage` (per local day and
  customer), and open sessions nobody has heard of for as long (their router went away);
- cleared alerts after `alert_days`;
- texts to customers (the SMS outbox) after `callback_days`.

Deletes go in chunks, each its own short transaction, so a first pass over a year of rows
never holds the write lock long enough to make a callback or an accounting batch wait.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..config import Config
from ..store import sampling
from ..store.db import db, write_transaction
from ..store.models import from_db_time, to_db_time

log = logging.getLogger(__name__)

CHUNK = 2000
READER_ALIVE = timedelta(minutes=10)  # a RADIUS process that has not said where it is for this long is gone
READER_FORGOTTEN = timedelta(days=1)


def synced_through(config: Config) -> int:
    """The highest event id central sync has taken (every event up to it: the outbox cursor
    moves only on the receiver's acknowledgement); 0 while sync is off."""
    if not config.central.url:
        return 0
    from ..sync import outbox

    return outbox.cursor()


def tick(now: datetime, config: Config, *, synced_upto: int | None = None) -> dict[str, int]:
    """One retention pass at `now`; returns the rows removed (or rolled up) per table.

    `synced_upto`: the highest event id central sync has (default: `synced_through`)."""
    keep = config.retention

    def before(days: int) -> str:
        return to_db_time(now - timedelta(days=days))

    samples_days = min(keep.callback_days, sampling.DAYS)
    upto = synced_through(config) if synced_upto is None else synced_upto
    synced = "" if not config.central.url else f' AND "id" <= {int(upto)}'
    removed = {
        "health_log": _delete("health_log", '"at" < ?', (before(keep.health_log_days),)),
        "event": _delete("event", '"at" < ?' + synced, (before(keep.event_days),)),
        "mpesa_callback": _delete("mpesa_callback", '"received_at" < ?', (before(keep.callback_days),))
        + _delete("mpesa_callback", '"sampled" = 1 AND "received_at" < ?', (before(samples_days),)),
        "c2b_transaction": _delete("c2b_transaction", '"sampled" = 1 AND "received_at" < ?', (before(samples_days),)),
        "alert": _delete("alert", '"cleared_at" < ?', (before(keep.alert_days),)),
        "sms_message": _delete("sms_message", '"created_at" < ?', (before(keep.callback_days),)),
        "session": roll_up_sessions(now - timedelta(days=keep.session_days), config.site.timezone),
        "radius_change": prune_radius_changes(now),  # last: deleting sessions notes changes too
    }
    with write_transaction():
        db.execute_sql('DELETE FROM "radius_reader" WHERE "seen_at" < ?', (to_db_time(now - READER_FORGOTTEN),))
        db.execute_sql('DELETE FROM "sample_tally" WHERE "hour" < ?',
                       (sampling.hour_of(now - timedelta(days=keep.callback_days)),))
    if any(removed.values()):
        log.info("retention: %s", ", ".join(f"{table} {count}" for table, count in removed.items() if count))
    return removed


def _delete(table: str, where: str, params: tuple, chunk: int = CHUNK) -> int:
    """Delete the rows of `table` matching `where`, oldest first, `chunk` per transaction."""
    sql = (f'DELETE FROM "{table}" WHERE "id" IN '
           f'(SELECT "id" FROM "{table}" WHERE {where} ORDER BY "id" LIMIT {int(chunk)})')
    total = 0
    while True:
        with write_transaction():
            count = db.execute_sql(sql, params).rowcount
        total += count
        if count < chunk:
            return total


def prune_radius_changes(now: datetime) -> int:
    """Delete the `radius_change` rows every running RADIUS process has read (never the newest)."""
    alive = to_db_time(now - READER_ALIVE)
    position, readers = db.execute_sql('SELECT MIN("last_change"), COUNT(*) FROM "radius_reader" '
                                       'WHERE "seen_at" >= ?', (alive,)).fetchone()
    newest = db.execute_sql('SELECT MAX("id") FROM "radius_change"').fetchone()[0]
    if newest is None:
        return 0
    upto = newest - 1 if not readers else min(position, newest - 1)
    return _delete("radius_change", '"id" <= ?', (upto,))


def record_reader(name: str, last_change: int, now: datetime) -> None:
    """A RADIUS process says it has read `radius_change` up to `last_change`."""
    with write_transaction():
        db.execute_sql('INSERT INTO "radius_reader" ("name", "last_change", "seen_at") VALUES (?, ?, ?) '
                       'ON CONFLICT ("name") DO UPDATE SET "last_change" = excluded."last_change", '
                       '"seen_at" = excluded."seen_at"', (name, last_change, to_db_time(now)))


_OLD_SESSIONS = (
    'SELECT s."id", s."started_at", COALESCE(sub."customer_id", 0), s."input_bytes", s."output_bytes", '
    's."session_time" FROM "session" s LEFT JOIN "subscription" sub ON sub."id" = s."subscription_id" '
    'WHERE (s."status" = \'closed\' AND s."stopped_at" < ?) OR (s."status" = \'open\' AND s."updated_at" < ?) '
    'ORDER BY s."id" LIMIT ?'
)
_ADD_USAGE = (
    'INSERT INTO "daily_usage" ("day", "customer_id", "sessions", "input_bytes", "output_bytes", "session_time") '
    'VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT ("day", "customer_id") DO UPDATE SET '
    '"sessions" = "sessions" + excluded."sessions", "input_bytes" = "input_bytes" + excluded."input_bytes", '
    '"output_bytes" = "output_bytes" + excluded."output_bytes", '
    '"session_time" = "session_time" + excluded."session_time"'
)


def roll_up_sessions(cutoff: datetime, timezone: str, chunk: int = CHUNK) -> int:
    """Add sessions that ended before `cutoff` to `daily_usage` and delete them, in chunks.

    A chunk's roll-up and its delete commit together, so a session is counted exactly once
    whatever stops the pass."""
    zone, stamp, total = ZoneInfo(timezone), to_db_time(cutoff), 0
    while True:
        with write_transaction():
            rows = db.execute_sql(_OLD_SESSIONS, (stamp, stamp, chunk)).fetchall()
            usage: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
            for _, started_at, customer_id, input_bytes, output_bytes, session_time in rows:
                day = from_db_time(started_at).astimezone(zone).date().isoformat()
                totals = usage[(day, customer_id)]
                totals[0] += 1
                totals[1] += input_bytes
                totals[2] += output_bytes
                totals[3] += session_time
            for (day, customer_id), (count, input_bytes, output_bytes, session_time) in usage.items():
                db.execute_sql(_ADD_USAGE, (day, customer_id, count, input_bytes, output_bytes, session_time))
            ids = [row[0] for row in rows]
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                db.execute_sql(f'DELETE FROM "session" WHERE "id" IN ({",".join("?" * len(part))})', part)
        total += len(rows)
        if len(rows) < chunk:
            return total


def daily_usage(customer_id: int) -> list[dict[str, int | str]]:
    """A customer's rolled-up usage, newest day first (sessions older than `session_days`)."""
    rows = db.execute_sql('SELECT "day", "sessions", "input_bytes", "output_bytes", "session_time" '
                          'FROM "daily_usage" WHERE "customer_id" = ? ORDER BY "day" DESC', (customer_id,))
    return [{"day": day, "sessions": sessions, "input_bytes": up, "output_bytes": down, "session_time": seconds}
            for day, sessions, up, down, seconds in rows.fetchall()]
