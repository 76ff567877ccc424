"""Subscriptions: granting access for a package, stacking purchases, expiring them.

Stacking rule (what a customer who buys twice expects): every purchase adds its full
duration. Buying the package that runs last extends it (and adds its data cap); buying a
different package queues it after what is already bought, so each period keeps its own
speed. Access never starts in the past and never overlaps.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from .. import events
from ..store.models import Credential, Customer, Package, Subscription

# No 0/O, 1/l/I: people read these off a phone screen or a printed slip.
_USER_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_password(length: int = 8) -> str:
    """A random password (8 characters from 55: ~46 bits), from the OS's secure source."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def new_username() -> str:
    return "u" + "".join(secrets.choice(_USER_ALPHABET) for _ in range(7))


def stack(chain_end: datetime | None, now: datetime, duration_s: int) -> tuple[datetime, datetime]:
    """Where a new period of `duration_s` goes: after what is already bought, never in the past."""
    starts = max(now, chain_end) if chain_end else now
    return starts, starts + timedelta(seconds=duration_s)


@dataclass(frozen=True)
class Grant:
    subscription: Subscription
    credential: Credential
    extended: bool


def find_or_create_customer(phone: str | None, now: datetime) -> Customer:
    if phone:
        customer = Customer.get_or_none(Customer.phone == phone)
        if customer:
            return customer
    return Customer.create(phone=phone, created_at=now)


def credential_for(customer: Customer, now: datetime) -> Credential:
    credential = Credential.get_or_none(Credential.customer == customer)
    if credential:
        return credential
    while True:
        username = new_username()
        if not Credential.select().where(Credential.username == username).exists():
            return Credential.create(customer=customer, username=username, password=new_password(), created_at=now)


def chain(customer: Customer, now: datetime) -> list[Subscription]:
    """The customer's active and queued subscriptions, in the order they run."""
    return list(
        Subscription.select()
        .where((Subscription.customer == customer) & (Subscription.status == "active") & (Subscription.ends_at > now))
        .order_by(Subscription.ends_at)
    )


def grant(customer: Customer, package: Package, now: datetime, *, mac: str | None = None,
          source: dict | None = None) -> Grant:
    """Give `customer` one period of `package`; write the event. Call inside a write transaction."""
    credential = credential_for(customer, now)
    current = chain(customer, now)
    last = current[-1] if current else None
    mac = mac.upper() if mac else None
    data = {"customer_id": customer.id, "package_id": package.id, "package": package.name,
            "username": credential.username, **(source or {})}
    if last is not None and last.package_id == package.id:
        last.ends_at = last.ends_at + timedelta(seconds=package.duration_s)
        if last.data_limit is not None and package.data_limit is not None:
            last.data_limit += package.data_limit
        last.mac = mac or last.mac
        last.updated_at = now
        last.provisioned_at = None  # the router must learn the new end
        last.save()
        events.emit("subscription.extended", {"subscription_id": last.id, "ends_at": _iso(last.ends_at), **data}, now)
        return Grant(last, credential, extended=True)
    starts, ends = stack(last.ends_at if last else None, now, package.duration_s)
    subscription = Subscription.create(
        customer=customer, package=package, status="active", starts_at=starts, ends_at=ends,
        data_limit=package.data_limit, bytes_used=0, mac=mac, created_at=now, updated_at=now,
    )
    events.emit("subscription.created", {"subscription_id": subscription.id, "starts_at": _iso(starts),
                                         "ends_at": _iso(ends), **data}, now)
    return Grant(subscription, credential, extended=False)


def expire_due(now: datetime, limit: int = 500) -> list[int]:
    """Mark subscriptions whose time has passed as expired, one event each. In a write transaction."""
    due = list(
        Subscription.select()
        .where((Subscription.status == "active") & (Subscription.ends_at <= now))
        .order_by(Subscription.ends_at).limit(limit)
    )
    for subscription in due:
        subscription.status = "expired"
        subscription.expired_at = now
        subscription.updated_at = now
        subscription.save()
        events.emit("subscription.expired", {"subscription_id": subscription.id,
                                             "customer_id": subscription.customer_id,
                                             "ends_at": _iso(subscription.ends_at)}, now)
    return [s.id for s in due]


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
