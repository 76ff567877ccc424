"""Home subscribers: who they are, their plan, their PPPoE login, their account number.

A subscriber is added by the operator (`hotspotd subscriber add`, the console) on a PPPoE
plan. They get a permanent Paybill account number, a PPPoE username and password (made up
unless given: an operator moving from another system keeps the secrets already typed into
the CPEs), optionally a static address and a bound CPE MAC. A new subscriber owes their
first period (or has paid until a date the operator gives). Money is `pppoe.billing`'s;
the month's end is `pppoe.month_end`'s.

Account numbers are 6 digits: 5 random (the first not 0) and a Luhn check digit. Digits,
because they are typed on a feature phone's M-Pesa menu every month; short for the same
reason; a check digit so a typo is refused at validation (or kept unmatched) rather than
paying a neighbour's bill; and 6 long so that one can never be taken for the 7-digit
numbers the hotspot portal hands out for a single purchase, whichever table is asked first.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import peewee

from .. import events
from ..billing import c2b
from ..billing.packages import PPPOE, get_package
from ..console import audit
from ..console.audit import Actor
from ..errors import Conflict, InvalidInput, NotFound, StorageUnavailable
from ..mac import normalize_mac
from ..phone import mask, normalise as normalise_phone
from ..store.db import write_transaction
from ..sessions import disconnect_later
from ..store.models import Credential, Session, Subscriber, iso
from .access import ACTIVE, GRACE, SUSPENDED, standing

ACCOUNT_DIGITS = 5  # and the check digit: 90,000 numbers
ACCOUNT_DRAWS = 50
LANGUAGES = ("en", "sw")
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_USERNAME = re.compile(r"[A-Za-z0-9._@\\-]{1,64}")
EDITABLE = ("name", "phone", "package_id", "static_ip", "mac", "language", "username", "password")


def account_is_well_formed(account: str) -> bool:
    """Whether `account` looks like a subscriber's number (length, digits, check digit)."""
    return c2b.account_is_well_formed(account, ACCOUNT_DIGITS)


def new_account() -> str:
    return c2b.new_account(ACCOUNT_DIGITS)


