"""The month's end for home subscribers: reminders before it, suspension after it.

`tick(now, terms)` is one pass of the worker (every `[queue] reconcile_interval`):

1. Subscribers past their period and the grace are recorded suspended
   (`subscriber.suspended`, reason `unpaid`) and their session ends, so the CPE redials and
   RADIUS puts it in the suspended pool (or refuses it, when the operator cuts them off).
   RADIUS does not wait for this pass: it judges by the period itself, and the plan's
   Session-Timeout already ends the session at the period's end.
2. Reminders: `reminder_days` before the period ends, and on its last day, each once per
   subscriber, period and kind (`subscriber_reminder`, unique), in the subscriber's
   language, never at night (21:00-08:00 site time: they wait for the morning).

The texts are returned (and recorded) for the SMS outbox to send: `tick` takes a `send`
hook (the worker's queues them in `sms_message`, kind `reminder`, once each).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

import peewee

from .. import events
from ..store.db import write_transaction
from ..store.models import Subscriber, SubscriberReminder, iso
from .access import SUSPENDED
from .subscribers import redial

log = logging.getLogger(__name__)

BEFORE, DUE = "before", "due"
MORNING, EVENING = 8, 21  # reminders go between these local hours
BATCH = 500

_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "sw": ("Januari", "Februari", "Machi", "Aprili", "Mei", "Juni", "Julai", "Agosti", "Septemba", "Oktoba",
           "Novemba", "Desemba"),
}
_TEXTS = {
    ("en", BEFORE): "Hi {name}, your home internet ({plan}) ends on {date}. Pay KES {owed} to Paybill {paybill}, "
                    "account {account}, to stay online.",
    ("en", DUE): "Hi {name}, your home internet ({plan}) ends today, {date}. Pay KES {owed} to Paybill {paybill}, "
                 "account {account}, to stay online.",
    ("sw", BEFORE): "Habari {name}, intaneti yako ya nyumbani ({plan}) itaisha tarehe {date}. Lipa KES {owed} kwa "
                    "Paybill {paybill}, akaunti {account}, ili uendelee kuwa mtandaoni.",
    ("sw", DUE): "Habari {name}, intaneti yako ya nyumbani ({plan}) inaisha leo, tarehe {date}. Lipa KES {owed} kwa "
                 "Paybill {paybill}, akaunti {account}, ili uendelee kuwa mtandaoni.",
}


@dataclass(frozen=True)
class Terms:
    """The site's choices the pass needs (from `[pppoe]`, `[mpesa]`, `[site]`)."""

    grace_s: float = 0.0
    reminder_days: int = 3
    timezone: str = "Africa/Nairobi"
    paybill: str = ""

    @classmethod
    def of(cls, config) -> Terms:
        return cls(grace_s=config.pppoe.grace_hours * 3600.0, reminder_days=config.pppoe.reminder_days,
                   timezone=config.site.timezone, paybill=config.mpesa.paybill or config.mpesa.shortcode)


@dataclass(frozen=True)
class Reminder:
    subscriber_id: int
    kind: str  # before | due
    period_end: datetime
    phone: str | None
    language: str
    text: str


@dataclass
class Pass:
    suspended: list[int]
    reminders: list[Reminder]


def last_day(period_end: datetime, tz: ZoneInfo) -> datetime:
    """The local day a period's last moment falls on (a period paid "until 3 January" ends
    at midnight, so its last day is the 3rd), as that day's local midnight."""
    day = (period_end - timedelta(microseconds=1)).astimezone(tz).date()
    return datetime.combine(day, time(0), tz)


def day_text(when: datetime, language: str) -> str:
    """`3 January` / `3 Januari`."""
    return f"{when.day} {_MONTHS.get(language, _MONTHS['en'])[when.month - 1]}"


