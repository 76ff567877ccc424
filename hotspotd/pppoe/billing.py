"""A home subscriber's money: what they owe, what a payment buys, and asking for it (STK).

Every shilling arrives as a `payment` row naming the subscriber: Paybill to their account
number (`pppoe.paybill`, recorded with every confirmation), or an M-Pesa prompt the
operator or the "please pay" page sends (`charge`). Once M-Pesa says it is paid the row is
`received`, and `apply_received` (the worker's `apply_payments` task) makes it `paid`:

- the money goes onto the balance, and the period moves by as many whole periods as the
  balance now covers; what is left stays as balance, added to the next payment;
- a period still running (or in its grace) is extended from its end; one that had ended
  starts again now, since the subscriber had no service while suspended;
- a suspended subscriber is back on the plan (`subscriber.resumed`) and their session is
  ended (Disconnect-Request) so the CPE dials again and gets the plan within seconds.

Exactly once: Paybill by its TransID (`c2b_transaction`, the receipt's unique index), a
prompt by its CheckoutRequestID, and `received` → `paid` happens once per payment.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from .. import events
from ..billing.payments import PaymentStatus, push_refused, pushed
from ..billing.callbacks import adopt_orphans
from ..errors import Conflict, UpstreamError
from ..phone import normalise as normalise_phone
from ..store.db import db, rows_for_ids, write_transaction
from ..store.models import Payment, Subscriber, iso, to_db_time
from .access import SUSPENDED, standing
from .subscribers import get_subscriber, redial

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credited:
    periods: int
    period_start: datetime
    period_end: datetime
    balance_cents: int
    resumed: bool


def cents(amount: Decimal | int | float | str) -> int:
    """Whole cents of an amount (M-Pesa amounts carry two decimals)."""
    return int((Decimal(str(amount)) * 100).to_integral_value(ROUND_DOWN))


def owed_cents(sub: Subscriber) -> int:
    """What the next period still needs: the plan's price less the balance."""
    return max(0, sub.package.price * 100 - sub.balance_cents)


def credit(subscriber_id: int, paid_cents: int, now: datetime, grace_s: float, *,
           payment_id: int | None = None) -> Credited:
    """Put money on a subscriber's balance and turn whole periods of it into time.
    Inside a write transaction."""
    sub = Subscriber.get_by_id(subscriber_id)
    plan = sub.package
    periods, left = divmod(sub.balance_cents + paid_cents, plan.price * 100)
    before = standing(sub.period_end.timestamp(), sub.held, now.timestamp(), grace_s)
    start, end = sub.period_start, sub.period_end
    if periods:
        running = now.timestamp() < sub.period_end.timestamp() + grace_s
        start = sub.period_start if running else now
        end = (sub.period_end if running else now) + timedelta(seconds=plan.duration_s * periods)
    after = standing(end.timestamp(), sub.held, now.timestamp(), grace_s)
    resumed = before == SUSPENDED and after != SUSPENDED
    changes = {"balance_cents": left, "period_start": start, "period_end": end, "last_payment_at": now,
               "updated_at": now}
    if after != SUSPENDED:
        changes.update(status="active", suspended_at=None)
    Subscriber.update(changes).where(Subscriber.id == sub.id).execute()
    data = {"subscriber_id": sub.id, "account": sub.account, "payment_id": payment_id,
            "amount": events.money(Decimal(paid_cents) / 100), "balance": events.money(Decimal(left) / 100)}
    if periods:
        events.emit("subscriber.extended", {**data, "periods": periods, "package_id": plan.id,
                                            "package": plan.name, "period_start": iso(start),
                                            "period_end": iso(end)}, now)
    if resumed:
        events.emit("subscriber.resumed", {**data, "period_end": iso(end)}, now)
        redial(sub.id, "paid: back on the plan", now)
    return Credited(periods, start, end, left, resumed)


_TO_APPLY = ('SELECT "status", "amount_paid", "amount", "receipt", "subscriber_id", "phone" FROM "payment" '
             'WHERE "id" = ?')
