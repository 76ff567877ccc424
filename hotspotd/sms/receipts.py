"""Texts to customers: a receipt for every grant, and "text me my login".

`queue_receipt()` runs inside the write transaction that grants access (a payment applied,
a voucher redeemed, "already paid?"): it adds one row to the SMS outbox, and the grant's
key is unique there, so a replayed grant, a payment applied twice or a restarted worker
can never queue a second receipt. The worker sends it (`hotspotd.sms.outbox`).

Who gets it: the phone the payment came from (an STK payment's number, checked by M-Pesa).
A Paybill payer's number is masked by Daraja, and a voucher has none: their receipt waits
for a number the customer types on the page (`note_phone`), and goes nowhere without one.

`resend_login()` (the status page's "text me my login") queues the login again, at most
`LOGINS_PER_PHONE` a day per number and one every `LOGIN_GAP` (counted from the outbox
itself, so the limit holds across processes and restarts).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from .. import phone as phones
from ..billing import subscriptions
from ..errors import Conflict, NotFound, RateLimited
from ..store.db import db, write_transaction
from ..store.models import Customer, from_db_time, to_db_time

log = logging.getLogger(__name__)

RECEIPT, LOGIN = "receipt", "login"
LOGINS_PER_PHONE = 3  # a day
LOGIN_GAP = timedelta(minutes=5)
NOTHING_TO_SEND = "There is no package on this login to text"

_STORED = re.compile(r"254[17]\d{8}")
_QUEUE = ('INSERT OR IGNORE INTO "sms_message" ("kind", "grant_key", "customer_id", "subscription_id", "to_phone", '
          '"lang", "status", "next_at", "created_at") VALUES (?, ?, ?, ?, ?, ?, \'queued\', ?, ?)')


def _number(phone: str | None, customer_id: int | None) -> str | None:
    """A number to text, 254 + 9 digits as hotspotd stores them: the one given, else the
    customer's own (an STK payer's, checked by M-Pesa); None when neither is a whole
    number (a masked or hashed Paybill MSISDN, or none)."""
    for candidate in (phone, None if customer_id is None else _customer_phone(customer_id)):
        if candidate and _STORED.fullmatch(candidate):
            return candidate
    return None


def _customer_phone(customer_id: int) -> str | None:
    customer = Customer.get_or_none(Customer.id == customer_id)
    return customer.phone if customer else None


def queue_receipt(*, grant_key: str, customer_id: int, subscription_id: int, phone: str | None, lang: str | None,
                  now: datetime) -> None:
    """Queue the receipt of one grant (inside the grant's write transaction). Once per
    `grant_key` ("payment:17", "voucher:3", ...): a second call with it does nothing.
    Without a number to text, the receipt waits for one (`note_phone`)."""
    _queue(grant_key, customer_id, subscription_id, phone, lang, now)


def _queue(grant_key: str, customer_id: int, subscription_id: int, phone: str | None, lang: str | None,
           now: datetime) -> bool:
    to = _number(phone, customer_id)
    at = to_db_time(now)
    return db.execute_sql(_QUEUE, (RECEIPT, grant_key, customer_id, subscription_id, to, lang, at if to else None,
                                   at)).rowcount == 1


def note_phone(*, customer_id: int, phone: str, now: datetime, lang: str | None = None) -> int:
    """A number the customer typed for their receipt (a Paybill payer, a voucher): the
    receipts of this customer still waiting for a number go to it. Returns how many.
    InvalidInput when it is not a Kenyan mobile number."""
    number = phones.normalise(phone)
    at = to_db_time(now)
    with write_transaction():
        return db.execute_sql(
            'UPDATE "sms_message" SET "to_phone" = ?, "next_at" = ?, "lang" = COALESCE(?, "lang") '
            'WHERE "customer_id" = ? AND "status" = \'queued\' AND "to_phone" IS NULL',
            (number, at, lang, customer_id)).rowcount


def note_payment_phone(payment_ref: str, phone: str, now: datetime, lang: str | None = None) -> None:
    """A number typed on the waiting page of a payment (a Paybill payer's is masked): its
    receipt goes there, whether the payment is applied yet or not. NotFound for no such
    payment, InvalidInput for a number that is not a Kenyan mobile."""
    number = phones.normalise(phone)
    with write_transaction():
        row = db.execute_sql('SELECT "id", "customer_id", "status" FROM "payment" WHERE "ref" = ?',
                             (str(payment_ref)[:64],)).fetchone()
        if row is None:
            raise NotFound("No such payment")
        db.execute_sql('UPDATE "payment" SET "notify_phone" = ?, "lang" = COALESCE("lang", ?) WHERE "id" = ?',
                       (number, lang, row[0]))
        db.execute_sql('UPDATE "sms_message" SET "to_phone" = ?, "next_at" = ? WHERE "grant_key" = ? '
                       'AND "status" = \'queued\' AND "to_phone" IS NULL', (number, to_db_time(now), f"payment:{row[0]}"))


def resend_login(customer_id: int, phone: str, lang: str | None, now: datetime) -> int:
    """Queue the customer's login and package as a text to `phone` ("text me my login");
    returns the outbox row. RateLimited past the limit per number, Conflict when the
    customer has no package running or to come."""
    number = phones.normalise(phone)
    with write_transaction():
        recent = db.execute_sql('SELECT COUNT(*), MAX("created_at") FROM "sms_message" WHERE "kind" = ? '
                                'AND "to_phone" = ? AND "created_at" > ?',
                                (LOGIN, number, to_db_time(now - timedelta(days=1)))).fetchone()
        if recent[1] is not None:
            wait = (from_db_time(recent[1]) + LOGIN_GAP - now).total_seconds()
            if recent[0] >= LOGINS_PER_PHONE:
                oldest = db.execute_sql('SELECT MIN("created_at") FROM "sms_message" WHERE "kind" = ? AND '
                                        '"to_phone" = ? AND "created_at" > ?',
                                        (LOGIN, number, to_db_time(now - timedelta(days=1)))).fetchone()[0]
                raise RateLimited((from_db_time(oldest) + timedelta(days=1) - now).total_seconds())
            if wait > 0:
                raise RateLimited(wait)
        current = subscriptions.not_ended(customer_id=customer_id, now=now)
        if not current:
            raise Conflict(NOTHING_TO_SEND)
        chosen = subscriptions.in_use(current, now) or min(current, key=lambda s: s.starts_at)
        at = to_db_time(now)
        row = db.execute_sql(_QUEUE, (LOGIN, None, customer_id, chosen.id, number, lang, at, at)).lastrowid
    log.info("login text queued for customer %s to %s", customer_id, phones.mask(number))
    return row
