"""Keeping the RADIUS role's `PppView` current from the store.

The same mechanism as the hotspot's view (`hotspotd.access_loader`): triggers note every
change of a subscriber (migration 30) and of a package in `radius_change`; `refresh()`
reads the rows after the last id it saw and reloads those records, and `PRAGMA
data_version` makes an idle refresh nearly free. It keeps its own position in
`radius_change`, so the hotspot's loader is left as it is.
"""

from __future__ import annotations

import logging
from datetime import datetime

from ..store.db import db, rows_for_ids
from .access import PppView, SubscriberView

log = logging.getLogger(__name__)

_SUBSCRIBERS = ('SELECT "id", "username", "password", "package_id", "static_ip", "mac", "period_end", "held" '
                'FROM "subscriber"')
_PLANS = 'SELECT "id", "rate_limit" FROM "package" WHERE "service" = \'pppoe\''


class PppLoader:
    """Keeps a `PppView` current (see the module's docstring)."""

    BATCH = 20000

    def __init__(self, view: PppView | None = None) -> None:
        self.view = view or PppView()
        self.last_change = -1
        self._data_version: tuple[int, int] | None = None
        self._ids: dict[int, str] = {}  # subscriber id -> username (a rename or delete must not linger)

    def refresh(self) -> bool:
        """Bring the view up to date; return True when anything was reloaded."""
        version = (db.execute_sql("PRAGMA data_version").fetchone()[0], db.connection().total_changes)
        if version == self._data_version and self.last_change >= 0:
            return False
        self._data_version = version
        with db.atomic():
            if self.last_change < 0:
                self._full()
                return True
            rows = db.execute_sql('SELECT "id", "tbl", "row_id" FROM "radius_change" WHERE "id" > ? '
                                  'AND "tbl" IN (\'subscriber\', \'package\') ORDER BY "id" LIMIT ?',
                                  (self.last_change, self.BATCH + 1)).fetchall()
            newest = db.execute_sql('SELECT MAX("id"), MIN("id") FROM "radius_change"').fetchone()
            if newest[1] is not None and newest[1] > self.last_change + 1 or len(rows) > self.BATCH:
                self._full()  # rows we had not read were pruned, or too much to apply piecemeal
                return True
            self.last_change = max(self.last_change, newest[0] or 0)
            if not rows:
                return False
            subscribers = {row_id for _, table, row_id in rows if table == "subscriber"}
            if any(table == "package" for _, table, _ in rows):
                self._plans()
            if subscribers:
                self._subscribers(subscribers)
        return True

    def _full(self) -> None:
        newest = db.execute_sql('SELECT MAX("id") FROM "radius_change"').fetchone()[0] or 0
        self.view.subscribers, self._ids = {}, {}
        self._plans()
        self._subscribers(None)
        self.last_change = newest
        log.info("PPP view loaded: %d subscribers", len(self.view.subscribers))

    def _plans(self) -> None:
        self.view.rates = {pid: rate or "" for pid, rate in db.execute_sql(_PLANS).fetchall()}

    def _subscribers(self, ids: set[int] | None) -> None:
        view = self.view
        for sid in ids or ():
            name = self._ids.pop(sid, None)
            if name is not None:
                view.subscribers.pop(name, None)
        rows = (db.execute_sql(_SUBSCRIBERS).fetchall() if ids is None
                else rows_for_ids(_SUBSCRIBERS + ' WHERE "id" IN ({ids})', ids))
        for sid, username, password, plan, static_ip, mac, period_end, held in rows:
            view.subscribers[username] = SubscriberView(sid, username, password, plan, static_ip, mac,
                                                        datetime.fromisoformat(period_end).timestamp(), bool(held))
            self._ids[sid] = username