def new_password(length: int = 10) -> str:
    """A PPP password: printable ASCII only (MS-CHAPv2 hashes it as UTF-16; other
    implementations disagree on anything else), without look-alike characters."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def check_password(password: str) -> str:
    if not 4 <= len(password) <= 64 or not all("!" <= ch <= "~" for ch in password):
        raise InvalidInput("a PPPoE password is 4-64 printable ASCII characters, without spaces")
    return password


def check_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):
        raise InvalidInput("a PPPoE username is 1-64 letters, digits or . _ @ - \\")
    if Credential.select().where(Credential.username == username).exists():
        raise Conflict(f"{username} is a hotspot customer's username; choose another")
    return username


def _name(value: Any) -> str:
    name = str(value or "").strip()
    if not 1 <= len(name) <= 80 or re.search(r"[\x00-\x1f\x7f]", name):
        raise InvalidInput("a subscriber needs a name of 1-80 characters")
    return name


def _static_ip(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return str(ipaddress.IPv4Address(str(value).strip()))
    except ValueError:
        raise InvalidInput(f"the static address must be an IPv4 address (got {value!r})") from None


def _mac(value: Any) -> str | None:
    if value in (None, ""):
        return None
    mac = normalize_mac(str(value))
    if mac is None:
        raise InvalidInput(f"the CPE MAC must look like AA:BB:CC:DD:EE:FF (got {value!r})")
    return mac


def _language(value: Any) -> str:
    language = str(value or "en").strip().lower()
    if language not in LANGUAGES:
        raise InvalidInput("language must be en or sw")
    return language


def paid_until(day: str, tz: ZoneInfo) -> datetime:
    """The end of a local day `YYYY-MM-DD` (paid through it: the next midnight, site time)."""
    try:
        date = datetime.strptime(str(day).strip(), "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput(f"paid until must be a date like 2027-01-03 (got {day!r})") from None
    return datetime.combine(date + timedelta(days=1), time(0), tz).astimezone(ZoneInfo("UTC"))


def get_subscriber(ref: object) -> Subscriber:
    """A subscriber by id, account number or username."""
    text = str(ref).strip()
    found = None
    if text.isdigit() and len(text) <= 18:
        found = Subscriber.get_or_none(Subscriber.id == int(text))
    if found is None:
        found = Subscriber.get_or_none((Subscriber.account == text) | (Subscriber.username == text))
    if found is None:
        raise NotFound(f"no subscriber {text}")
    return found


def add_subscriber(*, name: str, phone: str | None, package_id: object, now: datetime, by: Actor,
                   username: str | None = None, password: str | None = None, static_ip: str | None = None,
                   mac: str | None = None, language: str = "en", period_end: datetime | None = None) -> Subscriber:
    """A new subscriber with a new account number; `subscriber.created`. They owe their
    first period unless `period_end` (paid until) is given."""
    plan = get_package(package_id, service=PPPOE)
    name, language = _name(name), _language(language)
    phone = normalise_phone(phone) if phone else None
    password = check_password(password) if password else new_password()
    static_ip, mac = _static_ip(static_ip), _mac(mac)
    given = check_username(username.strip()) if username else None
    end = max(period_end, now) if period_end else now
    for _ in range(ACCOUNT_DRAWS):
        account = new_account()
        try:
            with write_transaction():
                sub = Subscriber.create(name=name, phone=phone, account=account, username=given or account,
                                        password=password, package=plan, static_ip=static_ip, mac=mac,
                                        language=language, period_start=now, period_end=end, created_at=now,
                                        updated_at=now, status="active")
                events.emit("subscriber.created", {
                    "subscriber_id": sub.id, "account": account, "username": sub.username, "name": name,
                    "phone": phone or "", "package_id": plan.id, "package": plan.name, "period_end": iso(end)}, now)
                audit.record(by, "subscriber.add", f"subscriber {sub.id} ({name})", now, account=account)
                return sub
        except peewee.IntegrityError as exc:
            text = str(exc)
            if "username" in text:
                raise Conflict(f"the username {given or account} is taken") from None
            if "static_ip" in text:
                raise Conflict(f"{static_ip} is another subscriber's static address") from None
            continue  # the account number was drawn before: draw again
    raise StorageUnavailable("no free account number: too many subscribers for 6 digits")


def update_subscriber(ref: object, changes: dict[str, Any], now: datetime, *, by: Actor) -> Subscriber:
    """Change what the operator may change; the next login uses it (a new plan's rate, a
    new password, a new bound MAC). The account number and the paid period stay."""
    sub = get_subscriber(ref)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(f"unknown subscriber field(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "name":
            values["name"] = _name(value)
        elif key == "phone":
            values["phone"] = normalise_phone(value) if value else None
        elif key == "package_id":
            values["package"] = get_package(value, service=PPPOE).id
        elif key == "static_ip":
            values["static_ip"] = _static_ip(value)
        elif key == "mac":
            values["mac"] = _mac(value)
        elif key == "language":
            values["language"] = _language(value)
        elif key == "username":
            values["username"] = check_username(str(value or "").strip()) if value != sub.username else value
        elif key == "password":
            values["password"] = check_password(str(value or ""))
    try:
        with write_transaction():
            Subscriber.update(values, updated_at=now).where(Subscriber.id == sub.id).execute()
            audit.record(by, "subscriber.edit", f"subscriber {sub.id} ({sub.name})", now,
                         changed=sorted(key for key in changes if key != "password") +
                         (["password"] if "password" in changes else []))
    except peewee.IntegrityError as exc:
        raise Conflict("that username or static address belongs to another subscriber") from exc
    return Subscriber.get_by_id(sub.id)


def online_sessions(subscriber_id: int) -> list[Session]:
    """The subscriber's sessions open at a router, as RADIUS accounting reports them."""
    return list(Session.select().where((Session.subscriber == subscriber_id) & (Session.status == "open"))
                .order_by(Session.id.desc()))