_PAID = ('UPDATE "payment" SET "status" = \'paid\', "applied_at" = ?, "updated_at" = ? '
         'WHERE "id" = ? AND "status" = \'received\'')


def apply_payment(payment_id: int, now: datetime, grace_s: float) -> Credited | None:
    """`received` → `paid` for a subscriber's payment: the money is credited and
    `payment.processed` written. None when it is not `received` (applied already). Inside a
    write transaction. (For a subscriber's payment this is the one writer of `paid`;
    `billing.payments.apply` leaves them alone.)"""
    row = db.execute_sql(_TO_APPLY, (payment_id,)).fetchone()
    if row is None or row[0] != PaymentStatus.RECEIVED or row[4] is None:
        return None
    _, amount_paid, amount, receipt, subscriber_id, phone = row
    paid = cents(amount_paid if amount_paid is not None else amount)
    done = credit(subscriber_id, paid, now, grace_s, payment_id=payment_id)
    at = to_db_time(now)
    db.execute_sql(_PAID, (at, at, payment_id))
    account = Subscriber.get_by_id(subscriber_id).account
    events.emit("payment.processed", {"payment_id": payment_id, "amount": events.money(Decimal(paid) / 100),
                                      "receipt": receipt, "phone": phone, "subscriber_id": subscriber_id,
                                      "account": account, "balance": events.money(Decimal(done.balance_cents) / 100)},
                now)
    log.info("subscriber %s paid KES %s: %d period(s), balance %s", account, paid / 100, done.periods,
             done.balance_cents / 100)
    return done


_SUBSCRIBERS_OF = 'SELECT "id" FROM "payment" WHERE "id" IN ({ids}) AND "subscriber_id" IS NOT NULL'


def apply_received(payment_ids: list[int], now: datetime, grace_s: float) -> list[int]:
    """Apply the home subscribers' payments among `payment_ids` (each in its own
    transaction); return the others, for `billing.payments.apply_many`."""
    theirs = {pid for (pid,) in rows_for_ids(_SUBSCRIBERS_OF, payment_ids)}
    for payment_id in sorted(theirs):
        with write_transaction():
            apply_payment(payment_id, now, grace_s)
    return [pid for pid in payment_ids if pid not in theirs]


def charge(daraja, ref: object, *, phone: str | None, callback_url: str, now: datetime,
           amount: int | None = None) -> Payment:
    """Send an M-Pesa prompt for what the subscriber owes (at least the balance's gap to the
    next period; `amount` to ask another sum) to `phone`, or their own number. The payment
    names the subscriber; the callback makes it `received` and the worker applies it.
    UpstreamError when Daraja refuses (the payment is failed with the reason)."""
    sub = get_subscriber(ref)
    number = normalise_phone(phone or sub.phone or "")
    asked = amount if amount is not None else max(1, -(-owed_cents(sub) // 100))
    if not isinstance(asked, int) or isinstance(asked, bool) or not 1 <= asked <= 150000:
        raise Conflict("the amount must be 1 to 150,000 shillings (M-Pesa's limit)")
    with write_transaction():
        payment = Payment.create(ref=secrets.token_urlsafe(12), package=sub.package_id, phone=number, amount=asked,
                                 status=PaymentStatus.PENDING, created_at=now, updated_at=now, method="stk",
                                 subscriber=sub.id)
    try:
        accepted = daraja.stk_push(phone=number, amount=asked, callback_url=callback_url, account_reference=sub.account,
                                   description=f"Internet {sub.account}"[:13], now=now)
    except UpstreamError as exc:
        push_refused(payment, exc, now)
        raise
    pushed(payment, checkout_request_id=accepted.checkout_request_id,
           merchant_request_id=accepted.merchant_request_id, now=now)
    adopt_orphans(accepted.checkout_request_id, now)  # its callback raced ahead: the worker applies it
    return payment
