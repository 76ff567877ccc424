"""The operator's overview (page and JSON): per site last seen, sync lag, revenue today
and this week, sessions, routers; login as on the admin page. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest

from hotspotd.central.operators import add_operator
from hotspotd.central.receiver import Receiver
from hotspotd.central.sites import add_site
from hotspotd.web.central import make_app

from .wire import batch, call, push

# Wednesday 25 November 2026, 10:00 in Nairobi (07:00 UTC): the week began on Monday the 23rd.
NOW = datetime(2026, 11, 25, 7, 0, tzinfo=timezone.utc)


def paid(event_id: int, amount, at: datetime) -> dict:
    return {"id": event_id, "type": "payment.processed", "at": at.isoformat(),
            "data": {"payment_id": event_id, "amount": amount, "receipt": f"R{event_id}", "phone": "2547*****678"}}


@pytest.fixture
def app(central_store, config):
    receiver = Receiver(central_store, config, clock=lambda: NOW)
    add_operator(central_store, "boss", "correct horse", NOW)
    return make_app(config, receiver)


def login(app) -> dict[str, str]:
    status, headers, _ = call(app, "POST", "/login", b"username=boss&password=correct+horse",
                              {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303 and headers["Location"].endswith("/")
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    return {"Cookie": cookie.split(";")[0]}


def test_figures_per_site(app, central_store):
    kilimani = add_site(central_store, "Kilimani", NOW)
    add_site(central_store, "Westlands", NOW)  # never synced
    nairobi_midnight = datetime(2026, 11, 24, 21, 0, tzinfo=timezone.utc)  # 25 Nov 00:00 in Nairobi
    evts = [paid(1, 50, nairobi_midnight - timedelta(days=3)),  # Sunday 22nd: last week
            paid(2, 10, nairobi_midnight - timedelta(hours=20)),  # Tuesday: this week
            paid(3, 50, nairobi_midnight + timedelta(minutes=1)),  # today
            paid(4, 12.5, NOW - timedelta(minutes=5))]  # today
    status = {"sessions_open": 7, "subscriptions_active": 9, "routers_online": 1, "routers_total": 2}
    assert push(app, kilimani.site_id, kilimani.site_key, batch(evts, status=status, waiting_after=120),
                now=NOW.timestamp())[0] == 200

    status, _, view = call(app, "GET", "/api/central/overview", headers=login(app))
    assert status == 200
    row = next(s for s in view["sites"] if s["id"] == kilimani.site_id)
    assert (row["revenue_today"], row["payments_today"]) == (62.5, 2)
    assert (row["revenue_week"], row["payments_week"]) == (72.5, 3)
    assert (row["sessions_open"], row["routers_online"], row["routers_total"]) == (7, 1, 2)
    assert row["last_seen"] == "2026-11-25T07:00:00Z" and row["waiting"] == 120
    assert row["sync_lag_s"] == 300  # complete up to the last event sent, five minutes ago
    never = next(s for s in view["sites"] if s["name"] == "Westlands")
    assert never["last_seen"] is None and never["sync_lag_s"] is None and never["revenue_today"] == 0
    assert view["revenue_today"] == 62.5

    status, _, page = call(app, "GET", "/", headers=login(app))
    assert status == 200 and "Kilimani" in page and "62.5" in page and "1 / 2" in page


def test_the_overview_needs_a_login(app):
    assert call(app, "GET", "/api/central/overview")[0] == 401
    status, headers, _ = call(app, "GET", "/")
    assert status == 303 and headers["Location"].endswith("/login")
    status, _, page = call(app, "POST", "/login", b"username=boss&password=wrong",
                           {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 401 and "Wrong name or password" in page
    basic = {"Authorization": "Basic " + base64.b64encode(b"boss:correct horse").decode()}
    assert call(app, "GET", "/api/central/overview", headers=basic)[0] == 200
    bad = {"Authorization": "Basic " + base64.b64encode(b"boss:nope").decode()}
    assert call(app, "GET", "/api/central/overview", headers=bad)[0] == 401


def test_logout_ends_the_session(app):
    cookie = login(app)
    assert call(app, "GET", "/api/central/overview", headers=cookie)[0] == 200
    assert call(app, "POST", "/logout", headers=cookie)[0] == 303
    assert call(app, "GET", "/api/central/overview", headers=cookie)[0] == 401


def test_healthz(app):
    assert call(app, "GET", "/healthz")[:3:2] == (200, {"status": "ok"})
