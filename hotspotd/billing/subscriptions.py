"""Subscriptions: granting access for a package, stacking purchases, expiring them, and
which subscription a customer is on right now.

Stacking rule (what a customer who buys twice expects): every purchase adds its full
duration. Buying the package that runs last extends it (and adds its data cap); buying a
different package queues it after what is already bought, so each period keeps its own
speed. Access never starts in the past and never overlaps.

"Current" is defined once, here (`current`, `in_use`), and read by RADIUS from its
in-memory view, by accounting from the store, and by the reports alike.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Iterable, Protocol, TypeVar

import peewee

from .. import events
from ..store.db import db
from ..store.models import Subscription, from_db_time, iso, to_db_time

class SubscriptionStatus(StrEnum):
    ACTIVE = "active"  # paid for; in use when its period contains now, queued before it starts
    EXPIRED = "expired"  # its period has passed and the reconciler marked it


class Period(Protocol):
    """What deciding "current" needs of a subscription (a row, or the RADIUS view's tuple).
    `starts_at`/`ends_at` and the `now` compared with them share one type (datetime or
    POSIX seconds)."""

    id: int
    status: str
    starts_at: object
    ends_at: object
    data_limit: int | None
    bytes_used: int


P = TypeVar("P", bound=Period)


_ACTIVE = SubscriptionStatus.ACTIVE.value  # a plain str: this runs for every RADIUS login


def _soonest_end(subscription: Period) -> tuple:
    return subscription.ends_at, subscription.id


def current(subscriptions: Iterable[P], now: object) -> list[P]:
    """Active subscriptions whose period contains `now`, soonest end first."""
    found = [s for s in subscriptions if s.status == _ACTIVE and s.starts_at <= now < s.ends_at]
    if len(found) > 1:  # mostly one: no sort (this runs for every RADIUS login)
        found.sort(key=_soonest_end)
    return found


def has_data(subscription: Period) -> bool:
    return subscription.data_limit is None or subscription.bytes_used < subscription.data_limit


def in_use(subscriptions: Iterable[P], now: object) -> P | None:
    """The subscription a login runs on now: the first current one with data left, else the
    first current one (used up), else None."""
    found = current(subscriptions, now)
    return next((s for s in found if has_data(s)), found[0] if found else None)


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
    subscription_id: int
    starts_at: datetime
    ends_at: datetime
    username: str
    password: str
    extended: bool


class Sellable(Protocol):
    """What granting needs to know of a package (a Package row, or a plain tuple of it)."""

    id: int
    name: str
    duration_s: int
    data_limit: int | None


# Plain SQL: granting runs once per payment in a burst, and the ORM's query building
# costs several times the queries themselves (see bench/callback_bench.py).
_NEW_CUSTOMER = 'INSERT INTO "customer" ("phone", "created_at") VALUES (?, ?)'
_CREDENTIAL = 'SELECT "username", "password" FROM "credential" WHERE "customer_id" = ?'
_NEW_CREDENTIAL = ('INSERT INTO "credential" ("customer_id", "username", "password", "created_at") '
                   'VALUES (?, ?, ?, ?)')
# The end of what a customer has bought: the active subscription that ends last.
_CHAIN_END = ('SELECT "id", "package_id", "starts_at", "ends_at", "data_limit" FROM "subscription" '
              'WHERE "customer_id" = ? AND "status" = \'active\' AND "ends_at" > ? ORDER BY "ends_at" DESC LIMIT 1')
_EXTEND = ('UPDATE "subscription" SET "ends_at" = ?, "data_limit" = ?, "mac" = COALESCE(?, "mac"), '
           '"updated_at" = ?, "provisioned_at" = NULL WHERE "id" = ?')
_NEW_SUBSCRIPTION = ('INSERT INTO "subscription" ("customer_id", "package_id", "status", "starts_at", "ends_at", '
                     '"data_limit", "bytes_used", "mac", "created_at", "updated_at") '
                     'VALUES (?, ?, \'active\', ?, ?, ?, 0, ?, ?, ?)')


def new_customer(phone: str | None, now: datetime) -> int:
    """A new account, known by the phone that paid for it (None: a voucher or a trial)."""
    return db.execute_sql(_NEW_CUSTOMER, (phone, to_db_time(now))).lastrowid


def credential_for(customer_id: int, now: datetime) -> tuple[str, str]:
    """(username, password) of the customer, issued on first need."""
    row = db.execute_sql(_CREDENTIAL, (customer_id,)).fetchone()
    if row:
        return row[0], row[1]
    while True:
        username, password = new_username(), new_password()
        try:
            db.execute_sql(_NEW_CREDENTIAL, (customer_id, username, password, to_db_time(now)))
            return username, password
        except peewee.IntegrityError:  # the username was taken: draw again
            continue


def grant(customer_id: int, package: Sellable, now: datetime, *, mac: str | None = None,
          source: dict | None = None) -> Grant:
    """Give the customer one period of `package`; write the event. Inside a write transaction."""
    username, password = credential_for(customer_id, now)
    mac = mac.upper() if mac else None
    at = to_db_time(now)
    data = {"customer_id": customer_id, "package_id": package.id, "package": package.name,
            "username": username, **(source or {})}
    last = db.execute_sql(_CHAIN_END, (customer_id, at)).fetchone()
    if last is not None and last[1] == package.id:
        sub_id, _, starts_text, ends_text, data_limit = last
        ends = from_db_time(ends_text) + timedelta(seconds=package.duration_s)
        if data_limit is not None and package.data_limit is not None:
            data_limit += package.data_limit
        db.execute_sql(_EXTEND, (to_db_time(ends), data_limit, mac, at, sub_id))
        events.emit("subscription.extended", {"subscription_id": sub_id, "ends_at": iso(ends), **data}, now)
        return Grant(sub_id, from_db_time(starts_text), ends, username, password, extended=True)
    starts, ends = stack(from_db_time(last[3]) if last else None, now, package.duration_s)
    sub_id = db.execute_sql(_NEW_SUBSCRIPTION, (customer_id, package.id, to_db_time(starts), to_db_time(ends),
                                                package.data_limit, mac, at, at)).lastrowid
    events.emit("subscription.created", {"subscription_id": sub_id, "starts_at": iso(starts),
                                         "ends_at": iso(ends), **data}, now)
    return Grant(sub_id, starts, ends, username, password, extended=False)


def not_ended(*, customer_id: int | None = None, mac: str | None = None, now: datetime) -> list[Subscription]:
    """Active subscriptions of a customer (or bound to a device MAC) that have not ended:
    what `current` and `in_use` choose from."""
    where = (Subscription.status == SubscriptionStatus.ACTIVE) & (Subscription.ends_at > now)
    where &= (Subscription.customer == customer_id) if customer_id is not None else (Subscription.mac == mac)
    return list(Subscription.select().where(where))


def expire_due(now: datetime, limit: int = 500) -> list[int]:
    """Mark subscriptions whose time has passed as expired, one event each. In a write transaction."""
    due = list(
        Subscription.select()
        .where((Subscription.status == SubscriptionStatus.ACTIVE) & (Subscription.ends_at <= now))
        .order_by(Subscription.ends_at).limit(limit)
    )
    for subscription in due:
        subscription.status = SubscriptionStatus.EXPIRED
        subscription.expired_at = now
        subscription.updated_at = now
        subscription.save()
        events.emit("subscription.expired", {"subscription_id": subscription.id,
                                             "customer_id": subscription.customer_id,
                                             "ends_at": iso(subscription.ends_at)}, now)
    return [s.id for s in due]
