"""Noticing new events the moment they commit, whichever process wrote them.

`EventFeed` holds one read-only SQLite connection of its own. SQLite's `PRAGMA
data_version` changes on that connection whenever another connection commits to the
database, and costs a few microseconds to ask, so a caller can ask every few milliseconds
and read the `event` table only when something was committed. The admin role runs one
feed per process and fans what it reads out to every open websocket.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

_AFTER = 'SELECT "id", "type", "at", "data" FROM "event" WHERE "id" > ? ORDER BY "id" LIMIT ?'
_LAST = 'SELECT MAX("id") FROM "event"'


def _message(row: tuple) -> dict[str, Any]:
    """The wire form of `hotspotd.events.as_message`, from a raw row (times are stored as
    the same ISO text the wire carries)."""
    event_id, type_, at, data = row
    return {"id": event_id, "type": type_, "at": at, "data": json.loads(data)}


class EventFeed:
    def __init__(self, path: str | Path, busy_timeout: float = 5.0) -> None:
        self.path = str(path)
        self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=busy_timeout,
                                     check_same_thread=False, isolation_level=None)
        self._version: int | None = None

    def changed(self) -> bool:
        """True when another connection committed since the last call (and on the first)."""
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        changed, self._version = version != self._version, version
        return changed

    def last_id(self) -> int:
        return self._conn.execute(_LAST).fetchone()[0] or 0

    def after(self, last_id: int, limit: int = 500) -> list[dict[str, Any]]:
        """Events with an id above `last_id`, oldest first, as websocket messages."""
        return [_message(row) for row in self._conn.execute(_AFTER, (last_id, limit)).fetchall()]

    def close(self) -> None:
        self._conn.close()
