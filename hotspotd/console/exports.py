"""The payments export: the payments list as CSV, with the filters the page has, for the
operator's books and for matching the M-Pesa statement.

One row per payment, oldest first, times in the site's time zone; phone numbers masked as
on every page (the receipt is what matches a statement line). A payment an STK query
confirmed has no receipt: its `receipt_note` says so instead of leaving the cell empty.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from ..billing import history
from ..events import money
from ..store.models import Payment

COLUMNS = ("created_local", "reference", "how_paid", "account", "phone", "package", "amount_kes", "paid_kes",
           "status", "receipt", "receipt_note", "reason")
BATCH = 500


def _local(value: datetime | None, tz: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def _line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(values)
    return out.getvalue()


def payments_csv(tz: ZoneInfo, **filters: Any) -> Iterator[str]:
    """The CSV text, a header and then one line per payment matching `filters` (those of
    `history.matching`: q, status, package_id, since, until, method), oldest first."""
    yield _line(list(COLUMNS))
    query = history.matching(**filters).order_by(Payment.id)
    last = 0
    while True:  # in batches by id: a year of payments never sits in memory at once
        rows = list(query.where(Payment.id > last).limit(BATCH))
        if not rows:
            return
        shown = history.with_paybill_phones([history.payment_row(p, p.package.name) for p in rows])
        for p, row in zip(rows, shown):
            yield _line([_local(p.created_at, tz), p.ref, row["how_paid"], p.account or "", row["phone"],
                         row["package"], p.amount, "" if p.amount_paid is None else money(p.amount_paid),
                         p.status, p.receipt or "", row["receipt_note"] or "", p.reason or ""])
        last = rows[-1].id
