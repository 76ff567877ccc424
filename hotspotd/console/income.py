"""Income as an operator counts it: M-Pesa money and voucher sales, and their total, for
today, this week and this month, and month by month for the last year.

M-Pesa money is what was applied to payments (status `paid`), by the day the payment was
made; a voucher counts at its package's price on the day it was redeemed (the cash was
taken when it was sold, which hotspotd does not see). Days, weeks and months are the
site's (its time zone; a week starts on Monday). Both are summed in SQL by UTC hour and
the hours assigned to local days here, so a year of a busy site is a few thousand rows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from .. import events
from ..store.db import db
from ..store.models import to_db_time

MONTHS = 12

_PAID_BY_HOUR = ('SELECT substr("created_at", 1, 13), SUM(COALESCE("amount_paid", "amount")), COUNT(*) '
                 'FROM "payment" WHERE "status" = \'paid\' AND "created_at" >= ? GROUP BY 1')
_VOUCHERS_BY_HOUR = ('SELECT substr(v."redeemed_at", 1, 13), SUM(k."price"), COUNT(*) FROM "voucher" v '
                     'JOIN "package" k ON k."id" = v."package_id" WHERE v."redeemed_at" >= ? GROUP BY 1')


def _by_local(rows: Iterable[tuple[str, Any, int]], tz: ZoneInfo, key) -> dict[Any, dict[str, float]]:
    totals: dict[Any, dict[str, float]] = {}
    for hour, amount, count in rows:
        start = datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=timezone.utc)
        bucket = totals.setdefault(key(start.astimezone(tz).date()), {"amount": 0.0, "count": 0})
        bucket["amount"] += float(amount or 0)
        bucket["count"] += count
    return totals


def by_day(since: datetime, tz: ZoneInfo) -> tuple[dict[date, dict[str, float]], dict[date, dict[str, float]]]:
    """({local day: {amount, count}} of M-Pesa payments, the same of vouchers redeemed) from `since`."""
    at = (to_db_time(since),)
    return (_by_local(db.execute_sql(_PAID_BY_HOUR, at).fetchall(), tz, lambda d: d),
            _by_local(db.execute_sql(_VOUCHERS_BY_HOUR, at).fetchall(), tz, lambda d: d))


def _figures(mpesa: dict[str, float] | None, vouchers: dict[str, float] | None) -> dict[str, Any]:
    mpesa = mpesa or {"amount": 0.0, "count": 0}
    vouchers = vouchers or {"amount": 0.0, "count": 0}
    return {"mpesa": {"amount": events.money(round(mpesa["amount"], 2)), "payments": int(mpesa["count"])},
            "vouchers": {"amount": events.money(round(vouchers["amount"], 2)), "count": int(vouchers["count"])},
            "total": events.money(round(mpesa["amount"] + vouchers["amount"], 2))}


def _add(days: dict[date, dict[str, float]], first: date) -> dict[str, float]:
    picked = [v for d, v in days.items() if d >= first]
    return {"amount": sum(v["amount"] for v in picked), "count": sum(v["count"] for v in picked)}


def totals_from(mpesa: dict[date, dict[str, float]], vouchers: dict[date, dict[str, float]],
                first: date) -> dict[str, Any]:
    """{mpesa: {amount, payments}, vouchers: {amount, count}, total} of the days (from `by_day`)
    from local day `first` on."""
    return _figures(_add(mpesa, first), _add(vouchers, first))


def month_starts(today: date, months: int = MONTHS) -> list[date]:
    """The first day of each of the last `months` months, oldest first (this month last)."""
    firsts, year, month = [], today.year, today.month
    for _ in range(months):
        firsts.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return firsts[::-1]


def by_month(now: datetime, tz: ZoneInfo, months: int = MONTHS) -> list[dict[str, Any]]:
    """Income per local month for the last `months` months, oldest first:
    [{month: "2026-03", mpesa, vouchers, total}] (months without sales included, as zeros)."""
    firsts = month_starts(now.astimezone(tz).date(), months)
    since = datetime.combine(firsts[0] - timedelta(days=1), datetime.min.time(), timezone.utc)
    at = (to_db_time(since),)
    month_of = lambda d: date(d.year, d.month, 1)  # noqa: E731
    mpesa = _by_local(db.execute_sql(_PAID_BY_HOUR, at).fetchall(), tz, month_of)
    vouchers = _by_local(db.execute_sql(_VOUCHERS_BY_HOUR, at).fetchall(), tz, month_of)
    return [{"month": f"{first:%Y-%m}", **_figures(mpesa.get(first), vouchers.get(first))} for first in firsts]
