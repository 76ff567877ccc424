"""The console's JSON API in-process: what the pages and scripts get, and clear 4xx for bad input."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from hotspotd.billing.packages import add_package
from hotspotd.store.db import utcnow
from hotspotd.store.models import Event

from ..sales import paid_payment, pending_payment
from .conftest import Client


@pytest.fixture
def hour(store):
    return add_package(name="Hour", price=50, duration="1h", rate="2M/5M", now=utcnow())


def test_dashboard_and_its_charts(boss, hour):
    paid_payment(hour.id, utcnow())  # now, not minutes ago: just after the site's midnight that was yesterday
    status, d = boss.json("GET", "/api/admin/dashboard")
    assert status == 200 and d["revenue"]["today"] == {"amount": 50, "payments": 1} and d["currency"] == "KES"
    assert d["queue"]["mode"] == "immediate" and d["site"]["timezone"] == "Africa/Nairobi"
    assert d["last_event_id"] == Event.select().order_by(Event.id.desc()).first().id
    status, headers, svg = boss.call("GET", "/api/admin/charts/revenue.svg")
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml")
    assert svg.count(b'<rect class="bar"') == 1 + 1  # today's M-Pesa bar and the legend's swatch
    assert b"KES 50" in svg and b'<text class="unit"' in svg
    status, _, svg = boss.call("GET", "/api/admin/charts/sessions.svg")
    assert status == 200 and b"<polyline" in svg


def test_payments_list_pages_and_filters(boss, hour):
    for i in range(3):
        paid_payment(hour.id, utcnow() - timedelta(minutes=10 - i), phone=f"25471200010{i}")
    pending_payment(hour.id, utcnow())
    status, page = boss.json("GET", "/api/admin/payments?per_page=2")
    assert status == 200 and page["total"] == 4 and len(page["items"]) == 2 and page["page"] == 1
    assert {"items", "page", "per_page", "total"} <= set(page)
    assert all(re.fullmatch(r"2547\*{5}\d{3}", p["phone"]) for p in page["items"])
    status, only = boss.json("GET", "/api/admin/payments?status=paid&q=0712000101")
    assert status == 200 and only["total"] == 1 and only["items"][0]["status"] == "paid"
    today = utcnow().astimezone().date().isoformat()
    assert boss.json("GET", f"/api/admin/payments?since={today}")[1]["total"] >= 1
    for bad in ("page=0", "per_page=999", "since=yesterday", "status=gone", "q=" + "x" * 200, "package=abc"):
        status, body = boss.json("GET", "/api/admin/payments?" + bad)
        assert status == 400 and body["error"], bad


def test_payment_detail_and_resend(clerk, hour):
    payment = paid_payment(hour.id, utcnow())
    status, detail = clerk.json("GET", f"/api/admin/payments/{payment.id}")
    assert status == 200 and detail["steps"][0]["step"] == "started"
    status, creds = clerk.json("POST", f"/api/admin/payments/{payment.id}/resend", {})
    assert status == 200 and creds["username"].startswith("u") and len(creds["password"]) == 8
    assert clerk.json("GET", "/api/admin/payments/999999")[0] == 404
    status, body = clerk.json("POST", f"/api/admin/payments/{payment.id}/extend", {"seconds": "an hour"})
    assert status == 400
    status, body = clerk.json("POST", f"/api/admin/payments/{payment.id}/extend", {"seconds": 3600, "reason": "goodwill"})
    assert status == 200 and body["subscription_id"] == payment.subscription_id
    assert clerk.json("POST", "/api/admin/payments/999999/extend", {"seconds": 3600})[0] == 404


def test_vouchers_made_by_an_operator_print_and_export(clerk, hour, config):
    status, batch = clerk.json("POST", "/api/admin/vouchers", {"package_id": hour.id, "count": 4})
    assert status == 201 and batch["count"] == 4
    status, codes = clerk.json("GET", f"/api/admin/vouchers/{batch['batch']}")
    codes = [c["code"] for c in codes["items"]]
    status, _, page = clerk.call("GET", f"/vouchers/{batch['batch']}/print")
    text = page.decode()
    assert status == 200 and text.count('class="qr"') == 4
    # the one script is the Print button's own file: nothing inline, nothing from the codes
    assert re.findall(r"<script[^>]*>", text) == ['<script src="/static/admin-print.js" defer>']
    assert 'id="print"' in text and "WiFi: <strong>Hotspot</strong>" in text  # no WiFi name set: the site's
    for code in codes:
        assert f"{code[:5]}-{code[5:]}" in text  # as the batch's page writes it
    assert "KES 50" in text and "Valid 1h" in text
    status, headers, data = clerk.call("GET", f"/api/admin/vouchers/{batch['batch']}/csv")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert [r["code"] for r in rows] == codes and rows[0]["url"] == f"{config.portal.public_url}/?voucher={codes[0]}"
    status, voided = clerk.json("POST", f"/api/admin/vouchers/{batch['batch']}/void", {"voucher_id": 10**6})
    assert status == 400
    status, voided = clerk.json("POST", f"/api/admin/vouchers/{batch['batch']}/void", {})
    assert status == 200 and voided["voided"] == 4
    status, _, page = clerk.call("GET", f"/vouchers/{batch['batch']}/print")
    assert b"No unused vouchers" in page
    assert clerk.json("GET", "/api/admin/vouchers/no-such-batch")[0] == 404
    for bad in ({"package_id": hour.id, "count": 0}, {"package_id": "x", "count": 1}, {"count": 5}, {}):
        assert clerk.json("POST", "/api/admin/vouchers", bad)[0] in (400, 404), bad


def test_packages_are_changed_by_admins_only(boss, clerk):
    body = {"name": "Day", "price": "100", "duration": "1d", "rate": "3M/6M", "data": "3GB", "devices": "2"}
    assert clerk.json("POST", "/api/admin/packages", body)[0] == 403
    status, package = boss.json("POST", "/api/admin/packages", body)
    assert status == 201 and package["data"] == "3GB" and package["devices"] == 2
    status, package = boss.json("POST", f"/api/admin/packages/{package['id']}", {"active": False})
    assert status == 200 and package["active"] is False
    status, listed = clerk.json("GET", "/api/admin/packages")
    assert status == 200 and listed[0]["active"] is False  # the old route keeps its plain array
    for bad in ({"name": "x", "price": "free", "duration": "1h"}, {"name": "x", "price": 10, "duration": "soon"},
                {"name": "x", "price": 10, "duration": "1h", "rate": "fast"}, {"name": ["x"], "price": 1, "duration": "1h"}):
        assert boss.json("POST", "/api/admin/packages", bad)[0] == 400, bad


def test_settings_by_an_admin_show_to_everyone(boss, clerk):
    assert clerk.json("POST", "/api/admin/settings", {"name": "Cafe"})[0] == 403
    status, changed = boss.json("POST", "/api/admin/settings", {"name": "Mama Njeri Cafe", "help_phone": "+254 700 000 000",
                                                                "timezone": "Africa/Kampala"})
    assert status == 200 and changed["timezone"] == "Africa/Kampala"
    assert clerk.json("GET", "/api/admin/me")[1]["site"]["name"] == "Mama Njeri Cafe"
    assert boss.json("POST", "/api/admin/settings", {"timezone": "Mars/Olympus"})[0] == 400
    assert boss.json("POST", "/api/admin/settings", {"colour": "red"})[0] == 400
    entry = boss.json("GET", "/api/admin/audit")[1]["items"][0]["data"]
    assert entry["action"] == "settings.update" and entry["by"] == "boss"


def test_accounts_from_the_console(boss, clerk):
    status, made = boss.json("POST", "/api/admin/admins", {"username": "night", "password": "night shift pass"})
    assert status == 201 and made["role"] == "operator"
    assert boss.json("POST", "/api/admin/admins", {"username": "night", "password": "another pass"})[0] == 409
    assert boss.json("POST", "/api/admin/admins", {"username": "x", "password": "short"})[0] == 400
    assert Client(boss.app).login("night", "night shift pass") == 200
    assert boss.json("POST", "/api/admin/admins/boss/role", {"role": "operator"})[0] == 409  # the last admin
    assert boss.json("POST", "/api/admin/admins/boss/remove", {})[0] == 400  # yourself
    assert boss.json("POST", "/api/admin/admins/night/remove", {})[0] == 200
    assert boss.json("POST", "/api/admin/admins/night/remove", {})[0] == 404
    names = [a["username"] for a in boss.json("GET", "/api/admin/admins")[1]["items"]]
    assert names == ["boss", "clerk"]


def test_customers_search_detail_and_secrets_are_audited(clerk, hour):
    payment = paid_payment(hour.id, utcnow(), phone="254722333444")
    status, found = clerk.json("GET", "/api/admin/customers?q=0722333444")
    assert status == 200 and [c["id"] for c in found["items"]] == [payment.customer_id]
    assert found["items"][0]["phone"] == "2547*****444"
    username = found["items"][0]["username"]
    assert clerk.json("GET", f"/api/admin/customers?q={username}")[1]["total"] == 1
    status, detail = clerk.json("GET", f"/api/admin/customers/{payment.customer_id}")
    assert status == 200 and detail["current"]["package"] == "Hour" and detail["current"]["seconds_left"] > 3500
    status, secret = clerk.json("POST", f"/api/admin/customers/{payment.customer_id}/phone", {})
    assert status == 200 and secret["phone"] == "254722333444"
    actions = [e.data["action"] for e in Event.select().where(Event.type == "admin.action").order_by(Event.id)]
    assert actions[-1] == "customer.phone"
    assert clerk.json("GET", "/api/admin/customers/424242")[0] == 404


def test_events_and_metrics_need_a_login_or_the_scrape_token(app, config):
    anonymous = Client(app)
    assert anonymous.call("GET", "/metrics")[0] == 401
    config.admin.metrics_token = "scrape-token-0123456789"
    assert anonymous.call("GET", "/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"})[0] == 401
    status, _, text = anonymous.call("GET", "/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
    assert status == 200 and b'hotspotd_payments{status="paid"} 0.0' in text
    assert b"hotspotd_radius_drops_total" in text or b"# TYPE hotspotd_radius_drops counter" in text
    assert anonymous.call("GET", "/api/admin/events", headers={"Authorization": "Bearer scrape-token-0123456789"})[0] == 401


def test_metrics_add_up_what_every_process_published(boss):
    from hotspotd.plumbing import counters

    now = utcnow()
    counters.publish("radius-0", [("radius_decision", "ok", 5), ("radius_decision", "expired", 2),
                                  ("radius_drop", "malformed", 7)], now)
    counters.publish("radius-1", [("radius_decision", "ok", 3), ("radius_drop", "malformed", 1)], now)
    counters.publish("worker", [("task", "apply_payments:done", 4), ("task", "check_payment:failed", 1)], now)
    counters.publish("radius-0", [("radius_decision", "ok", 6)], now)  # a newer count replaces the older
    status, _, text = boss.call("GET", "/metrics")
    text = text.decode()
    assert status == 200
    assert "hotspotd_radius_accepts_total 9.0" in text
    assert 'hotspotd_radius_rejects_total{reason="expired"} 2.0' in text
    assert 'hotspotd_radius_drops_total{reason="malformed"} 8.0' in text
    assert 'hotspotd_task_outcomes_total{outcome="done",task="apply_payments"} 4.0' in text
    assert 'hotspotd_queue_depth{state="queued",task="apply_payments"} 0.0' in text
    assert "hotspotd_sync_waiting_events" in text and "hotspotd_routers" in text


def test_an_operator_reads_no_audit_entries_in_the_event_list(boss, clerk, hour):
    """The audit log is the admin's (its page is admin-only); the event list must not leak it."""
    assert clerk.json("GET", "/api/admin/audit")[0] == 403
    assert boss.json("POST", "/api/admin/packages", {"name": "Day", "price": 90, "duration": "1d",
                                                      "rate": "2M/5M"})[0] == 201  # writes an admin.action
    paid_payment(hour.id, utcnow())  # and events an operator does see
    audited = Event.select().where(Event.type == "admin.action").count()
    assert audited >= 1
    for path in ("/api/admin/events", "/api/admin/events?after=0"):
        status, seen = clerk.json("GET", path)
        assert status == 200 and seen and "admin.action" not in {e["type"] for e in seen}, path
        status, seen = boss.json("GET", path)
        assert status == 200 and sum(e["type"] == "admin.action" for e in seen) == audited, path
