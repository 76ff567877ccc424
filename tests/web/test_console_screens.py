"""The console's API behind issue 19's screens, in-process: how paid and its filter, the
payments export, income month by month, charts drawn at the page's width, failed tasks and
alerts in words, the disconnect with its deadline, the WiFi name on the voucher sheet."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from hotspotd.billing import c2b
from hotspotd.billing.callbacks import Incoming
from hotspotd.billing.packages import add_package
from hotspotd.sim.daraja.wire import c2b_body, masked_msisdn
from hotspotd.store.db import utcnow, write_transaction
from hotspotd.store.models import Event, FailedTask, Session

from ..sales import paid_payment, router, session_start


@pytest.fixture
def hour(store):
    return add_package(name="Hour", price=50, duration="1h", rate="2M/5M", now=utcnow())


def test_how_paid_is_listed_filtered_and_exported_with_the_filters(clerk, hour, config):
    config.mpesa.paybill = "600100"
    stk = paid_payment(hour.id, utcnow() - timedelta(minutes=5), phone="254712000301")
    offer = c2b.make_offer(hour, mac="AA:BB:CC:00:00:31", ip="10.5.50.31", now=utcnow(), customer_id=None)
    status, page = clerk.json("GET", "/api/admin/payments?method=c2b")
    assert status == 200 and [p["id"] for p in page["items"]] == [offer.id]
    assert page["items"][0]["how_paid"] == "Paybill" and page["items"][0]["account"] == offer.account
    assert clerk.json("GET", "/api/admin/payments?method=cash")[0] == 400
    status, detail = clerk.json("GET", f"/api/admin/payments/{offer.id}")
    assert status == 200 and detail["business_number"] == "600100"
    assert "business number 600100" in detail["diagnosis"]

    status, headers, body = clerk.call("GET", "/api/admin/payments.csv?method=stk&status=paid")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"].startswith('attachment; filename="payments-')
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [r["reference"] for r in rows] == [stk.ref] and rows[0]["phone"] == "2547*****301"
    assert "254712000301" not in body.decode()  # masked, as on every page
    for bad in ("since=yesterday", "method=cash", "status=gone", "package=x"):
        status, _, body = clerk.call("GET", "/api/admin/payments.csv?" + bad)
        assert status == 400 and json.loads(body)["error"], bad


def test_unmatched_paybill_money_is_listed_for_the_operator(clerk, hour):
    now = utcnow()
    body = json.dumps(c2b_body(trans_id="TKNOBODY01", when=now, amount=50, short_code="600100", bill_ref="1234567",
                               msisdn=masked_msisdn("254712000302"))).encode()
    assert c2b.record_confirmations([Incoming(body, "127.0.0.1", now)])[0].outcome == "unmatched"
    status, found = clerk.json("GET", "/api/admin/paybill/unmatched")
    assert status == 200 and found["items"][0]["receipt"] == "TKNOBODY01"
    assert found["items"][0]["account"] == "1234567" and found["items"][0]["reason"] == "unknown account number"


def test_income_by_month_and_charts_at_the_pages_width(clerk, hour):
    paid_payment(hour.id, utcnow() - timedelta(minutes=5))
    status, data = clerk.json("GET", "/api/admin/income")
    assert status == 200 and data["currency"] == "KES" and len(data["months"]) == 12
    assert data["months"][-1]["total"] == 50 and data["months"][-1]["mpesa"]["payments"] == 1
    status, d = clerk.json("GET", "/api/admin/dashboard")
    assert d["income"]["today"]["total"] == 50 and d["alerts_open"] == 0
    for chart in ("revenue", "sessions"):
        status, _, svg = clerk.call("GET", f"/api/admin/charts/{chart}.svg?width=344")
        assert status == 200 and b'viewBox="0 0 344 240"' in svg, chart
        assert b'viewBox="0 0 240 240"' in clerk.call("GET", f"/api/admin/charts/{chart}.svg?width=20")[2]
        assert clerk.call("GET", f"/api/admin/charts/{chart}.svg?width=wide")[0] == 400


def test_failed_tasks_and_alerts_come_in_words(clerk, hour):
    paid = paid_payment(hour.id, utcnow())
    with write_transaction():
        FailedTask.create(task="auto_login", args=[[paid.id]], attempts=5, failed_at=utcnow(),
                          error="RouterCommandRefused: /ip/hotspot/active/login: invalid user name or password")
    status, failed = clerk.json("GET", "/api/admin/queue/failed")
    item = failed["items"][0]
    assert status == 200 and item["work"] == "Logging a device in at the router after its payment"
    assert item["problem"].startswith("The router would not log the device in")
    assert item["error"].startswith("RouterCommandRefused")  # the raw text stays, for the details
    assert {s["kind"] for s in item["subjects"]} == {"payment", "customer"}  # no MAC on this payment
    from hotspotd import alerts

    alerts.state.apply(alerts.conditions.failed_tasks(), utcnow(), site="Hotspot", deliver=False)
    status, listed = clerk.json("GET", "/api/admin/alerts")
    first = listed["items"][0]
    assert first["headline"] == "Background work gave up after all its retries: 1 task waits for you below."
    assert first["action"]["kind"] == "retry_all" and "no alert channel is set up" in first["delivery"]
    assert clerk.json("GET", "/api/admin/dashboard")[1]["alerts_open"] == 1


def test_an_operator_disconnects_a_session_and_may_ask_again(clerk, hour):
    gate = router()
    paid_payment(hour.id, utcnow())
    username = Event.select().where(Event.type == "subscription.created").get().data["username"]
    session_start(gate.id, username, utcnow(), "s-31")
    session = Session.get(Session.acct_session_id == "s-31")
    status, listed = clerk.json("GET", "/api/admin/sessions")
    assert status == 200 and listed["items"][0]["disconnect"] is None
    status, asked = clerk.json("POST", f"/api/admin/sessions/{session.id}/disconnect", {})
    assert status == 202 and asked["asked"] is True and asked["disconnect"]["state"] == "waiting"
    assert 0 < asked["disconnect"]["wait_s"] <= 15
    listed = clerk.json("GET", "/api/admin/sessions")[1]["items"][0]
    assert listed["disconnect"]["state"] == "waiting" and listed["disconnect_requested"] is True
    Session.update(disconnect_attempts=1).where(Session.id == session.id).execute()  # the router stayed silent
    assert clerk.json("GET", "/api/admin/sessions")[1]["items"][0]["disconnect"]["state"] == "no_answer"
    status, again = clerk.json("POST", f"/api/admin/sessions/{session.id}/disconnect", {})
    assert status == 202 and again["disconnect"]["state"] == "waiting" and again["disconnect"]["attempts"] == 0
    actions = [e.data["action"] for e in Event.select().where(Event.type == "admin.action")]
    assert actions.count("session.disconnect") == 2
    assert clerk.json("POST", "/api/admin/sessions/999999/disconnect", {})[0] == 404


def test_the_wifi_name_goes_on_the_voucher_sheet(boss, hour):
    assert boss.json("POST", "/api/admin/settings", {"wifi_name": "x" * 33})[0] == 400
    status, settings = boss.json("POST", "/api/admin/settings", {"wifi_name": "Cafe-WiFi"})
    assert status == 200 and settings["wifi_name"] == "Cafe-WiFi"
    status, batch = boss.json("POST", "/api/admin/vouchers", {"package_id": hour.id, "count": 2})
    codes = boss.json("GET", f"/api/admin/vouchers/{batch['batch']}")[1]["items"]
    assert all(c["printed"] == f"{c['code'][:5]}-{c['code'][5:]}" for c in codes)
    page = boss.call("GET", f"/vouchers/{batch['batch']}/print")[2].decode()
    assert page.count("WiFi: <strong>Cafe-WiFi</strong>") == 2 and '<button type="button" id="print">' in page
    exported = list(csv.DictReader(io.StringIO(boss.call("GET", f"/api/admin/vouchers/{batch['batch']}/csv")[2].decode())))
    assert [r["printed_code"] for r in exported] == [c["printed"] for c in codes]


def test_the_last_admin_cannot_become_an_operator_and_is_told_why(boss):
    status, body = boss.json("POST", "/api/admin/admins/boss/role", {"role": "operator"})
    assert status == 409 and "there must always be an admin" in body["error"]


def test_a_link_with_filters_keeps_them_through_the_login(app):
    from urllib.parse import parse_qs, urlsplit

    from .conftest import ADMIN, Client

    visitor = Client(app)
    status, headers, _ = visitor.call("GET", "/payments?method=c2b&status=paid")
    assert status == 303
    where = parse_qs(urlsplit(headers["Location"]).query)["next"][0]
    assert where == "/payments?method=c2b&status=paid"
    status, headers, _ = visitor.call("POST", "/login", form={"username": ADMIN[0], "password": ADMIN[1], "next": where})
    assert status == 303 and headers["Location"].endswith("/payments?method=c2b&status=paid")
