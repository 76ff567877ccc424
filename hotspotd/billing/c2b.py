"""Paybill (C2B) payments: the account numbers the portal hands out, Daraja's validation
question, and recording confirmations durably, once, before they are answered.

A Paybill payment is a `payment` row with method `c2b`, made when the portal shows the
account number (pending, like an STK push waiting for its callback). The confirmation
names the account; it moves that payment to `received` through the same state machine
as an STK callback (`payments.mark_received`), and it is applied the same way.
Confirmations come in batches (group commit, as STK callbacks do); each is kept once per
TransID in `c2b_transaction`. Money that matches no open account is kept there as
`unmatched`, with a `payment.unmatched` event, for the operator: never dropped.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Sequence

import peewee

from .. import events
from ..errors import StorageUnavailable
from ..mpesa import c2b as daraja
from ..mpesa.c2b import C2BPayment, parse_c2b
from ..pppoe import paybill as subscriber_paybill
from ..store import sampling
from ..store.db import db, write_transaction
from ..store.models import C2BTransaction, Package, Payment, iso, to_db_time
from . import payments
from .callbacks import Incoming, Recorded, record_batch, sample
from .payments import PaymentStatus

log = logging.getLogger(__name__)

METHOD = "c2b"
# Account numbers: 6 random digits (no leading 0) and a Luhn check digit, so a mistyped
# number is refused at validation or kept as unmatched instead of paying for a stranger.
# 900,000 numbers, each handed out once (the unique index on payment.account).
ACCOUNT_DIGITS = 6
ACCOUNT_DRAWS = 50


def luhn_digit(digits: str) -> str:
    """The Luhn check digit for `digits`."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def account_is_well_formed(account: str, digits: int = ACCOUNT_DIGITS) -> bool:
    """`digits` digits (the first not 0) and their check digit (home subscribers' have 5)."""
    return (len(account) == digits + 1 and account.isdigit() and account[0] != "0"
            and luhn_digit(account[:-1]) == account[-1])


def new_account(digits: int = ACCOUNT_DIGITS) -> str:
    body = str(secrets.choice(range(1, 10))) + "".join(str(secrets.randbelow(10)) for _ in range(digits - 1))
    return body + luhn_digit(body)


def open_offer(package: Package, *, mac: str, now: datetime, valid_for: float) -> Payment | None:
    """The pending Paybill payment a confirmed device has for `package` that is still valid
    (a page reload gets the same number). Only for a device a router confirmed: a claimed
    MAC must not fetch someone else's number and, with it, their login."""
    return (Payment.select().where((Payment.mac == mac) & Payment.verified & (Payment.method == METHOD)
                                   & (Payment.package == package.id) & (Payment.status == PaymentStatus.PENDING)
                                   & (Payment.created_at > now - timedelta(seconds=valid_for)))
            .order_by(Payment.id.desc()).first())


# An account number whose offer ended unpaid is handed out again after this long: a
# confirmation days late is not a thing Daraja does, and the 900,000 numbers must outlast
# a flood of offers (the site's payment budget, 120 a minute, is ~345,000 in two days).
RECYCLE_AFTER = timedelta(days=2)
_RELEASE = ('UPDATE "payment" SET "account_released" = "account", "account" = NULL '
            'WHERE "account" = ? AND "method" = \'c2b\' AND "status" IN (\'expired\', \'cancelled\', \'failed\') '
            'AND "amount_paid" IS NULL AND "receipt" IS NULL AND "updated_at" <= ?')


def make_offer(package: Package, *, mac: str | None, ip: str | None, now: datetime,
               customer_id: int | None, verified: bool = False, lang: str | None = None) -> Payment:
    """A pending Paybill payment with a new account number, and its `payment.initiated`.
    A number taken by an offer that ended unpaid `RECYCLE_AFTER` ago is taken back."""
    for _ in range(ACCOUNT_DRAWS):
        account = new_account()
        payment = _offer(package, account, mac, ip, now, customer_id, verified, lang)
        if payment is None and _release(account, now):  # an old, unpaid offer's number: hand it out again
            payment = _offer(package, account, mac, ip, now, customer_id, verified, lang)
        if payment is not None:
            break
    else:  # only when most of the 900,000 numbers are taken
        log.critical("no free Paybill account number after %d draws", ACCOUNT_DRAWS)
        raise StorageUnavailable("Paying by Paybill is not available here")
    with write_transaction():
        events.emit("payment.initiated", {"payment_id": payment.id, "package_id": package.id,
                                          "amount": events.money(package.price), "phone": "",
                                          "method": METHOD, "account": payment.account}, now)
    return payment


def _offer(package: Package, account: str, mac: str | None, ip: str | None, now: datetime,
           customer_id: int | None, verified: bool, lang: str | None) -> Payment | None:
    try:
        return payments.start(package, "", mac=mac, ip=ip, now=now, method=METHOD, account=account,
                              customer_id=customer_id, verified=verified, lang=lang)
    except peewee.IntegrityError:  # the number is taken
        return None


def _release(account: str, now: datetime) -> bool:
    with write_transaction():
        released = db.execute_sql(_RELEASE, (account, to_db_time(now - RECYCLE_AFTER))).rowcount
    if released:
        log.info("Paybill account number %s handed out again (its offer ended unpaid)", account)
    return bool(released)


