"""A returning customer's side: logging in with the credentials they were given, what is
left of what they bought (time, data, devices), logging a device out; and what a device
has left at its address, for the RFC 8908 captive API.

What shows or changes an account answers only to a device a router confirmed (`Asker`):
its open RADIUS session says which account it is online with, its bindings which accounts
it may use. Checking a username and password (before the page logs in at the router)
answers whoever holds them, and says when the package has no slot for this device.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from .. import devices, sessions
from ..billing import bindings, subscriptions
from ..devices import Asker
from ..errors import Conflict, NotFound
from ..mac import normalize_mac
from ..store.db import db, storage_errors, utcnow
from ..store.models import Credential, Package, Session, Subscription, from_db_time, iso, to_db_time

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

WRONG_LOGIN = "Wrong username or password"
EXPIRED = "Your package has expired. Buy a new one to get online."
USED_UP = "Your data allowance is used up. Buy more to get online."
TOO_MANY = ('This package is already in use on as many devices as it allows. To move it to this device, '
            'use "Already paid but not online?" here.')
LOGGED_OUT = "logged out by the customer"


@dataclass(frozen=True)
class Access:
    """What a customer has now: the subscription in use and the end of all they bought."""

    customer_id: int
    username: str | None
    package: str | None  # the package in use now (None when only a later one is queued)
    package_id: int | None
    ends_at: datetime  # the end of the last period bought (stacked purchases included)
    seconds_left: int
    data_limit: int | None  # of the subscription in use; None = no cap
    data_left: int | None
    devices_allowed: int
    devices_in_use: int
    usable: bool  # a current subscription with data left

    def as_dict(self) -> dict[str, Any]:
        return {"username": self.username, "package": self.package, "package_id": self.package_id,
                "expires_at": iso(self.ends_at), "seconds_left": self.seconds_left, "data_limit": self.data_limit,
                "data_left": self.data_left, "devices_allowed": self.devices_allowed,
                "devices_in_use": self.devices_in_use, "usable": self.usable}


def access_of(customer_id: int, now: datetime) -> Access | None:
    """The customer's access at `now`, or None when nothing bought is left."""
    running = subscriptions.not_ended(customer_id=customer_id, now=now)
    if not running:
        return None
    sub = subscriptions.in_use(running, now)
    credential = Credential.get_or_none(Credential.customer == customer_id)
    username = credential.username if credential else None
    package = Package.get_by_id(sub.package_id) if sub else None
    devices = len(bindings.bound(customer_id))  # the devices its login works on (see billing.bindings)
    ends_at = max(s.ends_at for s in running)
    return Access(
        customer_id=customer_id, username=username, package=package.name if package else None,
        package_id=package.id if package else None, ends_at=ends_at,
        seconds_left=max(0, int((ends_at - now).total_seconds())),
        data_limit=sub.data_limit if sub else None,
        data_left=None if sub is None or sub.data_limit is None else max(0, sub.data_limit - sub.bytes_used),
        devices_allowed=package.devices if package else 1, devices_in_use=devices,
        usable=sub is not None and subscriptions.has_data(sub),
    )


# Plain SQL: phones ask the captive API on their own, often; the ORM's query building
# would cost more than the queries.
_ONLINE_AT = ('SELECT COALESCE(c."customer_id", b."customer_id") FROM "session" s '
              'LEFT JOIN "credential" c ON c."username" = s."username" '
              'LEFT JOIN "subscription" b ON b."id" = s."subscription_id" '
              'WHERE s."ip" = ? AND s."status" = \'open\' ORDER BY s."started_at" DESC LIMIT 1')
_RUNNING = ('SELECT "id", "status", "starts_at", "ends_at", "data_limit", "bytes_used" FROM "subscription" '
            'WHERE "customer_id" = ? AND "status" = \'active\' AND "ends_at" > ?')


class _Running(NamedTuple):
    id: int
    status: str
    starts_at: str
    ends_at: str
    data_limit: int | None
    bytes_used: int


def left_at_address(ip: str, now: datetime) -> tuple[int, int | None] | None:
    """(seconds, bytes or None) left to the device online at `ip`; None when no device is
    online there with time and data left."""
    row = db.execute_sql(_ONLINE_AT, (ip,)).fetchone()
    if row is None or row[0] is None:
        return None
    at = to_db_time(now)
    running = [_Running(*r) for r in db.execute_sql(_RUNNING, (row[0], at)).fetchall()]
    sub = subscriptions.in_use(running, at)  # ISO times compare as text
    if sub is None or not subscriptions.has_data(sub):
        return None
    seconds = int((from_db_time(max(r.ends_at for r in running)) - now).total_seconds())
    return seconds, None if sub.data_limit is None else sub.data_limit - sub.bytes_used


