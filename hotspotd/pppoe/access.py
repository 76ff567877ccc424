"""Who may dial in over PPPoE, and into what: the PPP access decision, a pure function over
an in-memory view (as `hotspotd.access` is for the hotspot).

A PPPoE server asks with Service-Type Framed-User and Framed-Protocol PPP, the CPE's MAC in
Calling-Station-Id, and PAP, CHAP or MS-CHAPv2 (docs/protocols.md §8.6). The answer for a
subscriber in their paid period (and the grace after it) is the plan: its rate, their static
address or the plan's pool, a Session-Timeout that ends the session when the period (with
the grace) ends. A subscriber past it is accepted into the suspended pool with the
"expired" profile and a short Session-Timeout, so every web page shows "please pay" and the
CPE redials soon (§8.5); or refused, when the operator chose to cut them off. One session
per subscriber: RouterOS ignores `only-one` under RADIUS (§8.2), so it is enforced here.

`radius/ppp.py` turns packets into a `PppRequest` and a `PppDecision` into a reply;
`hotspotd.pppoe.view_loader` keeps the `PppView` current from the store.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Callable, NamedTuple

from ..access import chap_ok
from .settings import ADDRESS_LIST, POOL, PROFILE, SUSPENDED_POOL, SUSPENDED_PROFILE

if TYPE_CHECKING:
    from .mschap import MsChap2Result

UNKNOWN_USER = "Unknown user"
WRONG_PASSWORD = "Wrong password"
OTHER_DEVICE = "This account is bound to another device"
ALREADY_ONLINE = "This account is already online from another device"
CUT_OFF = "Your subscription has ended: pay to reconnect"
BLOCKED = "This device is blocked"

ACTIVE, GRACE, SUSPENDED = "active", "grace", "suspended"

# Decisions a view a moment old may give wrongly: the subscriber was added or paid a second
# ago. The RADIUS role looks at the store again before it sends one of these.
MAY_BE_STALE = frozenset({"unknown_user", "suspended"})


def standing(period_end: float, held: bool, now: float, grace_s: float) -> str:
    """active (in the paid period), grace (past it, still on the plan) or suspended (past
    the grace, or held by the operator). Times in POSIX seconds. Defined once, here: RADIUS,
    the worker's month-end pass and the console all ask this."""
    if held:
        return SUSPENDED
    if now < period_end:
        return ACTIVE
    return GRACE if now < period_end + grace_s else SUSPENDED


@dataclass(frozen=True, slots=True)
class PppRequest:
    """An Access-Request from a PPPoE server, reduced to what the decision needs: PAP's
    revealed `password`, or CHAP's `chap_password` and `chap_challenge`, or MS-CHAPv2's
    16-octet challenge and 50-octet response."""

    username: str
    password: bytes | None = None
    chap_password: bytes | None = None
    chap_challenge: bytes | None = None
    mschap2: tuple[bytes, bytes] | None = None  # (MS-CHAP-Challenge, MS-CHAP2-Response)
    mac: str | None = None


@dataclass(frozen=True, slots=True)
class PppDecision:
    """Accept (with the profile, addressing and limits) or reject (with a message).

    `mschap2` is the verified MS-CHAPv2 result (its Success and MPPE keys go in the Accept);
    `mschap2_ident` is the Ident an MS-CHAP-Error of a reject carries back."""

    accept: bool
    reason: str  # ok | suspended | unknown_user | wrong_password | other_device | already_online | cut_off | blocked
    message: str = ""
    subscriber_id: int | None = None
    group: str | None = None  # Mikrotik-Group: the PPP profile
    framed_ip: str | None = None
    pool: str | None = None  # Framed-Pool
    address_list: str | None = None
    rate_limit: str | None = None
    session_timeout: int | None = None
    interim_interval: int | None = None
    mschap2: MsChap2Result | None = None
    mschap2_ident: int | None = None


class SubscriberView(NamedTuple):
    id: int
    username: str
    password: str
    package_id: int
    static_ip: str | None
    mac: str | None
    period_end: float  # POSIX seconds
    held: bool


