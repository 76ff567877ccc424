"""Alerts in the store: raising and clearing them (with their events and messages), and the
delivery bookkeeping of each message.

Deduplicated: one open alert per condition key, so a condition that holds for hours is one
message when it starts and one when it clears. A clear that comes before the raise went
out anywhere sends neither (nothing to tell). Messages carry their own backoff, so a
channel that is down never turns into a failed task or holds up other work.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from .. import events
from ..store.db import db, write_transaction
from ..store.models import Alert, AlertMessage, Setting, from_db_time, iso, to_db_time
from .conditions import Condition

PENDING, SENT, SKIPPED, FAILED = "pending", "sent", "skipped", "failed"
GIVE_UP_AFTER = timedelta(days=1)
MAX_BACKOFF = 3600.0


def backoff(attempts: int) -> timedelta:
    """Wait before the next try of a message that failed `attempts` times: 30 s, 1 min, 2 min ... 1 h."""
    return timedelta(seconds=min(30.0 * 2 ** max(0, attempts - 1), MAX_BACKOFF))


def apply(conditions: Iterable[Condition], now: datetime, *, site: str, deliver: bool) -> tuple[list[str], list[str]]:
    """Raise what newly holds, clear what no longer does; returns the keys (raised, cleared).

    `deliver` False (no channel configured) records the alerts without messages to send."""
    active = {condition.key: condition for condition in conditions}
    raised, cleared = [], []
    with write_transaction():
        open_alerts = {alert.key: alert for alert in Alert.select().where(Alert.cleared_at.is_null())}
        for key, condition in active.items():
            if key in open_alerts:
                continue
            alert = Alert.create(key=key, kind=condition.kind, message=condition.message, raised_at=now,
                                 clear_message=condition.clear_message)
            _message(alert, "raised", f"[{site}] ALERT: {condition.message}", now, deliver)
            events.emit("alert.raised", {"alert_id": alert.id, "key": key, "kind": condition.kind,
                                         "message": condition.message}, now)
            raised.append(key)
        for key, alert in open_alerts.items():
            if key in active:
                continue
            message = alert.clear_message or f"{alert.message}: over"
            Alert.update(cleared_at=now).where(Alert.id == alert.id).execute()
            unsent = AlertMessage.update(status=SKIPPED).where(  # never tried: nothing went out
                (AlertMessage.alert == alert.id) & (AlertMessage.status == PENDING)
                & (AlertMessage.attempts == 0)).execute()
            if not unsent:
                _message(alert, "cleared", f"[{site}] OK: {message}", now, deliver)
            events.emit("alert.cleared", {"alert_id": alert.id, "key": key, "kind": alert.kind, "message": message}, now)
            cleared.append(key)
    return raised, cleared


def _message(alert: Alert, action: str, text: str, now: datetime, deliver: bool) -> None:
    AlertMessage.create(alert=alert, action=action, text=text, status=PENDING if deliver else SKIPPED,
                        created_at=now, next_attempt_at=now, channels=[])


def due(now: datetime) -> int:
    """Messages waiting to go out now."""
    return AlertMessage.select().where((AlertMessage.status == PENDING) & (AlertMessage.next_attempt_at <= now)).count()


def skip_due(now: datetime) -> int:
    """Give up the messages waiting to go out (no channel is configured any more)."""
    with write_transaction():
        return AlertMessage.update(status=SKIPPED, last_error="no alert channel configured").where(
            AlertMessage.status == PENDING).execute()


def sent_since(since: datetime) -> int:
    return AlertMessage.select().where(AlertMessage.sent_at >= since).count()


def claim(now: datetime, limit: int, hold: timedelta) -> list[AlertMessage]:
    """Take up to `limit` due messages, oldest first, out of everyone else's reach for `hold`
    (two senders at once, in two threads or processes, never send one message twice)."""
    if limit <= 0:
        return []
    with write_transaction():
        taken = list(AlertMessage.select().where(
            (AlertMessage.status == PENDING) & (AlertMessage.next_attempt_at <= now)
        ).order_by(AlertMessage.id).limit(limit))
        if taken:
            AlertMessage.update(next_attempt_at=now + hold).where(
                AlertMessage.id.in_([m.id for m in taken])).execute()
    return taken


def record_attempt(message: AlertMessage, channels_done: list[str], error: str | None, now: datetime) -> str:
    """After a try: sent when every channel has it, else pending with backoff (failed after a day)."""
    attempts = message.attempts + 1
    if error is None:
        status, next_at = SENT, now
    elif now - message.created_at >= GIVE_UP_AFTER:
        status, next_at = FAILED, now
    else:
        status, next_at = PENDING, now + backoff(attempts)
    with write_transaction():
        AlertMessage.update(status=status, channels=sorted(channels_done), attempts=attempts, last_error=error,
                            next_attempt_at=next_at, sent_at=now if status == SENT else None).where(
            AlertMessage.id == message.id).execute()
    return status


def get_setting_time(key: str) -> datetime | None:
    row = Setting.get_or_none(Setting.key == key)
    return from_db_time(row.value) if row and row.value else None


def set_setting_time(key: str, value: datetime | None, now: datetime) -> None:
    with write_transaction():
        if value is None:
            Setting.delete().where(Setting.key == key).execute()
        else:
            Setting.insert(key=key, value=to_db_time(value), updated_at=now).on_conflict_replace().execute()


def recent(limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """The latest alerts, newest first, each with its messages and how they went."""
    alerts = list(Alert.select().order_by(Alert.id.desc()).offset(offset).limit(limit))
    messages: dict[int, list[dict[str, Any]]] = {}
    if alerts:
        query = AlertMessage.select().where(AlertMessage.alert.in_([a.id for a in alerts])).order_by(AlertMessage.id)
        for m in query:
            messages.setdefault(m.alert_id, []).append({
                "id": m.id, "action": m.action, "text": m.text, "status": m.status, "channels": m.channels,
                "attempts": m.attempts, "last_error": m.last_error, "created_at": iso(m.created_at),
                "sent_at": iso(m.sent_at) if m.sent_at else None})
    return [{"id": a.id, "key": a.key, "kind": a.kind, "message": a.message, "raised_at": iso(a.raised_at),
             "cleared_at": iso(a.cleared_at) if a.cleared_at else None, "clear_message": a.clear_message,
             "open": a.cleared_at is None, "messages": messages.get(a.id, [])} for a in alerts]


def count() -> int:
    return Alert.select().count()


def open_count() -> int:
    return db.execute_sql('SELECT COUNT(*) FROM "alert" WHERE "cleared_at" IS NULL').fetchone()[0]
