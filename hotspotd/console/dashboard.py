"""The figures on the console's dashboard: income, payments by outcome, who is online,
routers, and the series behind its two charts.

Days, weeks and months are the site's (its time zone; a week starts on Monday). Revenue
is M-Pesa money applied to payments (status `paid`), by the day the payment was made;
income adds vouchers, counted at their price when redeemed (`income.py`). Everything is
summed in SQL by UTC hour and assigned to local days here, so a month of a busy site is a
few hundred rows, not thousands of payments.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from .. import events
from ..store.db import db
from ..store.models import to_db_time
from . import income

REVENUE_DAYS = 30
SESSION_HOURS = 24
SESSION_STEP = timedelta(minutes=30)

_TODAY_BY_STATUS = 'SELECT "status", COUNT(*) FROM "payment" WHERE "created_at" >= ? GROUP BY 1'
_OPEN_SESSIONS = 'SELECT COUNT(*) FROM "session" WHERE "status" = \'open\''
_PAYING = ('SELECT COUNT(DISTINCT "customer_id") FROM "subscription" WHERE "status" = \'active\' '
           'AND "starts_at" <= ? AND "ends_at" > ?')
_ROUTERS = 'SELECT "status", COUNT(*) FROM "router" GROUP BY 1'
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


def revenue_series(mpesa: dict[date, dict[str, float]], vouchers: dict[date, dict[str, float]], now: datetime,
                   tz: ZoneInfo, days: int = REVENUE_DAYS) -> list[dict[str, Any]]:
    """Per local day, oldest first: {date, amount (M-Pesa), payments, vouchers (amount), redeemed, total}."""
    today = now.astimezone(tz).date()
    out = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        paid = mpesa.get(day, {"amount": 0.0, "count": 0})
        sold = vouchers.get(day, {"amount": 0.0, "count": 0})
        out.append({"date": day.isoformat(), "amount": events.money(round(paid["amount"], 2)),
                    "payments": int(paid["count"]), "vouchers": events.money(round(sold["amount"], 2)),
                    "redeemed": int(sold["count"]),
                    "total": events.money(round(paid["amount"] + sold["amount"], 2))})
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
    first_charted = local_midnight(now.astimezone(tz).date() - timedelta(days=REVENUE_DAYS - 1), tz)
    mpesa, vouchers = income.by_day(min(first_charted, *starts.values()), tz)
    money_in = {}
    for name, start in starts.items():
        first_day = start.astimezone(tz).date()
        money_in[name] = income.totals_from(mpesa, vouchers, first_day)
    revenue = {name: figures["mpesa"] for name, figures in money_in.items()}
    today = to_db_time(starts["today"])
    by_status = dict(db.execute_sql(_TODAY_BY_STATUS, (today,)).fetchall())
    routers = dict(db.execute_sql(_ROUTERS).fetchall())
    at = to_db_time(now)
    return {
        "at": at,
        "currency": "KES",
        "revenue": revenue,
        "income": money_in,
        "payments_today": {s: by_status.get(s, 0) for s in
                           ("paid", "received", "pending", "failed", "cancelled", "expired")},
        "vouchers_today": {"redeemed": money_in["today"]["vouchers"]["count"],
                           "value": money_in["today"]["vouchers"]["amount"]},
        "sessions_open": db.execute_sql(_OPEN_SESSIONS).fetchone()[0],
        "paying_customers": db.execute_sql(_PAYING, (at, at)).fetchone()[0],
        "routers": {"online": routers.get("online", 0), "total": sum(routers.values())},
        "revenue_30d": revenue_series(mpesa, vouchers, now, tz),
        "sessions_24h": sessions_series(now),
    }
