"""The reconciler: the record says what is unfinished; this finds it.

The queue only speeds things up. A crash between a commit and its enqueue, a task lost
with a killed worker, a callback that never came: each leaves a state in the database
that this pass turns back into work. Expiry of subscriptions happens here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..billing import c2b, initiator_requests, subscriptions
from ..billing.payments import PaymentStatus
from ..billing.subscriptions import SubscriptionStatus
from ..config import Config
from ..store.db import write_transaction
from ..store.models import Payment, Subscription

BATCH = 500
# A subscription whose provisioning was tried this recently still has its task's own
# retries running (5+15+30+60+120 s); the reconciler sends it again only after them.
PROVISION_QUIET = timedelta(seconds=300)
REFUND_QUIET = timedelta(seconds=300)  # past the send task's own retries (10+30+60 s)


@dataclass
class Plan:
    apply: list[int] = field(default_factory=list)
    check: list[int] = field(default_factory=list)
    provision: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    refunds: list[int] = field(default_factory=list)


def run_once(now: datetime, config: Config, *, frame_known: bool = True) -> Plan:
    """Expire what is due and return the work to enqueue (every task is idempotent).

    While the clock's frame is unknown (a boot at a stale time: `plumbing.clock`), nothing
    is judged by the time: no expiry, no queries, no payments applied; provisioning goes on."""
    plan = Plan()
    if frame_known:
        with write_transaction():
            plan.expired = subscriptions.expire_due(now)
            c2b.expire_offers(now, config.mpesa.paybill_valid_for)  # Paybill offers nobody paid
    plan.provision = _unprovisioned(now)
    if not frame_known:
        return plan
    plan.apply = [p.id for p in Payment.select(Payment.id).where(Payment.status == PaymentStatus.RECEIVED).limit(BATCH)]
    query_after = timedelta(seconds=config.mpesa.query_after)
    cutoff = now - query_after
    plan.check = [p.id for p in Payment.select(Payment.id).where(
        (Payment.status == PaymentStatus.PENDING) & (Payment.method == "stk") & (Payment.created_at <= cutoff)
        & (Payment.queried_at.is_null() | (Payment.queried_at <= cutoff))
    ).order_by(Payment.created_at).limit(BATCH)]
    return plan


def _unprovisioned(now: datetime) -> list[int]:
    return [s.id for s in Subscription.select(Subscription.id).where(
        (Subscription.status == SubscriptionStatus.ACTIVE) & Subscription.provisioned_at.is_null()
        & (Subscription.provision_tried_at.is_null() | (Subscription.provision_tried_at <= now - PROVISION_QUIET))
    ).limit(BATCH)]
    # Refunds recorded but never handed to Daraja (their task was lost): send them again.
    plan.refunds = initiator_requests.due_to_send(initiator_requests.RequestKind.REVERSAL, now - REFUND_QUIET)
    return plan
