"""The audit log: every action taken from the console or the command line, who took it,
when, and from where, kept with the events (`admin.action`) so that the live page, the
audit page and central sync all see the same records.

`record()` runs inside the transaction that makes the change, like every event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import events
from ..store import sampling
from ..store.db import write_transaction
from ..store.models import Event, HealthLog


@dataclass(frozen=True)
class Actor:
    """Who acts: an account name and role, and the address the request came from."""

    username: str
    role: str
    address: str | None = None


COMMAND_LINE = Actor("command line", "admin", "local")

EVENT = "admin.action"
# The one role that may read the audit log: its page, and its entries wherever events are
# listed (the event list, /ws). Operators see the other events.
READER = "admin"


def hidden_from(role: str) -> tuple[str, ...]:
    """The event types a console account of `role` may not read."""
    return () if role == READER else (EVENT,)


# Ids that go at the top of the event's data, where the payment timeline finds them.
REFERENCES = ("payment_id", "subscription_id", "customer_id")


def record(by: Actor, action: str, target: str, now: datetime, **details: Any) -> int:
    """Write one `admin.action` event (inside the transaction of the change)."""
    data = {"by": by.username, "role": by.role, "from": by.address, "action": action, "target": target}
    for key in REFERENCES:
        if details.get(key) is not None:
            data[key] = details.pop(key)
    if details:
        data["details"] = details
    return events.emit(EVENT, data, now)


def entries(page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """The audit log, newest first: (one page of entries, how many in all)."""
    query = Event.select().where(Event.type == EVENT)
    total = query.count()
    rows = query.order_by(Event.id.desc()).paginate(page, per_page)
    return [events.as_message(e) for e in rows], total


def record_request(by: Actor, method: str, rule: str, path: str, status: int, now: datetime) -> None:
    """The audit entry of a console action whose handler did not write its own: the
    route that was used (routes added by other parts of hotspotd are audited this way)."""
    with write_transaction():
        record(by, f"{method} {rule}", path, now, status=status)


def security_note(message: str, now: datetime, level: str = "warning", *, source: str | None = None) -> None:
    """A line in the health log about logins (an account or address locked). Strangers on
    the LAN cause these, so only a sample is written: the first of each hour, then a count."""
    with write_transaction():
        if sampling.admit(sampling.CONSOLE_LOCKOUT, now, source=source).keep:
            HealthLog.create(at=now, component="admin", level=level, message=message[:500])