def reminder_text(kind: str, sub: Subscriber, terms: Terms) -> str:
    tz = ZoneInfo(terms.timezone)
    plan = sub.package
    owed = max(0, plan.price * 100 - sub.balance_cents) / 100
    language = sub.language if (sub.language, kind) in _TEXTS else "en"
    return _TEXTS[(language, kind)].format(
        name=sub.name.split()[0], plan=plan.rate_limit and f"{plan.name}, {plan.rate_limit}" or plan.name,
        date=day_text(last_day(sub.period_end, tz), language), owed=f"{owed:,.0f}" if owed == int(owed) else f"{owed:,.2f}",
        paybill=terms.paybill, account=sub.account)


def _kind_due(sub: Subscriber, now: datetime, terms: Terms, tz: ZoneInfo) -> str | None:
    end = sub.period_end
    if now >= end + timedelta(days=1):
        return None  # long past: the please-pay page says it now
    if now >= last_day(end, tz):
        return DUE
    if terms.reminder_days and now >= end - timedelta(days=terms.reminder_days):
        return BEFORE
    return None


def due_reminders(now: datetime, terms: Terms) -> list[Reminder]:
    """The reminders to send now that were not sent before (not yet recorded)."""
    tz = ZoneInfo(terms.timezone)
    if not MORNING <= now.astimezone(tz).hour < EVENING:
        return []
    horizon = now + timedelta(days=max(terms.reminder_days, 1))
    found = []
    query = (Subscriber.select().where((Subscriber.held == False) & Subscriber.phone.is_null(False)  # noqa: E712
                                       & (Subscriber.period_end <= horizon)
                                       & (Subscriber.period_end > now - timedelta(days=1) - timedelta(
                                           seconds=terms.grace_s))).order_by(Subscriber.period_end))
    for sub in query.limit(BATCH):
        kind = _kind_due(sub, now, terms, tz)
        if kind is None or SubscriberReminder.select().where(
                (SubscriberReminder.subscriber == sub.id) & (SubscriberReminder.period_end == sub.period_end)
                & (SubscriberReminder.kind == kind)).exists():
            continue
        found.append(Reminder(sub.id, kind, sub.period_end, sub.phone, sub.language, reminder_text(kind, sub, terms)))
    return found


def record_reminders(reminders: list[Reminder], now: datetime) -> list[Reminder]:
    """Record reminders as sent; returns those recorded now (not by another pass before)."""
    recorded = []
    with write_transaction():
        for each in reminders:
            try:
                with SubscriberReminder._meta.database.atomic():
                    SubscriberReminder.create(subscriber=each.subscriber_id, period_end=each.period_end, kind=each.kind,
                                              phone=each.phone, language=each.language, text=each.text,
                                              created_at=now)
                recorded.append(each)
            except peewee.IntegrityError:
                continue
    return recorded


def suspend_due(now: datetime, grace_s: float) -> list[int]:
    """Record the subscribers past their period and grace as suspended; returns their ids."""
    cutoff = now - timedelta(seconds=grace_s)
    done = []
    with write_transaction():
        due = (Subscriber.select().where((Subscriber.status == "active") & (Subscriber.period_end <= cutoff))
               .limit(BATCH))
        for sub in due:
            Subscriber.update(status=SUSPENDED, suspended_at=now, updated_at=now).where(
                Subscriber.id == sub.id).execute()
            events.emit("subscriber.suspended", {"subscriber_id": sub.id, "account": sub.account, "reason": "unpaid",
                                                 "period_end": iso(sub.period_end)}, now)
            redial(sub.id, "period ended", now)
            done.append(sub.id)
    if done:
        log.info("%d home subscriber(s) suspended: their period ended", len(done))
    return done


def tick(now: datetime, terms: Terms, send: Callable[[list[Reminder]], None] | None = None) -> Pass:
    """One month-end pass (see the module's docstring)."""
    suspended = suspend_due(now, terms.grace_s)
    reminders = record_reminders(due_reminders(now, terms), now)
    if reminders:
        if send is not None:
            send(reminders)
        else:
            log.info("%d reminder(s) due to home subscribers (recorded)", len(reminders))
    return Pass(suspended, reminders)
