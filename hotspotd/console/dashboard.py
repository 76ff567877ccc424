"""The figures on the console's dashboard: money in, payments by outcome, who is online,
routers, and the series behind its two charts.

Days, weeks and months are the site's (its time zone; a week starts on Monday). Revenue
is M-Pesa money applied to payments (status `paid`), by the day the payment was made;
vouchers are cash taken when they were sold and are counted apart, when redeemed.
Everything is summed in SQL by UTC hour and assigned to local days here, so a month of a
busy site is a few hundred rows, not thousands of payments.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from .. import events
from ..store.db import db
from ..store.models import to_db_time

REVENUE_DAYS = 30
SESSION_HOURS = 24
SESSION_STEP = timedelta(minutes=30)

_PAID_BY_HOUR = ('SELECT substr("created_at", 1, 13), SUM(COALESCE("amount_paid", "amount")), COUNT(*) '
                 'FROM "payment" WHERE "status" = \'paid\' AND "created_at" >= ? GROUP BY 1')
_TODAY_BY_STATUS = 'SELECT "status", COUNT(*) FROM "payment" WHERE "created_at" >= ? GROUP BY 1'
_OPEN_SESSIONS = 'SELECT COUNT(*) FROM "session" WHERE "status" = \'open\''
_PAYING = ('SELECT COUNT(DISTINCT "customer_id") FROM "subscription" WHERE "status" = \'active\' '
           'AND "starts_at" <= ? AND "ends_at" > ?')
_ROUTERS = 'SELECT "status", COUNT(*) FROM "router" GROUP BY 1'
_VOUCHERS = ('SELECT COUNT(*), COALESCE(SUM(k."price"), 0) FROM "voucher" v JOIN "package" k ON k."id" = v."package_id" '
             'WHERE v."redeemed_at" >= ?')
_SESSION_SPANS = ('SELECT "started_at", "stopped_at" FROM "session" '
                  'WHERE "status" = \'open\' OR "stopped_at" > ?')


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a local day starts."""
    return datetime.combine(day, time(0), tz).astimezone(timezone.utc)


def periods(now: datetime, tz: ZoneInfo) -> dict[str, datetime]:
    """UTC starts of today, this week (Monday) and this month, local to the site."""
    today = now.astimezone(tz).date()
    return {"today": local_midnight(today, tz),
            "week": local_midnight(today - timedelta(days=today.weekday()), tz),
            "month": local_midnight(today.replace(day=1), tz)}


def revenue_by_day(now: datetime, tz: ZoneInfo, days: int = REVENUE_DAYS,
                   since: datetime | None = None) -> dict[date, dict[str, float]]:
    """{local day: {"amount", "count"}} of paid payments from `since` (default: the last `days` days)."""
    today = now.astimezone(tz).date()
    first = local_midnight(today - timedelta(days=days - 1), tz)
    since = min(first, since) if since else first
    totals: dict[date, dict[str, float]] = {}
    for hour, amount, count in db.execute_sql(_PAID_BY_HOUR, (to_db_time(since),)).fetchall():
        start = datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=timezone.utc)
        day = totals.setdefault(start.astimezone(tz).date(), {"amount": 0.0, "count": 0})
        day["amount"] += float(amount or 0)
        day["count"] += count
    return totals


def revenue_series(by_day: dict[date, dict[str, float]], now: datetime, tz: ZoneInfo,
                   days: int = REVENUE_DAYS) -> list[dict[str, Any]]:
    today = now.astimezone(tz).date()
    out = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        figures = by_day.get(day, {"amount": 0.0, "count": 0})
        out.append({"date": day.isoformat(), "amount": events.money(round(figures["amount"], 2)),
                    "payments": int(figures["count"])})
    return out


def sessions_series(now: datetime, hours: int = SESSION_HOURS, step: timedelta = SESSION_STEP) -> list[dict[str, Any]]:
    """Open sessions at each `step` over the last `hours`, oldest first ({at, sessions})."""
    since = now - timedelta(hours=hours)
    changes: list[tuple[str, int]] = []
    for started, stopped in db.execute_sql(_SESSION_SPANS, (to_db_time(since),)).fetchall():
        changes.append((started, 1))
        if stopped is not None:
            changes.append((stopped, -1))
    changes.sort()
    points = [since + step * i for i in range(int((now - since) / step) + 1)]
    out, level, index = [], 0, 0
    for point in points:
        mark = to_db_time(point)
        while index < len(changes) and changes[index][0] <= mark:
            level += changes[index][1]
            index += 1
        out.append({"at": mark, "sessions": level})
    return out


def figures(now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """Everything on the dashboard except the queue and sync (which the caller adds)."""
    starts = periods(now, tz)
    by_day = revenue_by_day(now, tz, since=starts["month"])
    revenue = {}
    for name, start in starts.items():
        first_day = start.astimezone(tz).date()
        picked = [v for d, v in by_day.items() if d >= first_day]
        revenue[name] = {"amount": events.money(round(sum(v["amount"] for v in picked), 2)),
                         "payments": int(sum(v["count"] for v in picked))}
    today = to_db_time(starts["today"])
    by_status = dict(db.execute_sql(_TODAY_BY_STATUS, (today,)).fetchall())
    routers = dict(db.execute_sql(_ROUTERS).fetchall())
    vouchers, voucher_value = db.execute_sql(_VOUCHERS, (today,)).fetchone()
    at = to_db_time(now)
    return {
        "at": at,
        "currency": "KES",
        "revenue": revenue,
        "payments_today": {s: by_status.get(s, 0) for s in
                           ("paid", "received", "pending", "failed", "cancelled", "expired")},
        "vouchers_today": {"redeemed": vouchers, "value": events.money(voucher_value)},
        "sessions_open": db.execute_sql(_OPEN_SESSIONS).fetchone()[0],
        "paying_customers": db.execute_sql(_PAYING, (at, at)).fetchone()[0],
        "routers": {"online": routers.get("online", 0), "total": sum(routers.values())},
        "revenue_30d": revenue_series(by_day, now, tz),
        "sessions_24h": sessions_series(now),
    }
