"""Keeping the RADIUS role's `AccessView` current from the store.

Triggers (migration 3) append every change of a credential, subscription, package, router
or session status to `radius_change`; `ViewLoader.refresh()` reads the rows after the last
id it saw and reloads just those records. `PRAGMA data_version` tells, without touching a
table, whether any other connection committed since the last look, so an idle refresh
costs a few microseconds and can run often.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime

from .access import AccessView, CredentialView, PackageView, SubscriptionView
from .mac import normalize_mac
from .router import router_views
from .store.db import db, rows_for_ids

log = logging.getLogger(__name__)

STATUS_SECRET_KEY = "radius.status_secret"  # made by migration 7; `doctor` signs its Status-Server with it


def status_secret() -> bytes | None:
    """The secret this box's own Status-Server requests are signed with (RFC 5997)."""
    row = db.execute_sql('SELECT "value" FROM "setting" WHERE "key" = ?', (STATUS_SECRET_KEY,)).fetchone()
    return json.loads(row[0]).encode() if row else None


def _with(index: dict, key, sid: int) -> None:
    found = index.get(key, ())
    if sid not in found:
        index[key] = found + (sid,)


def _without(index: dict, key, sid: int) -> None:
    left = tuple(s for s in index.get(key, ()) if s != sid)
    if left:
        index[key] = left
    else:
        index.pop(key, None)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


class ViewLoader:
    """Keeps an `AccessView` current from the store (see the module's docstring)."""

    BATCH = 20000

    def __init__(self, view: AccessView | None = None) -> None:
        self.view = view or AccessView()
        self.last_change = -1
        self._data_version: tuple[int, int] | None = None

    def refresh(self) -> bool:
        """Bring the view up to date; return True when anything was reloaded."""
        # data_version moves on commits by other connections, total_changes on our own
        version = (db.execute_sql("PRAGMA data_version").fetchone()[0], db.connection().total_changes)
        if version == self._data_version and self.last_change >= 0:
            return False
        self._data_version = version
        with db.atomic():
            if self.last_change < 0:
                self._full()
                return True
            rows = db.execute_sql('SELECT "id", "tbl", "row_id" FROM "radius_change" WHERE "id" > ? '
                                  'ORDER BY "id" LIMIT ?', (self.last_change, self.BATCH + 1)).fetchall()
            if not rows:
                return False
            if rows[0][0] != self.last_change + 1 or len(rows) > self.BATCH:
                self._full()  # pruned past us, or too much to apply piecemeal
                return True
            changed: dict[str, set[int]] = {}
            for _, table, row_id in rows:
                changed.setdefault(table, set()).add(row_id)
            self.last_change = rows[-1][0]
            self._apply(changed)
        return True

    def _full(self) -> None:
        row = db.execute_sql('SELECT MAX("id") FROM "radius_change"').fetchone()
        fresh = AccessView(interim_interval=self.view.interim_interval, idle_timeout=self.view.idle_timeout)
        old, self.view.__dict__ = dict(self.view.__dict__), fresh.__dict__
        try:
            self._apply(None)
        except Exception:
            self.view.__dict__ = old
            raise
        self.last_change = row[0] or 0
        log.info("access view loaded: %d credentials, %d subscriptions, %d routers",
                 len(self.view.credentials), len(self.view.subscriptions), len(self.view.routers))

    def _select(self, sql: str, ids: set[int] | None):
        if ids is None:
            return db.execute_sql(sql).fetchall()
        where = " AND " if " WHERE " in sql else " WHERE "
        return rows_for_ids(f'{sql}{where}"id" IN ({{ids}})', ids)

    def _apply(self, changed: dict[str, set[int]] | None) -> None:
        """Reload the changed rows (everything when `changed` is None)."""
        def ids(table: str) -> set[int] | None:
            return None if changed is None else changed.get(table, set())

        if changed is None or "package" in changed:
            self._packages(ids("package"))
        if changed is None or "router" in changed:
            self._routers()
        if changed is None or "credential" in changed:
            self._credentials(ids("credential"))
        if changed is None or "subscription" in changed:
            self._subscriptions(ids("subscription"))
        if changed is None or "session" in changed:
            self._sessions(ids("session"))
        if changed is None or "device_binding" in changed:
            self._bindings(ids("device_binding"))
        if changed is None or "blocked_device" in changed:
            self.view.blocked = {mac for (mac,) in db.execute_sql('SELECT "mac" FROM "blocked_device"').fetchall()}

    def _packages(self, ids: set[int] | None) -> None:
        for pid, rate, devices in self._select('SELECT "id", "rate_limit", "devices" FROM "package"', ids):
            self.view.packages[pid] = PackageView(pid, rate or "", devices)

    def _routers(self) -> None:
        self.view.routers = {router.nas_ip: router for router in router_views()}

    def _credentials(self, ids: set[int] | None) -> None:
        view = self.view
        if ids is not None:  # drop the old names first: a rename or delete must not linger
            for name, cred in [(n, c) for n, c in view.credentials.items() if c.id in ids]:
                del view.credentials[name]
                view.usernames.pop(cred.customer_id, None)
        rows = self._select('SELECT "id", "customer_id", "username", "password" FROM "credential"', ids)
        for cid, customer, username, password in rows:
            view.credentials[username] = CredentialView(cid, customer, username, password.encode())
            view.usernames[customer] = username

    def _subscriptions(self, ids: set[int] | None) -> None:
        view = self.view
        for sid in ids or ():
            old = view.subscriptions.pop(sid, None)
            if old is not None:
                _without(view.by_customer, old.customer_id, sid)
                if old.mac:
                    _without(view.by_mac, old.mac, sid)
        rows = self._select('SELECT "id", "customer_id", "package_id", "status", "starts_at", "ends_at", '
                            '"data_limit", "bytes_used", "mac" FROM "subscription"', ids)
        for sid, customer, package, status, starts, ends, limit, used, mac in rows:
            mac = normalize_mac(mac)
            view.subscriptions[sid] = SubscriptionView(sid, customer, package, sys.intern(status), _epoch(starts),
                                                       _epoch(ends), limit, used, mac)
            _with(view.by_customer, customer, sid)
            if mac:
                _with(view.by_mac, mac, sid)

    def _bindings(self, customers: set[int] | None) -> None:
        """The devices of these accounts (of every account for None); `radius_change`
        names an account, not a row, for these."""
        view = self.view
        sql = 'SELECT "customer_id", "mac" FROM "device_binding"'
        if customers is None:
            rows = db.execute_sql(sql + ' ORDER BY "id"').fetchall()
        else:
            for customer in customers:
                view.bindings.pop(customer, None)
            rows = rows_for_ids(sql + ' WHERE "customer_id" IN ({ids}) ORDER BY "id"', customers)
        for customer, mac in rows:
            view.bound(customer, mac)

    def _sessions(self, ids: set[int] | None) -> None:
        view = self.view
        for sid in ids or ():
            old = view.open_sessions.pop(sid, None)
            if old is not None:
                view.devices.get(old[0], {}).pop(sid, None)
        sql = 'SELECT "id", "username", "mac", "status" FROM "session"'
        if ids is None:
            sql += " WHERE \"status\" = 'open'"
        for sid, username, mac, status in self._select(sql, ids):
            if status == "open":
                view.open_sessions[sid] = (username, normalize_mac(mac))
                view.devices.setdefault(username, {})[sid] = normalize_mac(mac)
