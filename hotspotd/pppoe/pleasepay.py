"""The "please pay" page's use cases: who is asking, what they owe, and paying now.

A suspended subscriber's CPE dials into the suspended pool; the router sends the web
traffic of that address to the portal (deploy's redirect). The address is all the request
says, and it is enough: the subscriber's open PPP session (RADIUS accounting) carries the
same Framed-IP-Address. So `who(address)` finds the subscriber, and `pay` sends the M-Pesa
prompt for what they owe to their phone (or the number they type). No address, no answer:
anyone else gets nothing about anybody.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from ..errors import NotFound, RateLimited
from ..store.db import storage_errors, utcnow
from ..store.models import Payment, Session, Subscriber, iso
from . import billing
from .access import ACTIVE, SUSPENDED, standing

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

log = logging.getLogger(__name__)

NOT_KNOWN = "This page is for home internet subscribers: we could not tell who you are"
PROMPT_GAP = timedelta(seconds=60)  # one M-Pesa prompt a minute per subscriber


@dataclass(frozen=True)
class Owing:
    """What the page shows about the subscriber behind an address."""

    subscriber_id: int
    name: str
    account: str
    plan: str
    rate: str
    price: int
    owed: float
    balance: float
    status: str  # active | grace | suspended
    period_end: datetime
    paid_until: datetime  # where the period would end if they paid what is owed now
    has_phone: bool

    def as_dict(self) -> dict[str, Any]:
        return {"subscriber_id": self.subscriber_id, "name": self.name, "account": self.account, "plan": self.plan,
                "rate": self.rate, "price": self.price, "owed": self.owed, "balance": self.balance,
                "status": self.status, "period_end": iso(self.period_end), "paid_until": iso(self.paid_until),
                "has_phone": self.has_phone}


def subscriber_at(address: str) -> Subscriber | None:
    """The subscriber whose PPP session is open at `address` (the newest, if several)."""
    session = (Session.select().where((Session.ip == address) & (Session.status == "open")
                                      & Session.subscriber.is_null(False)).order_by(Session.id.desc()).first())
    return None if session is None else Subscriber.get_or_none(Subscriber.id == session.subscriber_id)


def owing(sub: Subscriber, now: datetime, grace_s: float) -> Owing:
    plan = sub.package
    state = standing(sub.period_end.timestamp(), sub.held, now.timestamp(), grace_s)
    start = sub.period_end if now.timestamp() < sub.period_end.timestamp() + grace_s else now
    return Owing(sub.id, sub.name.split()[0], sub.account, plan.name, plan.rate_limit, plan.price,
                 billing.owed_cents(sub) / 100, sub.balance_cents / 100, state, sub.period_end,
                 start + timedelta(seconds=plan.duration_s), bool(sub.phone))


class PleasePay:
    """The use cases of the page, one per portal process."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.rt = runtime
        self.clock = clock

    @property
    def grace_s(self) -> float:
        return self.rt.config.pppoe.grace_hours * 3600.0

    @property
    def paybill(self) -> str:
        return self.rt.config.mpesa.paybill or self.rt.config.mpesa.shortcode

    def who(self, address: str | None) -> Owing | None:
        """What the subscriber at `address` owes; None when no subscriber is there."""
        if not address:
            return None
        with storage_errors("please pay"):
            sub = subscriber_at(address)
            return None if sub is None else owing(sub, self.clock(), self.grace_s)

    def is_subscriber(self, address: str | None) -> bool:
        """Whether a subscriber's session is open at `address` (the redirect asks this)."""
        return self.who(address) is not None

    def pay(self, address: str | None, phone: str | None) -> dict[str, Any]:
        """Send the M-Pesa prompt for what the subscriber at `address` owes; {payment_id, amount}."""
        now = self.clock()
        with storage_errors("please pay"):
            sub = subscriber_at(address) if address else None
            if sub is None:
                raise NotFound(NOT_KNOWN)
            recent = (Payment.select().where((Payment.subscriber == sub.id) & (Payment.method == "stk")
                                             & (Payment.created_at > now - PROMPT_GAP)).order_by(Payment.id.desc())
                      .first())
            if recent is not None:
                raise RateLimited((recent.created_at + PROMPT_GAP - now).total_seconds())
            payment = billing.charge(self.rt.daraja, sub.id, phone=phone, callback_url=self.rt.config.callback_url,
                                     now=now)
        log.info("please-pay prompt for subscriber %s: KES %s", sub.account, payment.amount)
        return {"payment_id": payment.ref, "amount": payment.amount, "status": payment.status}

    def payment(self, ref: str) -> dict[str, Any]:
        """A subscriber payment's status by its reference, and the period it bought."""
        with storage_errors("please pay"):
            payment = Payment.get_or_none((Payment.ref == str(ref)[:64]) & Payment.subscriber.is_null(False))
            if payment is None:
                raise NotFound("No such payment")
            sub = Subscriber.get_by_id(payment.subscriber_id)
            status = "pending" if payment.status == "received" else payment.status
            state = standing(sub.period_end.timestamp(), sub.held, self.clock().timestamp(), self.grace_s)
            return {"payment_id": payment.ref, "status": status, "amount": payment.amount, "reason": payment.reason,
                    "period_end": iso(sub.period_end), "online": state != SUSPENDED, "active": state == ACTIVE}
