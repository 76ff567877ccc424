"""Access granted, whichever way: a payment applied, a voucher redeemed, a free trial.

`grant()` writes what the record says, inside the caller's write transaction: the
subscription (stacked after what the account already has, `subscription.created` or
`.extended`), the credentials on first need, the device that was granted it bound to the
account when a router confirmed which device that was, and the receipt SMS (once per
grant: `sms.receipts`, keyed by what paid for it; a trial gets none). What follows after the commit
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
          source: dict | None = None, phone: str | None = None, lang: str | None = None) -> tuple[Grant, Granted]:
    """One period of `package` for the account, the device bound when verified, the receipt
    SMS queued (to `phone`, or the account's; a voucher's waits for a number typed). Inside
    a write transaction."""
    from ..sms import receipts  # the SMS outbox reads billing; only a grant writes to it

    sure = device is not None and device.verified and device.mac
    done = subscriptions.grant(customer_id, package, now, mac=device.mac if sure else None, source=source)
    key = next((f"{kind}:{source[f'{kind}_id']}" for kind in ("payment", "voucher") if f"{kind}_id" in (source or {})),
               None)
    if key is not None:
        receipts.queue_receipt(grant_key=key, customer_id=customer_id, subscription_id=done.subscription_id,
                               phone=phone, lang=lang, now=now)
    if sure:
        bindings.bind(customer_id, device.mac, how, now)
        return done, Granted(done.subscription_id, device.mac, device.ip)
    return done, Granted(done.subscription_id)


def device_of_payment(mac: str | None, ip: str | None, verified: bool) -> Asker | None:
    """The device a payment was made from, as its row remembers it."""
    if not verified or not mac:
        return None
    return Asker(address=ip, mac=mac, ip=ip, verified=True, how="payment")
