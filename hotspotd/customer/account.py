"""A returning customer's side: logging in with the credentials they were given, what is
left of what they bought (time, data, devices), logging a device out; and which customer
a device is online as, for a top-up ("buy more") and for the RFC 8908 captive API.

A device is known by the MAC the router reports (the portal's `mac` variable) or, failing
that, by its IP address; its open RADIUS session says which credentials it is online with.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from .. import devices, sessions
from ..billing import subscriptions
from ..errors import Conflict, InvalidInput, NotFound
from ..mac import normalize_mac
from ..store.db import db, storage_errors, utcnow
from ..store.models import Credential, Package, Session, Subscription, from_db_time, iso, to_db_time

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

WRONG_LOGIN = "Wrong username or password"
EXPIRED = "Your package has expired. Buy a new one to get online."
USED_UP = "Your data allowance is used up. Buy more to get online."
TOO_MANY = "Too many devices are using this package. Log out on another device first."
LOGGED_OUT = "logged out by the customer"
NO_DEVICE = "The device's address is missing; reconnect to the WiFi and try again"


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
    devices = 0
    if username:
        devices = len({s.mac or f"session-{s.id}" for s in Session.select(Session.id, Session.mac).where(
            (Session.username == username) & (Session.status == sessions.SessionStatus.OPEN))})
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


def device_session(mac: str | None, ip: str | None) -> Session | None:
    """The newest open RADIUS session of a device, by MAC or else by IP."""
    mac = normalize_mac(mac)
    where = (Session.mac == mac) if mac else (Session.ip == ip) if ip else None
    if where is None:
        return None
    return (Session.select().where(where & (Session.status == sessions.SessionStatus.OPEN))
            .order_by(Session.started_at.desc()).first())


def device_customer(mac: str | None, ip: str | None, now: datetime) -> tuple[int, bool] | None:
    """(customer id, online) of the customer a device is online as, or holds a current
    subscription bound to its MAC; None when the device has neither."""
    session = device_session(mac, ip)
    if session is not None:
        credential = Credential.get_or_none(Credential.username == session.username)
        if credential is not None:
            return credential.customer_id, True
        if session.subscription_id:
            return Subscription.get_by_id(session.subscription_id).customer_id, True
    mac = normalize_mac(mac)
    if mac:
        bound = subscriptions.in_use(subscriptions.not_ended(mac=mac, now=now), now)
        if bound is not None:
            return bound.customer_id, False
    return None


class Account:
    """The returning customer's use cases; one per portal process."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.rt = runtime
        self.clock = clock

    def status(self, *, mac: str | None, ip: str | None) -> dict[str, Any]:
        """What the device is online with: {online, username, package, expires_at,
        seconds_left, data_left, devices_in_use, ...}, or {online: false, known: false}."""
        now = self.clock()
        with storage_errors("account status"):
            found = device_customer(mac, ip, now)
            access = access_of(found[0], now) if found else None
        if access is None:
            return {"online": False, "known": False}
        return {"online": found[1], "known": True, **access.as_dict()}

    def login(self, *, username: str, password: str, mac: str | None, ip: str | None) -> dict[str, Any]:
        """Check credentials before the page logs the device in at the router; the answer
        says what is left, or why the router would refuse."""
        now = self.clock()
        with storage_errors("login"):
            devices.refuse_blocked(mac)
            credential = _credential(username, password)
            access = access_of(credential.customer_id, now)
        if access is None:
            raise Conflict(EXPIRED)
        if not access.usable:
            raise Conflict(USED_UP if access.package else EXPIRED)
        session = device_session(mac, ip)
        this_device_online = session is not None and session.username == credential.username
        if access.devices_in_use >= access.devices_allowed and not this_device_online:
            raise Conflict(TOO_MANY)
        return {"online": this_device_online, "known": True, **access.as_dict()}

    def logout(self, *, username: str, password: str, mac: str | None, ip: str | None) -> dict[str, Any]:
        """Cut this device's session off (the RADIUS role sends the router a Disconnect-Request)."""
        now = self.clock()
        with storage_errors("logout"):
            credential = _credential(username, password)
            mac = normalize_mac(mac)
            where = (Session.username == credential.username) & (Session.status == sessions.SessionStatus.OPEN)
            if mac:
                where &= Session.mac == mac
            elif ip:
                where &= Session.ip == ip
            else:
                raise InvalidInput(NO_DEVICE)
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
