"""/api/admin/subscribers: the console's Subscribers page, in process, with both roles."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from hotspotd.billing.packages import add_package
from hotspotd.pppoe.console import SubscriberConsole
from hotspotd.sessions import AccountingRecord, apply_accounting
from hotspotd.router import add_router
from hotspotd.store.db import utcnow
from hotspotd.store.models import Event, Payment, Session
from hotspotd.web import admin
from hotspotd.web.admin import subscribers as routes
from hotspotd.web.admin.auth import LoginThrottle



@pytest.fixture
def app(config, console, accounts, clock, runtime):
    """The console with the subscribers' routes (conftest's `boss` and `clerk` log in to it)."""
    extension = SimpleNamespace(install=lambda app: routes.install(app, SubscriberConsole(runtime)))
    return admin.make_app(config, console, throttle=LoginThrottle(config, clock=clock), extensions=[extension])


@pytest.fixture
def plan(store):
    return add_package(name="Home 5M", price=1500, duration="30d", rate="5M/5M", now=utcnow(), service="pppoe")


def test_an_admin_adds_and_everyone_reads(boss, clerk, plan):
    status, made = boss.json("POST", "/api/admin/subscribers", {"name": "Wanjiku", "phone": "0712345678",
                                                                "package_id": plan.id, "paid_until": "2099-01-03"})
    assert status == 201 and len(made["account"]) == 6 and made["password"] and made["status"] == "active"
    assert made["period_end"].startswith("2099-01-03T21:00:00")  # the end of 3 January, Nairobi
    assert clerk.json("POST", "/api/admin/subscribers", {"name": "X", "package_id": plan.id})[0] == 403
    status, listed = clerk.json("GET", "/api/admin/subscribers?status=active")
    assert status == 200 and [s["account"] for s in listed["items"]] == [made["account"]]
    assert "password" not in listed["items"][0] and listed["items"][0]["phone"] == "2547*****678"
    assert clerk.json("GET", "/api/admin/subscribers?status=suspended")[1]["items"] == []
    status, detail = clerk.json("GET", f"/api/admin/subscribers/{made['id']}")
    assert status == 200 and detail["payments"] == [] and detail["owed"] == 1500 and "password" not in detail
    audit = [e.data for e in Event.select().where(Event.type == "admin.action")
             if e.data["action"] == "subscriber.add"]
    assert audit and audit[0]["by"] == "boss"


@pytest.mark.parametrize("body, words", [
    ({"name": "X"}, "No such package"), ({"name": "X", "package_id": "1"}, "not valid"),
    ({"name": "", "package_id": 1}, "name"), ({"name": "X", "package_id": 1, "colour": "red"}, "unknown"),
    ({"name": "X", "package_id": 1, "paid_until": "tomorrow"}, "date"),
])
def test_bad_input_is_a_clear_400(boss, plan, body, words):
    status, answer = boss.json("POST", "/api/admin/subscribers", body)
    assert status in (400, 404) and words in answer["error"], answer


def test_an_operator_suspends_resumes_kicks_and_an_admin_edits(boss, clerk, plan, now):
    made = boss.json("POST", "/api/admin/subscribers", {"name": "Wanjiku", "package_id": plan.id,
                                                        "paid_until": "2099-01-03"})[1]
    router = add_router("gate", "127.0.0.1", "radius-secret-123", now=now)
    apply_accounting([AccountingRecord(router.id, 1, "81C00009", made["username"], "AA:BB:CC:00:00:01",
                                       "10.20.0.9", kind="pppoe")], utcnow())
    status, suspended = clerk.json("POST", f"/api/admin/subscribers/{made['id']}/suspend", {"reason": "asked"})
    assert status == 200 and suspended["status"] == "suspended" and suspended["held"]
    assert Session.get().disconnect_reason == "suspended by the operator"
    status, resumed = clerk.json("POST", f"/api/admin/subscribers/{made['id']}/resume")
    assert status == 200 and resumed["status"] == "active"
    assert clerk.json("POST", f"/api/admin/subscribers/{made['id']}/resume")[0] == 409
    assert clerk.json("POST", f"/api/admin/subscribers/{made['id']}", {"name": "Other"})[0] == 403
    status, edited = boss.json("POST", f"/api/admin/subscribers/{made['id']}", {"name": "W. Kamau",
                                                                               "mac": "aa:bb:cc:00:00:01"})
    assert status == 200 and (edited["name"], edited["mac"]) == ("W. Kamau", "AA:BB:CC:00:00:01")
    status, kicked = clerk.json("POST", f"/api/admin/subscribers/{made['id']}/kick")
    assert status == 202 and kicked["kicked_at_router"] == 0


def test_charge_sends_a_prompt_for_what_is_owed(clerk, boss, plan, runtime, make_sim):
    sim = make_sim(callback_delay=3600)
    runtime.config.mpesa.base_url = sim.url
    made = boss.json("POST", "/api/admin/subscribers", {"name": "Wanjiku", "phone": "0712345678",
                                                        "package_id": plan.id})[1]
    status, charged = clerk.json("POST", f"/api/admin/subscribers/{made['id']}/charge", {})
    assert status == 202 and charged["amount"] == 1500 and charged["status"] == "pending"
    assert sim.pushes[-1]["account_reference"] == made["account"] and sim.pushes[-1]["phone"] == "254712345678"
    assert Payment.get_by_id(charged["payment_id"]).subscriber_id == made["id"]
    assert clerk.json("POST", f"/api/admin/subscribers/{made['id']}/charge", {"amount": 1.5})[0] == 400