def validate(payment: C2BPayment, *, short_code: str, now: datetime, valid_for: float) -> dict[str, str]:
    """Daraja's question before it takes the money: accept, or refuse with a C2B code."""
    if payment.short_code != short_code:
        return daraja.refuse(daraja.INVALID_SHORTCODE)
    if subscriber_paybill.is_account(payment.account):  # a home subscriber: any amount (a part is kept as balance)
        return dict(daraja.ACCEPT)
    offer = Payment.get_or_none((Payment.account == payment.account) & (Payment.method == METHOD))
    if (offer is None or offer.status != PaymentStatus.PENDING
            or offer.created_at <= now - timedelta(seconds=valid_for)):
        return daraja.refuse(daraja.INVALID_ACCOUNT)
    cheapest = Package.select(peewee.fn.MIN(Package.price)).where(Package.active == True).scalar()  # noqa: E712
    if payment.amount < offer.amount or (cheapest is not None and payment.amount < cheapest):
        return daraja.refuse(daraja.INVALID_AMOUNT)
    return dict(daraja.ACCEPT)


_KEEP = ('INSERT INTO "c2b_transaction" ("trans_id", "received_at", "body", "short_code", "bill_ref", "amount", '
         '"msisdn", "outcome", "error", "payment_id", "remote_addr", "sampled", "truncated", "source") '
         'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
_KNOWN = 'SELECT 1 FROM "c2b_transaction" WHERE "trans_id" = ?'
_RECEIPT = 'SELECT 1 FROM "payment" WHERE "receipt" = ?'
_OFFER = ('SELECT "id", "status", "amount" FROM "payment" WHERE "account" = ? AND "method" = \'c2b\'')


def record_confirmations(batch: Sequence[Incoming]) -> list[Recorded]:
    """Record a batch of confirmations in one transaction; one outcome per confirmation.
    Never raises for bad input: what cannot be read is `malformed` (a sample of them is
    kept, the rest counted: `callbacks.sample`); every readable one is kept whole, once
    per TransID."""
    return record_batch(batch, parse_c2b, _record)


def _record(incoming: Incoming, payment: C2BPayment | Exception) -> Recorded:
    at = to_db_time(incoming.received_at)
    if isinstance(payment, Exception):
        kept = sample(sampling.C2B_MALFORMED, incoming)
        if kept is not None:
            db.execute_sql(_KEEP, (None, at, kept[0], None, None, None, None, "malformed", str(payment)[:300], None,
                                   incoming.remote_addr, 1, int(kept[1]), incoming.source))
            log.warning("malformed C2B confirmation from %s: %s", incoming.remote_addr, payment)
        return Recorded("malformed", error=str(payment))
    text = incoming.body.decode("utf-8", errors="replace")
    if db.execute_sql(_KNOWN, (payment.trans_id,)).fetchone():
        return Recorded("duplicate")  # a replay: kept once already

    def keep(outcome: str, payment_id: int | None = None, error: str | None = None) -> None:
        db.execute_sql(_KEEP, (payment.trans_id, at, text, payment.short_code, payment.bill_ref[:40],
                               str(payment.amount), payment.msisdn[:100], outcome, error, payment_id,
                               incoming.remote_addr, 0, 0, incoming.source))

    if db.execute_sql(_RECEIPT, (payment.trans_id,)).fetchone():  # receipts are unique across STK and C2B
        keep("duplicate", error="receipt already recorded for another payment")
        return Recorded("duplicate")
    paid = subscriber_paybill.receive(payment.account, receipt=payment.trans_id, amount=payment.amount,
                                      now=incoming.received_at)
    if paid is not None:  # a home subscriber's account: applied by the worker like every received payment
        keep("matched", paid)
        return Recorded("matched", paid, apply=True)
    offer = db.execute_sql(_OFFER, (payment.account,)).fetchone() if payment.account else None
    if offer is None or offer[1] in (PaymentStatus.RECEIVED, PaymentStatus.PAID):
        reason = "unknown account number" if offer is None else "account number already paid"
        keep("unmatched", error=reason)
        events.emit("payment.unmatched", {"receipt": payment.trans_id, "amount": events.money(payment.amount),
                                          "account": payment.bill_ref[:40], "msisdn": payment.msisdn[:100],
                                          "source": "paybill", "reason": reason}, incoming.received_at)
        log.warning("Paybill payment %s (KES %s) to account %r matches no open account: kept for the operator",
                    payment.trans_id, payment.amount, payment.bill_ref[:40])
        return Recorded("unmatched")
    # A confirmation after the offer expired is honoured all the same: the money was taken.
    payments.mark_received(offer[0], receipt=payment.trans_id, amount_paid=payment.amount,
                           result_desc="Paybill payment confirmed", now=incoming.received_at)
    keep("matched", offer[0])
    return Recorded("matched", offer[0], apply=True)


def expire_offers(now: datetime, valid_for: float, limit: int = 500) -> list[int]:
    """Paybill payments nobody paid within `valid_for` end as expired. In a write transaction."""
    due = list(Payment.select().where((Payment.method == METHOD) & (Payment.status == PaymentStatus.PENDING)
                                      & (Payment.created_at <= now - timedelta(seconds=valid_for))).limit(limit))
    for offer in due:
        payments.end(offer.id, PaymentStatus.EXPIRED, "no Paybill payment arrived in time", result_code=None,
                     phone=offer.phone, amount=offer.amount, now=now)
    return [offer.id for offer in due]


def unmatched(limit: int = 50) -> list[dict[str, Any]]:
    """Paybill money that matched no open account, newest first (for the operator)."""
    rows = (C2BTransaction.select().where(C2BTransaction.outcome == "unmatched")
            .order_by(C2BTransaction.id.desc()).limit(limit))
    return [{"id": row.id, "received_at": iso(row.received_at), "receipt": row.trans_id, "account": row.bill_ref,
             "amount": events.money(Decimal(row.amount)), "msisdn": row.msisdn, "reason": row.error} for row in rows]
