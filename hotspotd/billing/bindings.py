"""The devices an account's credentials work on.

A password works only on the devices its package admits: the device that paid or redeemed
(when a router confirmed which device that was), devices added by "already paid?", and,
while the package has free device slots, the first devices that log in with it (RADIUS
binds them as it accepts them). A device beyond that is refused even when the others are
offline, so a shared or stolen password is not as good as the customer's own phone. A
one-device package moves to a new device only through "already paid?" (the M-Pesa code
and the phone number, typed on the new device): the old device loses it.

A trial is bound to its device when it starts; a voucher or a payment from a device no
router could confirm binds nobody, and its first login takes the slot.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import peewee

from ..mac import normalize_mac
from ..store.db import db, write_transaction
from ..store.models import DeviceBinding, to_db_time


class BoundBy(StrEnum):
    PAID = "paid"
    REDEEMED = "redeemed"
    RESTORED = "restored"  # "already paid?" on this device
    FIRST_LOGIN = "first login"
    TRIAL = "trial"


_BOUND = 'SELECT "mac" FROM "device_binding" WHERE "customer_id" = ? ORDER BY "id"'
_BIND = ('INSERT INTO "device_binding" ("customer_id", "mac", "how", "created_at") VALUES (?, ?, ?, ?) '
         'ON CONFLICT ("customer_id", "mac") DO NOTHING')
# The account a device bought with last (its own), newest binding first.
_OWN = ('SELECT "customer_id" FROM "device_binding" WHERE "mac" = ? AND "how" != \'first login\' '
        'ORDER BY "id" DESC LIMIT 1')
_ANY = 'SELECT "customer_id" FROM "device_binding" WHERE "mac" = ? ORDER BY "id" DESC'


def bound(customer_id: int) -> list[str]:
    """The account's devices, oldest first."""
    return [row[0] for row in db.execute_sql(_BOUND, (customer_id,)).fetchall()]


def bind(customer_id: int, mac: str, how: BoundBy, now: datetime, *, allowed: int | None = None) -> bool:
    """Let `mac` use the account (again: nothing changes). With `allowed`, only while the
    account has fewer devices than that; False when it has no slot left. Inside a write
    transaction (the count and the insert must see the same rows)."""
    mac = normalize_mac(mac) or ""
    if not mac:
        return False
    devices = bound(customer_id)
    if mac in devices:
        return True
    if allowed is not None and len(devices) >= allowed:
        return False
    db.execute_sql(_BIND, (customer_id, mac, str(how), to_db_time(now)))
    return True


def bind_at_login(customer_id: int, mac: str, allowed: int, now: datetime) -> bool:
    """RADIUS: a device logging in while the account has a free slot takes it, durably,
    before it is accepted (two RADIUS processes cannot both give away the last slot)."""
    try:
        with write_transaction():
            return bind(customer_id, mac, BoundBy.FIRST_LOGIN, now, allowed=allowed)
    except peewee.IntegrityError:  # the same device at once through two processes
        return normalize_mac(mac) in bound(customer_id)


def move(customer_id: int, mac: str, how: BoundBy, now: datetime, *, allowed: int,
         keep: frozenset[str] = frozenset()) -> list[str]:
    """Give `mac` a slot, taking it from the account's oldest device (not one in `keep`,
    while there are others) when none is free; returns the devices that lost theirs.
    Inside a write transaction."""
    mac = normalize_mac(mac) or ""
    devices = bound(customer_id)
    if mac in devices:
        return []
    spare = [d for d in devices if d not in keep] + [d for d in devices if d in keep]
    gone = spare[: max(0, len(devices) - allowed + 1)]
    if gone:
        DeviceBinding.delete().where((DeviceBinding.customer == customer_id) & DeviceBinding.mac.in_(gone)).execute()
    bind(customer_id, mac, how, now)
    return gone


def own_account(mac: str | None) -> int | None:
    """The account this device bought (paid, redeemed, restored or trial) most recently:
    where its purchases go, so it keeps its username."""
    mac = normalize_mac(mac)
    if not mac:
        return None
    row = db.execute_sql(_OWN, (mac,)).fetchone()
    return row[0] if row else None


def accounts_of(mac: str | None) -> list[int]:
    """Every account this device may use, newest binding first."""
    mac = normalize_mac(mac)
    return [row[0] for row in db.execute_sql(_ANY, (mac,)).fetchall()] if mac else []
