"""Customers as the console looks them up: by phone, username or device MAC; what they
bought, the time and data they have left, their devices and sessions; and who is online.

Phone numbers are masked in everything returned here (`reveal_phone` is the one way to
the full number, and the console audits it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import phone as phones
from ..billing.history import payment_row
from ..billing.packages import format_data, format_duration
from ..billing.subscriptions import SubscriptionStatus, in_use
from ..billing.vouchers import printed_code
from ..errors import InvalidInput, NotFound
from ..mac import normalize_mac
from ..sessions import SessionStatus
from ..store.models import Credential, Customer, Package, Payment, Router, Session, Subscription, Voucher, iso

SESSIONS_SHOWN = 20
# How long the console waits for a router to confirm a disconnect before it says the
# router did not answer (one delivery round retransmits for 7 s: radius/disconnect.py).
DISCONNECT_DEADLINE = 15.0


def _t(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def _customer_ids(q: str) -> list[int] | None:
    """Customers matching `q` (a phone, a username, a MAC); None: no filter."""
    q = (q or "").strip()
    if not q:
        return None
    found: set[int] = set()
    try:
        number = phones.normalise(q)
    except InvalidInput:
        number = None
    if number:
        found |= {c.id for c in Customer.select(Customer.id).where(Customer.phone == number)}
    digits = q.replace(" ", "").lstrip("+")
    if digits.isdigit() and len(digits) >= 3:
        found |= {c.id for c in Customer.select(Customer.id).where(Customer.phone.endswith(digits))}
    found |= {c.customer_id for c in Credential.select(Credential.customer).where(
        Credential.username.startswith(q.lower()[:32]))}
    mac = normalize_mac(q)
    if mac:
        found |= {s.customer_id for s in Subscription.select(Subscription.customer).where(Subscription.mac == mac)}
        usernames = [s.username for s in Session.select(Session.username).where(Session.mac == mac).distinct()]
        found |= {c.customer_id for c in Credential.select(Credential.customer).where(
            Credential.username.in_(usernames))}
    return sorted(found)


def search(q: str, now: datetime, page: int = 1, per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    """Customers newest first (matching `q` when given), with what they are on now."""
    ids = _customer_ids(q)
    query = Customer.select()
    if ids is not None:
        query = query.where(Customer.id.in_(ids))
    total = query.count()
    rows = list(query.order_by(Customer.id.desc()).paginate(page, per_page))
    usernames = {c.customer_id: c.username for c in Credential.select().where(
        Credential.customer.in_([r.id for r in rows]))}
    out = []
    for customer in rows:
        subs = list(Subscription.select().where((Subscription.customer == customer.id)
                                                & (Subscription.ends_at > now)))
        current = in_use([s for s in subs if s.status == SubscriptionStatus.ACTIVE], now)
        username = usernames.get(customer.id)
        out.append({
            "id": customer.id, "phone": phones.mask(customer.phone), "username": username,
            "created_at": _t(customer.created_at),
            "package": current.package.name if current else None,
            "ends_at": _t(max((s.ends_at for s in subs if s.status == SubscriptionStatus.ACTIVE), default=None)),
            "suspended": any(s.status == "suspended" for s in subs),
            "online": Session.select().where((Session.username == username)
                                             & (Session.status == SessionStatus.OPEN)).count() if username else 0,
        })
    return out, total


def subscription_row(s: Subscription, now: datetime) -> dict[str, Any]:
    status = s.status
    if status == SubscriptionStatus.ACTIVE:
        status = "queued" if s.starts_at > now else "active" if s.ends_at > now else "ended"
    return {
        "id": s.id, "package_id": s.package_id, "package": s.package.name, "status": status,
        "starts_at": _t(s.starts_at), "ends_at": _t(s.ends_at),
        "seconds_left": max(0, int((s.ends_at - max(now, s.starts_at)).total_seconds())),
        "data_limit": s.data_limit, "bytes_used": s.bytes_used,
        "data_left": None if s.data_limit is None else max(0, s.data_limit - s.bytes_used),
        "data": format_data(s.data_limit), "mac": s.mac, "provisioned_at": _t(s.provisioned_at),
    }


def disconnect_state(s: Session, now: datetime) -> dict[str, Any] | None:
    """Where an asked-for disconnect stands: None (none asked for, or the session closed),
    else {requested_at, attempts, state: "waiting" | "no_answer", wait_s}: `no_answer` once
    a delivery round failed or DISCONNECT_DEADLINE passed with no answer from the router;
    `wait_s`, the seconds left until then."""
    if s.disconnect_requested_at is None or s.status != SessionStatus.OPEN:
        return None
    waited = (now - s.disconnect_requested_at).total_seconds()
    late = s.disconnect_attempts > 0 or waited >= DISCONNECT_DEADLINE
    return {"requested_at": _t(s.disconnect_requested_at), "attempts": s.disconnect_attempts,
            "reason": s.disconnect_reason, "state": "no_answer" if late else "waiting",
            "wait_s": 0.0 if late else round(DISCONNECT_DEADLINE - waited, 1)}


def session_row(s: Session, router_name: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    return {
        "id": s.id, "router_id": s.router_id, "router": router_name, "username": s.username, "mac": s.mac,
        "ip": s.ip, "status": s.status, "started_at": _t(s.started_at), "updated_at": _t(s.updated_at),
        "stopped_at": _t(s.stopped_at), "input_bytes": s.input_bytes, "output_bytes": s.output_bytes,
        "session_time": s.session_time, "terminate_cause": s.terminate_cause,
        "subscription_id": s.subscription_id,
        "disconnect_requested": s.disconnect_requested_at is not None and s.status == SessionStatus.OPEN,
        "disconnect": disconnect_state(s, now) if now is not None else None,
    }


def detail(customer_id: int, now: datetime) -> dict[str, Any]:
    customer = Customer.get_or_none(Customer.id == customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    credential = Credential.get_or_none(Credential.customer == customer.id)
    username = credential.username if credential else None
    subs = list(Subscription.select(Subscription, Package).join(Package)
                .where(Subscription.customer == customer.id).order_by(Subscription.starts_at.desc()))
    routers = {r.id: r.name for r in Router.select(Router.id, Router.name)}
    sessions = list(Session.select().where(Session.username == username).order_by(
        Session.status.desc(), Session.id.desc()).limit(SESSIONS_SHOWN)) if username else []
    payments = Payment.select(Payment, Package.name).join(Package).where(
        Payment.customer == customer.id).order_by(Payment.id.desc()).limit(50)
    vouchers = Voucher.select(Voucher, Package).join(Package).where(Voucher.customer == customer.id)
    devices = sorted({s.mac for s in sessions if s.mac} | {s.mac for s in subs if s.mac})
    current = in_use([s for s in subs if s.status == SubscriptionStatus.ACTIVE], now)
    return {
        "id": customer.id, "phone": phones.mask(customer.phone), "username": username,
        "created_at": _t(customer.created_at),
        "current": subscription_row(current, now) if current else None,
        "suspended": any(s.status == "suspended" for s in subs),
        "subscriptions": [subscription_row(s, now) for s in subs],
        "payments": [payment_row(p, p.package.name) for p in payments],
        "vouchers": [{"id": v.id, "code": v.code, "printed": printed_code(v.code), "package": v.package.name,
                      "price": v.package.price, "redeemed_at": _t(v.redeemed_at),
                      "validity": format_duration(v.package.duration_s)} for v in vouchers],
        "devices": devices,
        "sessions": [session_row(s, routers.get(s.router_id), now) for s in sessions],
    }


def credentials(customer_id: int) -> dict[str, str]:
    credential = Credential.get_or_none(Credential.customer == customer_id)
    if credential is None:
        raise NotFound("this customer has no login yet")
    return {"username": credential.username, "password": credential.password}


def reveal_phone(customer_id: int) -> str:
    customer = Customer.get_or_none(Customer.id == customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    return customer.phone or ""


def online(now: datetime, page: int = 1, per_page: int = 100) -> tuple[list[dict[str, Any]], int]:
    """Every open session (what RADIUS accounting says is online), newest first."""
    query = Session.select().where(Session.status == SessionStatus.OPEN)
    total = query.count()
    routers = {r.id: r.name for r in Router.select(Router.id, Router.name)}
    rows = list(query.order_by(Session.started_at.desc()).paginate(page, per_page))
    credentials_by_name = {c.username: c.customer_id for c in Credential.select().where(
        Credential.username.in_([s.username for s in rows]))}
    packages = {s.id: s.package.name for s in Subscription.select(Subscription, Package).join(Package).where(
        Subscription.id.in_([s.subscription_id for s in rows if s.subscription_id]))}
    return [{**session_row(s, routers.get(s.router_id), now), "customer_id": credentials_by_name.get(s.username),
             "package": packages.get(s.subscription_id)} for s in rows], total
