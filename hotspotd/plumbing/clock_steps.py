"""What a step of the wall clock does to the records (`hotspotd.plumbing.clock` finds it).

The rule, so that nobody gains free hours or loses what they paid for:

- The frame is known (the clock was believable earlier this boot): every period still
  running when the clock jumped moves with it, by the step. A subscription that had 40
  minutes left has 40 minutes left on the new time, whichever way the clock went; open
  sessions and payments still waiting for M-Pesa move too, so their timeouts keep their
  length. What has ended, and history (events, payments done, closed sessions), stays as
  it was written.
- The frame is unknown (a boot at a stale time, before any witness believed the clock):
  nothing was sold or applied on the stale time (selling and applying wait), and the
  running periods were written before the boot, on a time that was believed. So nothing
  moves; the step is recorded.

Runs inside the transaction that records the step, before any role acts on the new time.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from .. import events
from ..store.db import db
from ..store.models import from_db_time, to_db_time

if TYPE_CHECKING:
    from .clock import State

_RUNNING = ('SELECT "id", "starts_at", "ends_at" FROM "subscription" '
            'WHERE "status" != \'expired\' AND "ends_at" > ?')
_MOVE_SUBSCRIPTION = 'UPDATE "subscription" SET "starts_at" = ?, "ends_at" = ? WHERE "id" = ?'
_OPEN_SESSIONS = ('SELECT "id", "started_at", "updated_at", "disconnect_next_at" FROM "session" '
                  'WHERE "status" = \'open\'')
_MOVE_SESSION = 'UPDATE "session" SET "started_at" = ?, "updated_at" = ?, "disconnect_next_at" = ? WHERE "id" = ?'
_PENDING = 'SELECT "id", "created_at", "queried_at" FROM "payment" WHERE "status" = \'pending\''
_MOVE_PAYMENT = 'UPDATE "payment" SET "created_at" = ?, "queried_at" = ? WHERE "id" = ?'


def _moved(text: str | None, by: timedelta) -> str | None:
    return None if text is None else to_db_time(from_db_time(text) + by)


def carry(step_s: float, before: datetime) -> dict[str, int]:
    """Move what was running at `before` (the old time) by `step_s` seconds; returns how
    many of each moved. Inside a write transaction."""
    by = timedelta(seconds=step_s)
    rows = db.execute_sql(_RUNNING, (to_db_time(before),)).fetchall()
    for sub_id, starts, ends in rows:
        db.execute_sql(_MOVE_SUBSCRIPTION, (_moved(starts, by), _moved(ends, by), sub_id))
    sessions = db.execute_sql(_OPEN_SESSIONS).fetchall()
    for session_id, started, updated, next_at in sessions:
        db.execute_sql(_MOVE_SESSION, (_moved(started, by), _moved(updated, by), _moved(next_at, by), session_id))
    pending = db.execute_sql(_PENDING).fetchall()
    for payment_id, created, queried in pending:
        db.execute_sql(_MOVE_PAYMENT, (_moved(created, by), _moved(queried, by), payment_id))
    return {"subscriptions": len(rows), "sessions": len(sessions), "payments": len(pending)}


def record_step(step_s: float, *, wall: float, frame_known: bool, after: State) -> dict[str, int]:
    """Repair what the step touched and write `system.clock_stepped`. Inside the transaction
    that stores the clock's new state."""
    now = datetime.fromtimestamp(wall, timezone.utc)
    before = now - timedelta(seconds=step_s)
    moved = carry(step_s, before) if frame_known else {"subscriptions": 0, "sessions": 0, "payments": 0}
    events.emit("system.clock_stepped", {
        "step_s": round(step_s, 1), "from": to_db_time(before), "to": to_db_time(now),
        "frame": "carried" if frame_known else "unknown", **moved,
        "believable": after.believable, "source": after.source, "reason": after.reason,
    }, now)
    return moved