def device_session(mac: str | None) -> Session | None:
    """The newest open RADIUS session of a device (by the MAC its router reported)."""
    mac = normalize_mac(mac)
    if mac is None:
        return None
    return (Session.select().where((Session.mac == mac) & (Session.status == sessions.SessionStatus.OPEN))
            .order_by(Session.started_at.desc()).first())


def online_as(mac: str | None) -> int | None:
    """The account a device is online with now (its open session's credentials)."""
    session = device_session(mac)
    if session is None:
        return None
    credential = Credential.get_or_none(Credential.username == session.username)
    if credential is not None:
        return credential.customer_id
    return Subscription.get_by_id(session.subscription_id).customer_id if session.subscription_id else None


def device_account(device: Asker, now: datetime) -> tuple[int, bool] | None:
    """(account, online) of a confirmed device: the one it is online with, else the newest
    account it may use that has something left; None when it has neither."""
    if not device.verified:
        return None
    online = online_as(device.mac)
    if online is not None:
        return online, True
    for customer_id in bindings.accounts_of(device.mac):
        if subscriptions.not_ended(customer_id=customer_id, now=now):
            return customer_id, False
    return None


class Account:
    """The returning customer's use cases; one per portal process."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.rt = runtime
        self.clock = clock

    def status(self, *, device: Asker) -> dict[str, Any]:
        """What a confirmed device has: {online, known, username, password, package,
        expires_at, seconds_left, data_left, devices_in_use, ...}; {online: false, known:
        false, verified} for a device that has nothing or that no router confirmed."""
        now = self.clock()
        with storage_errors("account status"):
            found = device_account(device, now)
            access = access_of(found[0], now) if found else None
            credential = Credential.get_or_none(Credential.customer == found[0]) if access else None
        if access is None:
            return {"online": False, "known": False, "verified": device.verified}
        # The device's own login: shown again after a reload, to copy to a second device.
        login = {"password": credential.password} if credential else {}
        return {"online": found[1], "known": True, "verified": True, **access.as_dict(), **login}

    def login(self, *, username: str, password: str, device: Asker) -> dict[str, Any]:
        """Check credentials before the page logs the device in at the router; the answer
        says what is left, or why the router would refuse."""
        now = self.clock()
        with storage_errors("login"):
            devices.refuse_blocked(device.mac)
            credential = _credential(username, password)
            access = access_of(credential.customer_id, now)
            bound = bindings.bound(credential.customer_id)
            session = device_session(device.mac) if device.verified else None
        if access is None:
            raise Conflict(EXPIRED)
        if not access.usable:
            raise Conflict(USED_UP if access.package else EXPIRED)
        if device.verified and device.mac not in bound and len(bound) >= access.devices_allowed:
            raise Conflict(TOO_MANY)
        this_device_online = session is not None and session.username == credential.username
        return {"online": this_device_online, "known": True, **access.as_dict()}

    def logout(self, *, username: str, password: str, device: Asker) -> dict[str, Any]:
        """Cut this device's session off (the RADIUS role sends the router a
        Disconnect-Request). Only for a device a router confirmed: a claimed MAC could
        throw anyone off who shares the password."""
        device.confirmed()
        now = self.clock()
        with storage_errors("logout"):
            credential = _credential(username, password)
            where = ((Session.username == credential.username) & (Session.status == sessions.SessionStatus.OPEN)
                     & (Session.mac == device.mac))
            cut = [s.id for s in Session.select(Session.id).where(where)
                   if sessions.request_disconnect(s.id, LOGGED_OUT, now)]
        return {"logged_out": len(cut)}


def _credential(username: str, password: str) -> Credential:
    """The credential for this pair; one answer for an unknown name and a wrong password."""
    credential = Credential.get_or_none(Credential.username == (username or "").strip().lower())
    given = (password or "").strip().encode()
    stored = credential.password.encode() if credential else b"-"
    if not hmac.compare_digest(given, stored) or credential is None:
        raise NotFound(WRONG_LOGIN)
    return credential
