"""Plain rows for the command line and the admin API (phone numbers masked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from peewee import fn

from .. import phone as phones
from ..store.models import Credential, FailedTask, Payment, Router, Session, Subscription, to_db_time


def _t(value: datetime | None) -> str | None:
    return None if value is None else to_db_time(value)


def payments(limit: int = 50) -> list[dict[str, Any]]:
    query = Payment.select().order_by(Payment.id.desc()).limit(limit)
    return [{
        "id": p.id, "ref": p.ref, "created_at": _t(p.created_at), "phone": phones.mask(p.phone),
        "package": p.package.name, "amount": p.amount,
        "amount_paid": None if p.amount_paid is None else str(p.amount_paid), "status": p.status,
        "receipt": p.receipt, "reason": p.reason, "checkout_request_id": p.checkout_request_id,
        "subscription_id": p.subscription_id,
    } for p in query]


def subscriptions(limit: int, now: datetime) -> list[dict[str, Any]]:
    query = Subscription.select().order_by(Subscription.id.desc()).limit(limit)
    rows = []
    for s in query:
        credential = Credential.get_or_none(Credential.customer == s.customer_id)
        rows.append({
            "id": s.id, "username": credential.username if credential else None,
            "phone": phones.mask(s.customer.phone), "package": s.package.name,
            "starts_at": _t(s.starts_at), "ends_at": _t(s.ends_at),
            "status": s.status if s.status != "active" or s.starts_at <= now else "queued",
            "bytes_used": s.bytes_used, "data_limit": s.data_limit, "mac": s.mac,
        })
    return rows


def failed_tasks() -> list[dict[str, Any]]:
    query = FailedTask.select().where(FailedTask.retried_at.is_null()).order_by(FailedTask.id)
    return [{"id": f.id, "task": f.task, "args": f.args, "attempts": f.attempts,
             "failed_at": _t(f.failed_at), "error": f.error} for f in query]


def site_counts() -> dict[str, Any]:
    """The numbers an operator watches (for /metrics)."""
    from ..billing.payments import PaymentStatus
    from ..billing.subscriptions import SubscriptionStatus
    from ..sessions import SessionStatus

    by_status = dict(Payment.select(Payment.status, fn.COUNT(Payment.id)).group_by(Payment.status).tuples())
    return {
        "payments": {status.value: by_status.get(status.value, 0) for status in PaymentStatus},
        "subscriptions_active": Subscription.select().where(Subscription.status == SubscriptionStatus.ACTIVE).count(),
        "sessions_open": Session.select().where(Session.status == SessionStatus.OPEN).count(),
        "failed_tasks": FailedTask.select().where(FailedTask.retried_at.is_null()).count(),
    }


def router_counts() -> dict[str, int]:
    """Routers by status (online, offline, unknown)."""
    return dict(Router.select(Router.status, fn.COUNT(Router.id)).group_by(Router.status).tuples())
