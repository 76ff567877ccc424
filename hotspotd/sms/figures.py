"""The SMS outbox as the operator sees it: how many texts were sent, delivered and failed,
what they cost, and the texts themselves (numbers masked)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import phone as phones
from ..errors import InvalidInput
from ..store.db import db
from ..store.models import SmsMessage, iso, to_db_time

STATUSES = ("queued", "sending", "sent", "delivered", "failed")


def summary(since: datetime) -> dict[str, Any]:
    """Texts made since `since`: {queued, sending, sent, delivered, failed, waiting_for_number,
    cost: {currency: amount}} ("sent" counts those not yet reported delivered or failed)."""
    counts = {status: 0 for status in STATUSES}
    for status, count in db.execute_sql('SELECT "status", COUNT(*) FROM "sms_message" WHERE "created_at" >= ? '
                                        'GROUP BY "status"', (to_db_time(since),)).fetchall():
        counts[status] = count
    waiting = db.execute_sql('SELECT COUNT(*) FROM "sms_message" WHERE "status" = \'queued\' AND "to_phone" IS NULL '
                             'AND "created_at" >= ?', (to_db_time(since),)).fetchone()[0]
    cost: dict[str, Decimal] = defaultdict(Decimal)
    for (text,) in db.execute_sql('SELECT "cost" FROM "sms_message" WHERE "cost" IS NOT NULL AND "created_at" >= ?',
                                  (to_db_time(since),)).fetchall():
        currency, _, amount = text.strip().partition(" ")
        try:
            cost[currency] += Decimal(amount)
        except InvalidOperation:
            continue
    return {**counts, "waiting_for_number": waiting,
            "cost": {currency: float(amount) for currency, amount in sorted(cost.items())}}


def listed(page: int, per_page: int, status: str = "") -> tuple[list[dict[str, Any]], int]:
    """Texts, newest first: one page and how many in all."""
    query = SmsMessage.select()
    if status:
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        query = query.where(SmsMessage.status == status)
    total = query.count()

    def t(value: datetime | None) -> str | None:
        return None if value is None else iso(value)

    rows = query.order_by(SmsMessage.id.desc()).paginate(page, per_page)
    return [{"id": m.id, "kind": m.kind, "phone": phones.mask(m.to_phone), "lang": m.lang, "status": m.status,
             "gateway_status": m.gateway_status, "cost": m.cost, "attempts": m.attempts, "error": m.error,
             "customer_id": m.customer_id, "subscription_id": m.subscription_id, "created_at": t(m.created_at),
             "sent_at": t(m.sent_at), "delivered_at": t(m.delivered_at), "failed_at": t(m.failed_at)}
            for m in rows], total
