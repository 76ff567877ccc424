"""What the operator sees per site: last seen, sync lag, revenue today and this week,
active sessions, routers online, and whether the site runs the latest configuration.

Revenue is the sum of `payment.processed` amounts; "today" and "this week" (from Monday)
are the receiver's `[site] timezone` days. Sessions and routers are what the box
reported with its last push (`status`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from peewee import fn

from ..events import money
from ..store.models import iso
from .store import ConfigChange, Event, Site


def day_starts(now: datetime, tz: str) -> tuple[datetime, datetime]:
    """The start of today and of this week (Monday) in `tz`, as aware datetimes."""
    local = now.astimezone(ZoneInfo(tz))
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return today, today - timedelta(days=today.weekday())


def _revenue(site_id: str, since: datetime) -> tuple[int | float, int]:
    total, count = (Event.select(fn.SUM(Event.amount), fn.COUNT(Event.id))
                    .where((Event.site == site_id) & (Event.type == "payment.processed")
                           & (Event.at >= since)).scalar(as_tuple=True))
    return money(total or 0), count or 0


def site_row(site: Site, now: datetime, today: datetime, week: datetime) -> dict[str, Any]:
    status = site.status or {}
    revenue_today, payments_today = _revenue(site.id, today)
    revenue_week, payments_week = _revenue(site.id, week)
    latest = (ConfigChange.select(fn.MAX(ConfigChange.id))
              .where(ConfigChange.site.is_null() | (ConfigChange.site == site.id)).scalar()) or 0
    return {
        "id": site.id, "name": site.name,
        "last_seen": iso(site.last_seen_at) if site.last_seen_at else None,
        "last_seen_ago_s": None if site.last_seen_at is None else max(0, int((now - site.last_seen_at).total_seconds())),
        "sync_lag_s": None if site.synced_through is None else max(0, int((now - site.synced_through).total_seconds())),
        "waiting": site.waiting,
        "revenue_today": revenue_today, "payments_today": payments_today,
        "revenue_week": revenue_week, "payments_week": payments_week,
        "sessions_open": status.get("sessions_open"), "subscriptions_active": status.get("subscriptions_active"),
        "routers_online": status.get("routers_online"), "routers_total": status.get("routers_total"),
        "failed_tasks": status.get("failed_tasks"),
        "config_version": site.config_version, "config_latest": latest,
        "events": site.last_event_id,
    }


def overview(now: datetime, tz: str) -> dict[str, Any]:
    today, week = day_starts(now, tz)
    sites = [site_row(site, now, today, week) for site in Site.select().order_by(Site.name)]
    return {"at": iso(now), "timezone": tz, "today_from": iso(today), "week_from": iso(week), "sites": sites,
            "revenue_today": money(sum(s["revenue_today"] for s in sites)),
            "revenue_week": money(sum(s["revenue_week"] for s in sites))}

