"""Paybill money for a home subscriber's account number, as the confirmation is recorded.

`billing.c2b` records every Paybill confirmation (and every pulled transaction) in one
group commit, once per TransID; when the BillRefNumber is a subscriber's account it asks
`receive` here, inside that transaction: the money becomes a `payment` row naming the
subscriber, `received`, and the worker applies it (`pppoe.billing.apply_received`) as it
applies every received payment. Plain SQL and no other hotspotd module: this runs on the
hottest write path and `billing.c2b` imports it.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from ..store.db import db
from ..store.models import to_db_time

_ACCOUNT = ('SELECT s."id", s."package_id", k."price" FROM "subscriber" s JOIN "package" k ON k."id" = s."package_id" '
            'WHERE s."account" = ?')
_RECEIVED = ('INSERT INTO "payment" ("ref", "package_id", "phone", "amount", "amount_paid", "status", "result_code", '
             '"result_desc", "receipt", "created_at", "updated_at", "resolved_at", "query_count", "method", '
             '"subscriber_id") VALUES (?, ?, \'\', ?, ?, \'received\', \'0\', ?, ?, ?, ?, ?, 0, \'c2b\', ?)')


def is_account(account: str) -> bool:
    """Whether `account` (as `mpesa.c2b.account_key` cleans it) is a subscriber's."""
    return bool(account) and db.execute_sql(_ACCOUNT, (account,)).fetchone() is not None


def receive(account: str, *, receipt: str, amount: Decimal, now: datetime) -> int | None:
    """The payment id of Paybill money for subscriber `account` (received, to apply), or None
    when it is not a subscriber's account. Inside the recording transaction; the caller has
    made sure the receipt is new."""
    if not account:
        return None
    row = db.execute_sql(_ACCOUNT, (account,)).fetchone()
    if row is None:
        return None
    subscriber_id, plan, price = row
    at = to_db_time(now)
    return db.execute_sql(_RECEIVED, (secrets.token_urlsafe(12), plan, price, str(amount),
                                      "Paybill payment to a subscriber's account", receipt, at, at, at,
                                      subscriber_id)).lastrowid
