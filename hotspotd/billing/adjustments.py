"""What an operator changes by hand on a customer's access, each audited.

- `extend`: more time on a subscription (a goodwill hour, a payment that went astray).
  Subscriptions queued after it move later by as much, so periods never overlap.
- `suspend` / `resume`: a customer's active subscriptions stop counting for logins (RADIUS
  refuses them, and the caller asks for their sessions to be cut off), then count again.
  The clock keeps running while suspended.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..console import audit
from .. import events
from ..console.audit import Actor
from ..errors import Conflict, InvalidInput, NotFound
from ..store.db import write_transaction
from ..store.models import Credential, Session, Subscription, iso
from .subscriptions import SubscriptionStatus

SUSPENDED = "suspended"
MAX_EXTENSION = 90 * 86400


def extend(subscription_id: int, seconds: object, now: datetime, *, by: Actor, reason: str = "",
           payment_id: int | None = None) -> dict:
    """Add `seconds` to a subscription; returns its new {subscription_id, ends_at}."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 60 <= seconds <= MAX_EXTENSION:
        raise InvalidInput("extend by at least a minute and at most 90 days")
    reason = (reason or "").strip()[:200]
    with write_transaction():
        sub = Subscription.get_or_none(Subscription.id == subscription_id)
        if sub is None:
            raise NotFound(f"no subscription {subscription_id}")
        if sub.status == SUSPENDED:
            raise Conflict("this customer is suspended: resume first")
        old_end = sub.ends_at
        # An ended period restarts from now rather than giving back time already past.
        new_end = max(old_end, now) + timedelta(seconds=seconds)
        shift = new_end - old_end
        later = Subscription.select().where((Subscription.customer == sub.customer_id) & (Subscription.id != sub.id)
                                            & (Subscription.status == SubscriptionStatus.ACTIVE)
                                            & (Subscription.starts_at >= old_end))
        for queued in later:
            Subscription.update(starts_at=queued.starts_at + shift, ends_at=queued.ends_at + shift,
                                updated_at=now).where(Subscription.id == queued.id).execute()
        starts = sub.starts_at if old_end > now else now
        Subscription.update(status=SubscriptionStatus.ACTIVE, starts_at=starts, ends_at=new_end, expired_at=None,
                            updated_at=now, provisioned_at=None).where(Subscription.id == sub.id).execute()
        credential = Credential.get_or_none(Credential.customer == sub.customer_id)
        events.emit("subscription.extended", {
            "subscription_id": sub.id, "ends_at": iso(new_end), "customer_id": sub.customer_id,
            "package_id": sub.package_id, "package": sub.package.name,
            "username": credential.username if credential else None, "by": by.username}, now)
        audit.record(by, "subscription.extend", f"subscription {sub.id}", now, subscription_id=sub.id,
                     customer_id=sub.customer_id, payment_id=payment_id, seconds=seconds, reason=reason,
                     ends_at=iso(new_end))
    return {"subscription_id": sub.id, "ends_at": iso(new_end)}


def _open_sessions(customer_id: int) -> list[int]:
    credential = Credential.get_or_none(Credential.customer == customer_id)
    if credential is None:
        return []
    return [s.id for s in Session.select(Session.id).where((Session.username == credential.username)
                                                           & (Session.status == "open"))]


def suspend(customer_id: int, now: datetime, *, by: Actor, reason: str = "") -> list[int]:
    """Suspend a customer's access; returns their open sessions (to be cut off)."""
    with write_transaction():
        count = Subscription.update(status=SUSPENDED, updated_at=now).where(
            (Subscription.customer == customer_id) & (Subscription.status == SubscriptionStatus.ACTIVE)
            & (Subscription.ends_at > now)).execute()
        if not count:
            raise Conflict("this customer has no access to suspend")
        audit.record(by, "customer.suspend", f"customer {customer_id}", now, customer_id=customer_id,
                     reason=(reason or "").strip()[:200], subscriptions=count)
    return _open_sessions(customer_id)


def resume(customer_id: int, now: datetime, *, by: Actor) -> int:
    """Give a suspended customer their access back (what is left of it)."""
    with write_transaction():
        count = Subscription.update(status=SubscriptionStatus.ACTIVE, updated_at=now).where(
            (Subscription.customer == customer_id) & (Subscription.status == SUSPENDED)).execute()
        if not count:
            raise Conflict("this customer is not suspended")
        audit.record(by, "customer.resume", f"customer {customer_id}", now, customer_id=customer_id,
                     subscriptions=count)
    return count
