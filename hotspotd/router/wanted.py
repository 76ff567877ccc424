"""What an `api`-mode router should hold, read from the store: one hotspot user per
customer with access now (or queued next), standing for that subscription, and one
user profile per package those users are on.

A customer whose subscriptions have all ended, or whose data is used up, has no user.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, NamedTuple

from ..billing.packages import format_duration
from ..store.db import db, rows_for_ids
from ..store.models import from_db_time, to_db_time
from .hotspot_users import WantedProfile, WantedUser, profile_name


class _Row(NamedTuple):
    id: int
    customer_id: int
    starts_at: str
    ends_at: str
    data_limit: int | None
    bytes_used: int
    username: str
    password: str
    package_id: int
    package: str
    rate_limit: str
    devices: int


_SELECT = ('SELECT s."id", s."customer_id", s."starts_at", s."ends_at", s."data_limit", s."bytes_used", '
           'c."username", c."password", p."id", p."name", p."rate_limit", p."devices" '
           'FROM "subscription" s JOIN "credential" c ON c."customer_id" = s."customer_id" '
           'JOIN "package" p ON p."id" = s."package_id" '
           'WHERE s."status" = \'active\' AND s."ends_at" > ?')


def _pick(rows: list[_Row], now: str) -> _Row | None:
    """The subscription the user stands for: the current one with data left (soonest end
    first), else the next queued one with data left."""
    usable = [r for r in rows if r.data_limit is None or r.bytes_used < r.data_limit]
    current = sorted((r for r in usable if r.starts_at <= now), key=lambda r: (r.ends_at, r.id))
    if current:
        return current[0]
    upcoming = sorted(usable, key=lambda r: (r.starts_at, r.id))
    return upcoming[0] if upcoming else None


def _user(row: _Row) -> WantedUser:
    span = int((from_db_time(row.ends_at) - from_db_time(row.starts_at)).total_seconds())
    return WantedUser(row.id, row.username, row.password, profile_name(row.package_id), format_duration(span),
                      row.data_limit or 0)


def wanted(now: datetime, customer_ids: Iterable[int] | None = None) -> tuple[dict[str, WantedUser], list[WantedProfile], dict[int, str]]:
    """(users by name, profiles they need, username of every customer asked about) for
    `customer_ids` (every customer when None)."""
    at = to_db_time(now)
    if customer_ids is None:
        found = db.execute_sql(_SELECT, (at,)).fetchall()
    else:
        found = rows_for_ids(_SELECT + ' AND s."customer_id" IN ({ids})', customer_ids, (at,))
    rows = [_Row(*r) for r in found]
    by_customer: dict[int, list[_Row]] = {}
    for row in rows:
        by_customer.setdefault(row.customer_id, []).append(row)
    users: dict[str, WantedUser] = {}
    profiles: dict[str, WantedProfile] = {}
    for customer_rows in by_customer.values():
        chosen = _pick(customer_rows, at)
        if chosen is None:
            continue
        users[chosen.username] = _user(chosen)
        name = profile_name(chosen.package_id)
        profiles[name] = WantedProfile(name, chosen.rate_limit or "", chosen.devices, f"hotspotd: {chosen.package}")
    names = usernames(customer_ids) if customer_ids is not None else {}
    return users, sorted(profiles.values(), key=lambda p: p.name), names


def usernames(customer_ids: Iterable[int]) -> dict[int, str]:
    return dict(rows_for_ids('SELECT "customer_id", "username" FROM "credential" WHERE "customer_id" IN ({ids})',
                             customer_ids))


def customers_of(subscription_ids: Iterable[int]) -> dict[int, int]:
    """subscription id -> customer id."""
    return dict(rows_for_ids('SELECT "id", "customer_id" FROM "subscription" WHERE "id" IN ({ids})',
                             subscription_ids))