@dataclass(frozen=True, slots=True)
class PppPolicy:
    """The site's choices (`[pppoe]`, `[radius] interim_interval`)."""

    grace_s: float = 0.0
    cut_off: bool = False  # refuse suspended subscribers instead of the suspended pool
    suspended_rate: str = "256k/256k"
    suspended_session_timeout: int = 300
    interim_interval: int | None = None


@dataclass
class PppView:
    """Plain data the decision reads; built by `PppLoader` or by hand in tests.

    `open_sessions` says who is online: username -> {session id: CPE MAC}. The RADIUS role
    passes the hotspot view's own map (it holds every open session) rather than keep a
    second copy."""

    subscribers: dict[str, SubscriberView] = field(default_factory=dict)  # by username
    rates: dict[int, str] = field(default_factory=dict)  # plan (package id) -> rate limit
    policy: PppPolicy = field(default_factory=PppPolicy)
    open_sessions: Callable[[str], dict[int, str | None]] = lambda username: {}
    blocked: Callable[[], set[str]] = set


def _password_ok(request: PppRequest, password: str) -> tuple[bool, MsChap2Result | None]:
    if request.mschap2 is not None:
        # loaded at the first MS-CHAPv2 login: DES comes from `cryptography` (~6 MB), which a
        # RADIUS process serving only the hotspot never needs
        from .mschap import verify_mschap2

        result = verify_mschap2(request.username, password, *request.mschap2)
        return result is not None, result
    secret = password.encode()
    if request.chap_password is not None:
        return chap_ok(secret, request.chap_password, request.chap_challenge or b""), None
    if request.password is not None:
        return hmac.compare_digest(request.password, secret), None
    return False, None


def authorize_ppp(request: PppRequest, view: PppView, now: datetime) -> PppDecision:
    """Decide a PPP Access-Request from the view at time `now` (aware UTC)."""
    ident = request.mschap2[1][0] if request.mschap2 is not None else None

    def reject(reason: str, message: str) -> PppDecision:
        return PppDecision(False, reason, message, mschap2_ident=ident)

    if request.mac is not None and request.mac in view.blocked():
        return reject("blocked", BLOCKED)
    sub = view.subscribers.get(request.username)
    if sub is None and "\\" in request.username:  # DOMAIN\user, as Windows dialers send it
        sub = view.subscribers.get(request.username.partition("\\")[2])
    if sub is None:
        return reject("unknown_user", UNKNOWN_USER)
    ok, mschap2 = _password_ok(request, sub.password)
    if not ok:
        return reject("wrong_password", WRONG_PASSWORD)
    if sub.mac and request.mac != sub.mac:
        return reject("other_device", OTHER_DEVICE)
    # One session per subscriber; the same CPE dialling again (it rebooted, the router has
    # not yet noticed the old session) is let in: the router ends the old one.
    others = {mac for mac in view.open_sessions(sub.username).values() if mac != request.mac}
    if others:
        return reject("already_online", ALREADY_ONLINE)
    policy, at = view.policy, now.timestamp()
    state = standing(sub.period_end, sub.held, at, policy.grace_s)
    if state == SUSPENDED:
        if policy.cut_off:
            return reject("cut_off", CUT_OFF)
        return PppDecision(True, "suspended", subscriber_id=sub.id, group=SUSPENDED_PROFILE, pool=SUSPENDED_POOL,
                           address_list=ADDRESS_LIST, rate_limit=policy.suspended_rate,
                           session_timeout=policy.suspended_session_timeout,
                           interim_interval=policy.interim_interval, mschap2=mschap2)
    return PppDecision(True, "ok", subscriber_id=sub.id, group=PROFILE,
                       framed_ip=sub.static_ip, pool=None if sub.static_ip else POOL,
                       rate_limit=view.rates.get(sub.package_id) or None,
                       session_timeout=max(1, int(sub.period_end + policy.grace_s - at)),
                       interim_interval=policy.interim_interval, mschap2=mschap2)
