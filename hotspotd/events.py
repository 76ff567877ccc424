"""The event outbox: every state change writes an event in the same transaction.

The admin websocket, the central sync and the `event` table all carry the same
records; phone numbers are masked here, once, before anything is stored.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import phone as phones
from .store.db import db
from .store.models import Event, to_db_time

TYPES = frozenset({
    "payment.initiated", "payment.processed", "payment.failed",
    "payment.unmatched",  # money that matched no payment: an orphan callback, a Paybill with an unknown account
    "payment.restored",  # "already paid?" answered
    "payment.refund_requested", "payment.refunded", "payment.refund_failed",  # refunds (M-Pesa Reversal)
    "sms.sent", "sms.failed",  # texts to customers (receipts, logins)
    "subscription.created", "subscription.extended", "subscription.expired",
    "user.provisioned", "provisioning.failed",
    "router.online", "router.offline",
    "router.deploy.started", "router.deploy.progress", "router.deploy.completed", "router.deploy.failed",
    "router.sessions",  # devices joined or left a router's live sessions (hotspot, PPPoE)
    "session.started", "session.stopped", "session.disconnected",
    "voucher.redeemed", "system.mode_changed", "system.critical",
    "system.clock_stepped",  # the wall clock jumped; what it carried (hotspotd.plumbing.clock_steps)
    "admin.action",  # the audit log
    "alert.raised", "alert.cleared",
    "sync.completed", "sync.failed",
    "device.claim_refused",  # a portal request claimed a device the router says it is not (a sample)
    # home subscribers over PPPoE (hotspotd.pppoe)
    "subscriber.created", "subscriber.extended", "subscriber.suspended", "subscriber.resumed",
})

_PHONE_KEYS = ("phone", "msisdn", "phone_number")


def money(value: Decimal | int | float) -> int | float:
    """An amount as events carry it: a JSON number of shillings, whole when it is whole
    (every `amount` field of every event has this one type)."""
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


_INSERT = 'INSERT INTO "event" ("type", "at", "data") VALUES (?, ?, ?)'


def emit(type: str, data: dict[str, Any], now: datetime) -> int:
    """Write one event and return its id. Call it inside the transaction that makes the change."""
    if type not in TYPES:
        raise ValueError(f"unknown event type {type!r}")
    if db.transaction_depth() == 0:
        raise RuntimeError("emit() must run inside the transaction that makes the change")
    clean = {key: (phones.mask(value) if key in _PHONE_KEYS else value) for key, value in data.items()}
    # Plain SQL: this runs on every state change, and building it through the ORM
    # costs more than the insert itself.
    cursor = db.execute_sql(_INSERT, (type, to_db_time(now), json.dumps(clean, separators=(",", ":"), sort_keys=True)))
    return cursor.lastrowid


def as_message(event: Event) -> dict[str, Any]:
    """The wire form: {"id", "type", "at" (ISO-8601), "data"}."""
    return {"id": event.id, "type": event.type, "at": to_db_time(event.at), "data": event.data}


def since(last_id: int = 0, limit: int = 100, hidden: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Events after `last_id`, oldest first, leaving out the `hidden` types."""
    query = Event.select().where(Event.id > last_id)
    if hidden:
        query = query.where(Event.type.not_in(hidden))
    return [as_message(event) for event in query.order_by(Event.id).limit(limit)]


def latest(limit: int = 50, hidden: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The newest `limit` events, oldest first, leaving out the `hidden` types."""
    query = Event.select()
    if hidden:
        query = query.where(Event.type.not_in(hidden))
    return [as_message(event) for event in reversed(list(query.order_by(Event.id.desc()).limit(limit)))]


def of_types(types: tuple[str, ...], page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """Events of the given types, newest first: (one page, how many in all)."""
    query = Event.select().where(Event.type.in_(types))
    return [as_message(e) for e in query.order_by(Event.id.desc()).paginate(page, per_page)], query.count()
