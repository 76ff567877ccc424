"""Access granted, whichever way: a payment applied, a voucher redeemed, a free trial.

`grant()` writes what the record says, inside the caller's write transaction: the
subscription (stacked after what the account already has, `subscription.created` or
`.extended`), the credentials on first need, and the device that was granted it bound to
the account when a router confirmed which device that was. What follows after the commit
(provisioning at routers that keep users, logging the device in at its router) is
`hotspotd.plumbing.tasks.after_grant`, called by every path that grants, with the
`Granted` values this returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..devices import Asker
from . import bindings, subscriptions
from .bindings import BoundBy
from .subscriptions import Grant, Sellable


@dataclass(frozen=True)
class Granted:
    """What follows a grant needs: the subscription, and the device to log in (a verified
    device only: a claimed MAC is never logged in on someone's behalf)."""

    subscription_id: int
    mac: str | None = None
    ip: str | None = None
    payment_id: int | None = None


def grant(customer_id: int, package: Sellable, now: datetime, *, device: Asker | None, how: BoundBy,
          source: dict | None = None) -> tuple[Grant, Granted]:
    """One period of `package` for the account, and the device bound when verified.
    Inside a write transaction."""
    sure = device is not None and device.verified and device.mac
    done = subscriptions.grant(customer_id, package, now, mac=device.mac if sure else None, source=source)
    if sure:
        bindings.bind(customer_id, device.mac, how, now)
        return done, Granted(done.subscription_id, device.mac, device.ip)
    return done, Granted(done.subscription_id)


def device_of_payment(mac: str | None, ip: str | None, verified: bool) -> Asker | None:
    """The device a payment was made from, as its row remembers it."""
    if not verified or not mac:
        return None
    return Asker(address=ip, mac=mac, ip=ip, verified=True, how="payment")
