"""Who may go online: the access decision, and the in-memory view it is made from.

`authorize(request, view, now)` is a pure function over plain data: the RADIUS role turns
an Access-Request into an `AuthRequest`, asks, and turns the `Decision` into a reply. The
`AccessView` holds credentials, subscriptions, packages, routers and open sessions;
`ViewLoader` keeps it current from the store (see `refresh`), so a login storm never
waits on a query.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from .store.db import db

log = logging.getLogger(__name__)

UNKNOWN_USER = "Unknown user"
WRONG_PASSWORD = "Wrong password"
EXPIRED = "Your package has expired"
DATA_USED_UP = "Your data allowance is used up"
TOO_MANY_DEVICES = "Too many devices are using this package"

_MAC_CHARS = re.compile(r"[^0-9A-Fa-f]")


def normalize_mac(value: str | None) -> str | None:
    """`bc-24-11-eb-56-4d`, `BC2411EB564D`, ... -> `BC:24:11:EB:56:4D`; None if not a MAC."""
    if not value:
        return None
    digits = _MAC_CHARS.sub("", value)
    if len(digits) != 12 or len(value) > 17:
        return None
    digits = digits.upper()
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """An Access-Request reduced to what the decision needs.

    `password` is the revealed PAP password; for CHAP, `chap_password` is ident + 16-octet
    response and `chap_challenge` the CHAP-Challenge (or the request authenticator).
    """

    username: str
    password: bytes | None = None
    chap_password: bytes | None = None
    chap_challenge: bytes | None = None
    mac: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """Accept (with what to tell the router) or reject (with a message for the portal)."""

    accept: bool
    reason: str  # ok | unknown_user | wrong_password | expired | data_used_up | too_many_devices
    message: str = ""
    subscription_id: int | None = None
    session_timeout: int | None = None
    rate_limit: str | None = None
    data_left: int | None = None
    interim_interval: int | None = None
    idle_timeout: int | None = None


class CredentialView(NamedTuple):
    id: int
    customer_id: int
    username: str
    password: bytes


class SubscriptionView(NamedTuple):
    id: int
    customer_id: int
    package_id: int
    status: str
    starts_at: float  # POSIX seconds
    ends_at: float
    data_limit: int | None
    bytes_used: int
    mac: str | None


class PackageView(NamedTuple):
    id: int
    rate_limit: str
    devices: int


class RouterView(NamedTuple):
    id: int
    name: str
    host: str
    nas_ip: str
    secret: bytes
    coa_port: int
    require_message_authenticator: bool | None


@dataclass
class AccessView:
    """Plain data the decision reads; built by `ViewLoader` or by hand in tests."""

    credentials: dict[str, CredentialView] = field(default_factory=dict)  # by username
    subscriptions: dict[int, SubscriptionView] = field(default_factory=dict)  # by id
    by_customer: dict[int, set[int]] = field(default_factory=dict)  # customer -> subscription ids
    by_mac: dict[str, set[int]] = field(default_factory=dict)  # bound MAC -> subscription ids
    packages: dict[int, PackageView] = field(default_factory=dict)
    routers: dict[str, RouterView] = field(default_factory=dict)  # by NAS address
    open_sessions: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # id -> (username, mac)
    devices: dict[str, dict[int, str | None]] = field(default_factory=dict)  # username -> {session id: mac}
    usernames: dict[int, str] = field(default_factory=dict)  # customer -> username
    interim_interval: int | None = None
    idle_timeout: int | None = None

    def current(self, subscription_ids, now: float) -> list[SubscriptionView]:
        """Active subscriptions whose period contains `now`, soonest end first."""
        subs = self.subscriptions
        found = [subs[i] for i in subscription_ids if i in subs]
        return sorted((s for s in found if s.status == "active" and s.starts_at <= now < s.ends_at),
                      key=lambda s: (s.ends_at, s.id))

    def open_devices(self, username: str, except_mac: str | None) -> int:
        """Distinct devices with an open session for `username`, not counting `except_mac`."""
        macs = {mac or f"session-{sid}" for sid, mac in self.devices.get(username, {}).items()}
        macs.discard(except_mac)
        return len(macs)


def chap_ok(password: bytes, chap_password: bytes, challenge: bytes) -> bool:
    """CHAP-Password = ident || MD5(ident || password || challenge) (RFC 2865 §5.3)."""
    if len(chap_password) != 17:
        return False
    expected = hashlib.md5(chap_password[:1] + password + challenge).digest()
    return hmac.compare_digest(expected, chap_password[1:])


def _password_ok(request: AuthRequest, password: bytes) -> bool:
    if request.chap_password is not None:
        return chap_ok(password, request.chap_password, request.chap_challenge or b"")
    if request.password is not None:
        return hmac.compare_digest(request.password, password)
    return False


def authorize(request: AuthRequest, view: AccessView, now: datetime) -> Decision:
    """Decide an Access-Request from the view at time `now` (aware UTC).

    A username is a customer's credential; failing that, a MAC (`User-Name` = device MAC)
    logs in when a current subscription is bound to that MAC. Time is judged from
    starts_at/ends_at, never from whether the worker has marked a subscription expired.
    """
    at = now.timestamp()
    credential = view.credentials.get(request.username)
    if credential is not None:
        if not _password_ok(request, credential.password):
            return Decision(False, "wrong_password", WRONG_PASSWORD)
        current = view.current(view.by_customer.get(credential.customer_id, ()), at)
        username = credential.username
    else:
        mac = normalize_mac(request.username)
        if mac is None or (request.mac is not None and request.mac != mac):
            return Decision(False, "unknown_user", UNKNOWN_USER)
        bound = view.by_mac.get(mac, ())
        if not bound:
            return Decision(False, "unknown_user", UNKNOWN_USER)
        current = [s for s in view.current(bound, at) if s.mac == mac]
        username = view.usernames.get(current[0].customer_id, mac) if current else mac
    if not current:
        return Decision(False, "expired", EXPIRED)
    usable = [s for s in current if s.data_limit is None or s.bytes_used < s.data_limit]
    if not usable:
        return Decision(False, "data_used_up", DATA_USED_UP)
    sub = usable[0]
    package = view.packages.get(sub.package_id)
    allowed = package.devices if package else 1
    if view.open_devices(username, request.mac) >= allowed:
        return Decision(False, "too_many_devices", TOO_MANY_DEVICES)
    return Decision(
        True, "ok",
        subscription_id=sub.id,
        session_timeout=max(1, int(sub.ends_at - at)),
        rate_limit=(package.rate_limit or None) if package else None,
        data_left=None if sub.data_limit is None else sub.data_limit - sub.bytes_used,
        interim_interval=view.interim_interval,
        idle_timeout=view.idle_timeout,
    )


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


class ViewLoader:
    """Keeps an `AccessView` current from the store.

    Triggers (migration 3) append every change of a credential, subscription, package,
    router or session status to `radius_change`; `refresh()` reads the rows after the last
    id it saw and reloads just those records. `PRAGMA data_version` tells, without touching
    a table, whether any other connection committed since the last look, so an idle
    refresh costs a few microseconds and can run every second.
    """

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
        found, listed = [], sorted(ids)
        for start in range(0, len(listed), 500):
            chunk = listed[start:start + 500]
            where = " AND " if " WHERE " in sql else " WHERE "
            found += db.execute_sql(f'{sql}{where}"id" IN ({",".join("?" * len(chunk))})', chunk).fetchall()
        return found

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

    def _packages(self, ids: set[int] | None) -> None:
        for pid, rate, devices in self._select('SELECT "id", "rate_limit", "devices" FROM "package"', ids):
            self.view.packages[pid] = PackageView(pid, rate or "", devices)

    def _routers(self) -> None:
        rows = db.execute_sql('SELECT "id", "name", "host", "nas_ip", "secret", "coa_port", '
                              '"require_message_authenticator" FROM "router"').fetchall()
        self.view.routers = {
            nas_ip: RouterView(rid, name, host, nas_ip, secret.encode(), coa_port, None if require is None else bool(require))
            for rid, name, host, nas_ip, secret, coa_port, require in rows
        }

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
                view.by_customer.get(old.customer_id, set()).discard(sid)
                if old.mac:
                    view.by_mac.get(old.mac, set()).discard(sid)
        rows = self._select('SELECT "id", "customer_id", "package_id", "status", "starts_at", "ends_at", '
                            '"data_limit", "bytes_used", "mac" FROM "subscription"', ids)
        for sid, customer, package, status, starts, ends, limit, used, mac in rows:
            mac = normalize_mac(mac)
            view.subscriptions[sid] = SubscriptionView(sid, customer, package, status, _epoch(starts), _epoch(ends),
                                                       limit, used, mac)
            view.by_customer.setdefault(customer, set()).add(sid)
            if mac:
                view.by_mac.setdefault(mac, set()).add(sid)

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
