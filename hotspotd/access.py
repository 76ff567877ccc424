"""Who may go online: the access decision, and the in-memory view it is made from.

`authorize(request, view, now)` is a pure function over plain data: the RADIUS role turns
an Access-Request into an `AuthRequest`, asks, and turns the `Decision` into a reply. The
`AccessView` holds credentials, subscriptions, packages, routers and open sessions;
`hotspotd.access_loader.ViewLoader` keeps it current from the store, so a login storm
never waits on a query.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from .billing import subscriptions
from .mac import normalize_mac
from .router import RouterView

UNKNOWN_USER = "Unknown user"
WRONG_PASSWORD = "Wrong password"
EXPIRED = "Your package has expired"
DATA_USED_UP = "Your data allowance is used up"
TOO_MANY_DEVICES = "This package is already in use on as many devices as it allows"
NO_DEVICE = "The router did not say which device this is"
BLOCKED = "This device is blocked at this hotspot"

# Rejects that a view a moment old may give wrongly (the customer paid a second ago, or
# moved the package to this device with "already paid?"): the RADIUS role looks at the
# store again before it sends one of these.
MAY_BE_STALE = frozenset({"unknown_user", "expired", "data_used_up", "too_many_devices"})


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
    reason: str  # ok | unknown_user | wrong_password | expired | data_used_up | too_many_devices | no_device | blocked
    message: str = ""
    subscription_id: int | None = None
    session_timeout: int | None = None
    rate_limit: str | None = None
    data_left: int | None = None
    interim_interval: int | None = None
    idle_timeout: int | None = None
    # A device logging in for the first time takes one of the account's free device slots:
    # (customer id, devices allowed). The RADIUS role records it before it answers.
    bind: tuple[int, int] | None = None


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


@dataclass
class AccessView:
    """Plain data the decision reads; built by `ViewLoader` or by hand in tests."""

    credentials: dict[str, CredentialView] = field(default_factory=dict)  # by username
    subscriptions: dict[int, SubscriptionView] = field(default_factory=dict)  # by id
    # customer (or bound MAC) -> subscription ids: tuples, not sets (a customer has one or
    # two; a set costs five times the memory, times every customer a busy site has)
    by_customer: dict[int, tuple[int, ...]] = field(default_factory=dict)
    by_mac: dict[str, tuple[int, ...]] = field(default_factory=dict)
    packages: dict[int, PackageView] = field(default_factory=dict)
    routers: dict[str, RouterView] = field(default_factory=dict)  # by NAS address
    open_sessions: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # id -> (username, mac)
    devices: dict[str, dict[int, str | None]] = field(default_factory=dict)  # username -> {session id: mac}
    usernames: dict[int, str] = field(default_factory=dict)  # customer -> username
    blocked: set[str] = field(default_factory=set)  # device MACs that may not log in (hotspotd.devices)
    bindings: dict[int, tuple[str, ...]] = field(default_factory=dict)  # customer -> its devices (billing.bindings)
    interim_interval: int | None = None
    idle_timeout: int | None = None

    def current(self, subscription_ids, now: float) -> list[SubscriptionView]:
        """Active subscriptions whose period contains `now`, soonest end first."""
        subs = self.subscriptions
        return subscriptions.current([subs[i] for i in subscription_ids if i in subs], now)

    def open_devices(self, username: str, except_mac: str | None) -> int:
        """Distinct devices with an open session for `username`, not counting `except_mac`."""
        macs = {mac or f"session-{sid}" for sid, mac in self.devices.get(username, {}).items()}
        macs.discard(except_mac)
        return len(macs)

    def bound(self, customer_id: int, mac: str) -> None:
        """Note a device bound to an account (this process's view, at once)."""
        devices = self.bindings.get(customer_id, ())
        if mac not in devices:
            self.bindings[customer_id] = devices + (mac,)


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

    A username is a customer's credential; failing that, a MAC (`User-Name` = device MAC,
    and the Calling-Station-Id the same MAC) logs in when a current subscription is bound
    to that MAC. Time is judged from
    starts_at/ends_at, never from whether the worker has marked a subscription expired.
    """
    at = now.timestamp()
    if view.blocked and (request.mac in view.blocked or normalize_mac(request.username) in view.blocked):
        return Decision(False, "blocked", BLOCKED)
    credential = view.credentials.get(request.username)
    customer_id = None
    if credential is not None:
        if not _password_ok(request, credential.password):
            return Decision(False, "wrong_password", WRONG_PASSWORD)
        customer_id = credential.customer_id
        current = view.current(view.by_customer.get(customer_id, ()), at)
        username = credential.username
    else:
        mac = normalize_mac(request.username)
        # Only the router's Calling-Station-Id says the device is that MAC; a User-Name is
        # typed by anyone, so a MAC login without it (or with another MAC) is refused.
        if mac is None or request.mac is None or request.mac != mac:
            return Decision(False, "unknown_user", UNKNOWN_USER)
        bound = view.by_mac.get(mac, ())
        if not bound:
            return Decision(False, "unknown_user", UNKNOWN_USER)
        current = [s for s in view.current(bound, at) if s.mac == mac]
        username = view.usernames.get(current[0].customer_id, mac) if current else mac
    if not current:
        return Decision(False, "expired", EXPIRED)
    usable = [s for s in current if subscriptions.has_data(s)]
    if not usable:
        return Decision(False, "data_used_up", DATA_USED_UP)
    sub = usable[0]
    package = view.packages.get(sub.package_id)
    allowed = package.devices if package else 1
    bind = None
    if customer_id is not None:
        if request.mac is None:  # a credential works on the devices its account admits: which one is this?
            return Decision(False, "no_device", NO_DEVICE)
        devices = view.bindings.get(customer_id, ())
        if request.mac not in devices:
            if len(devices) >= allowed:
                return Decision(False, "too_many_devices", TOO_MANY_DEVICES)
            bind = (customer_id, allowed)
    elif view.open_devices(username, request.mac) >= allowed:
        return Decision(False, "too_many_devices", TOO_MANY_DEVICES)
    return Decision(
        True, "ok",
        subscription_id=sub.id,
        session_timeout=max(1, int(sub.ends_at - at)),
        rate_limit=(package.rate_limit or None) if package else None,
        data_left=None if sub.data_limit is None else sub.data_limit - sub.bytes_used,
        interim_interval=view.interim_interval,
        idle_timeout=view.idle_timeout,
        bind=bind,
    )