def subscriber_dict(sub: Subscriber, now: datetime, grace_s: float, *, full_phone: bool = False) -> dict[str, Any]:
    """A subscriber as the console and the command line show them (never the password)."""
    plan = sub.package
    state = standing(sub.period_end.timestamp(), sub.held, now.timestamp(), grace_s)
    sessions = online_sessions(sub.id)
    price_cents = plan.price * 100
    return {
        "id": sub.id, "name": sub.name, "phone": (sub.phone or "") if full_phone else mask(sub.phone),
        "account": sub.account, "username": sub.username, "package_id": plan.id, "package": plan.name,
        "rate": plan.rate_limit, "price": plan.price, "static_ip": sub.static_ip, "mac": sub.mac,
        "language": sub.language, "period_start": iso(sub.period_start), "period_end": iso(sub.period_end),
        "status": state, "recorded_status": sub.status, "held": bool(sub.held), "hold_reason": sub.hold_reason,
        "suspended_at": iso(sub.suspended_at) if sub.suspended_at else None,
        "balance": events.money(sub.balance_cents / 100),
        "owed": events.money(max(0, price_cents - sub.balance_cents) / 100),
        "last_payment_at": iso(sub.last_payment_at) if sub.last_payment_at else None,
        "online": bool(sessions), "ip": sessions[0].ip if sessions else None,
        "created_at": iso(sub.created_at),
    }


def list_subscribers(now: datetime, grace_s: float, *, q: str | None = None, status: str | None = None,
                     limit: int = 1000) -> list[dict[str, Any]]:
    """Subscribers, newest first; `q` matches a name, account, username, phone (its last
    digits) or address; `status` active | grace | suspended."""
    query = Subscriber.select().order_by(Subscriber.id.desc())
    if q:
        text = str(q).strip()[:64]
        query = query.where(Subscriber.name.contains(text) | (Subscriber.account == text)
                            | (Subscriber.username == text) | Subscriber.phone.endswith(text)
                            | (Subscriber.static_ip == text))
    rows = [subscriber_dict(sub, now, grace_s) for sub in query.limit(limit)]
    return [row for row in rows if status is None or row["status"] == status]


HELD = "suspended by the operator"


def redial(subscriber_id: int, reason: str, now: datetime) -> list[int]:
    """Ask the router to end the subscriber's open sessions (Disconnect-Request) so the CPE
    dials again and gets what the subscriber is now due: CoA cannot move a session to
    another pool or address (docs/protocols.md §8.5). Inside a write transaction."""
    return disconnect_later([s.id for s in online_sessions(subscriber_id)], reason, now)


def suspend(ref: object, reason: str, now: datetime, *, by: Actor) -> Subscriber:
    """The operator suspends a subscriber, whatever they paid: `subscriber.suspended`, and
    their session ends so the CPE redials into the suspended pool."""
    reason = str(reason or "").strip()[:200] or HELD
    with write_transaction():
        sub = get_subscriber(ref)
        if sub.held:
            raise Conflict(f"subscriber {sub.id} is suspended already")
        Subscriber.update(held=True, hold_reason=reason, status=SUSPENDED, suspended_at=now, updated_at=now).where(
            Subscriber.id == sub.id).execute()
        events.emit("subscriber.suspended", {"subscriber_id": sub.id, "account": sub.account, "reason": reason,
                                             "by": by.username, "period_end": iso(sub.period_end)}, now)
        audit.record(by, "subscriber.suspend", f"subscriber {sub.id} ({sub.name})", now, reason=reason)
        redial(sub.id, "suspended by the operator", now)
    return Subscriber.get_by_id(sub.id)


def resume(ref: object, now: datetime, grace_s: float, *, by: Actor) -> Subscriber:
    """The operator lifts their suspension. A subscriber whose period is paid is back on
    the plan (`subscriber.resumed`; the session ends so the CPE redials into it); one who
    owes stays suspended until they pay (the answer's status says so)."""
    with write_transaction():
        sub = get_subscriber(ref)
        if not sub.held:
            raise Conflict(f"subscriber {sub.id} was not suspended by the operator")
        state = standing(sub.period_end.timestamp(), False, now.timestamp(), grace_s)
        on_plan = state in (ACTIVE, GRACE)
        Subscriber.update(held=False, hold_reason=None, updated_at=now,
                          **({"status": "active", "suspended_at": None} if on_plan else {})).where(
            Subscriber.id == sub.id).execute()
        audit.record(by, "subscriber.resume", f"subscriber {sub.id} ({sub.name})", now, paid=on_plan)
        if on_plan:
            events.emit("subscriber.resumed", {"subscriber_id": sub.id, "account": sub.account, "by": by.username,
                                               "period_end": iso(sub.period_end)}, now)
            redial(sub.id, "resumed by the operator", now)
    return Subscriber.get_by_id(sub.id)
