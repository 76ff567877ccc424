"""Who is asking, tried as an attacker on the hotspot LAN would: the portal in process, a real
RouterOS simulator over the wire whose host table says which MAC is at which address.
Every customer has an address of its own; each attack fails and each honest path works,
also with the router's API down."""

from __future__ import annotations

import json

import pytest

from hotspotd.billing import bindings, callbacks, payments, vouchers
from hotspotd.billing.packages import add_package
from hotspotd.customer.checkout import Checkout
from hotspotd.devices import CLAIM_REFUSED, UNVERIFIED
from hotspotd.mpesa.client import DarajaClient
from hotspotd.plumbing.runtime import Runtime
from hotspotd.router import add_router
from hotspotd.sessions import AccountingRecord, AcctStatus, apply_accounting
from hotspotd.sim.daraja.wire import success_callback
from hotspotd.sim.routeros import RouterOSSimulator
from hotspotd.store.db import utcnow
from hotspotd.store.models import Credential, Event, Payment, Router, Trial
from hotspotd.web.portal import make_app

from .test_portal_api import request

VICTIM, ATTACKER = ("AA:BB:CC:00:00:01", "10.5.50.2"), ("AA:BB:CC:00:00:66", "10.5.50.66")
PHONE = "0712345678"


@pytest.fixture
def routeros():
    with RouterOSSimulator(password="api-pass") as sim:
        for mac, ip in (VICTIM, ATTACKER):
            sim.router.connect_device(mac, ip)
        yield sim


@pytest.fixture
def site(store, config, make_sim, routeros):
    config.portal.trial_minutes = 15
    config.mpesa.paybill = "600984"
    sim = make_sim(callback_delay=3600)
    daraja = DarajaClient(sim.url, "sim-key", "sim-secret", "174379", config.mpesa.passkey, timeout=5)
    runtime = Runtime(config, daraja=daraja)
    checkout = Checkout(runtime)
    app = make_app(config, checkout)
    add_router("gate", "127.0.0.1", "radius-secret-123", "127.0.0.1", api_port=routeros.port, api_user="admin",
               api_password="api-pass", now=utcnow())
    hour = add_package(name="Hour", price=10, duration="1h", devices=1, now=utcnow())
    yield app, hour
    app.config["hotspotd.portal"].cases.close()
    checkout.close()
    runtime.close()


def as_(who: tuple[str, str], app, method: str, path: str, body: dict | None = None):
    return request(app, method, path, body, remote=who[1])


def paid(app, who, body: dict) -> dict:
    """Pay (the prompt), let M-Pesa say paid, apply; the page's poll of its payment id."""
    started = as_(who, app, "POST", "/api/portal/pay", {"package_id": 1, "phone": PHONE, **body})
    assert started.status == 202, started.json
    payment = Payment.get(Payment.ref == started.json["payment_id"])
    callback = success_callback(payment.checkout_request_id, "m", 10, f"TJK{payment.id:07d}", "254712345678",
                                utcnow())
    assert callbacks.record_callback(json.dumps(callback).encode(), remote_addr=None, now=utcnow()).apply
    payments.apply(payment.id, utcnow())
    return as_(who, app, "GET", f"/api/portal/payments/{started.json['payment_id']}").json


def victims_account(app) -> dict:
    view = paid(app, VICTIM, {"mac": VICTIM[0], "ip": VICTIM[1]})
    assert view["status"] == "paid" and view["password"]
    return view


def test_the_victim_pays_and_their_device_is_known(site):
    app, _ = site
    view = victims_account(app)
    customer = Credential.get(Credential.username == view["username"]).customer_id
    assert bindings.bound(customer) == [VICTIM[0]]
    status = as_(VICTIM, app, "GET", "/api/portal/status").json  # no claim needed: the router knows
    assert status["known"] and status["username"] == view["username"] and status["password"] == view["password"]


def test_a_top_up_for_another_device_is_refused_and_tells_nothing(site):
    app, _ = site
    victims_account(app)
    before = Payment.select().count()
    answer = as_(ATTACKER, app, "POST", "/api/portal/pay",
                 {"package_id": 1, "phone": PHONE, "mac": VICTIM[0], "ip": VICTIM[1], "top_up": True})
    assert (answer.status, answer.json["error"]) == (403, CLAIM_REFUSED)
    assert Payment.select().count() == before
    [event] = Event.select().where(Event.type == "device.claim_refused")
    assert (event.data["address"], event.data["mac"], event.data["claimed_mac"]) == (ATTACKER[1], ATTACKER[0],
                                                                                     VICTIM[0])


def test_a_top_up_from_the_attackers_own_device_buys_the_attacker_an_account_of_its_own(site):
    app, _ = site
    victim = victims_account(app)
    mine = paid(app, ATTACKER, {"top_up": True})
    assert mine["username"] != victim["username"]


def test_status_and_logout_answer_no_one_but_the_device(site):
    app, _ = site
    victim = victims_account(app)
    peek = as_(ATTACKER, app, "GET", f"/api/portal/status?mac={VICTIM[0]}&ip={VICTIM[1]}")
    assert peek.status == 403 and "username" not in peek.json
    assert as_(ATTACKER, app, "GET", "/api/portal/status").json == {"online": False, "known": False,
                                                                    "verified": True}
    stolen = {"username": victim["username"], "password": victim["password"]}
    assert as_(ATTACKER, app, "POST", "/api/portal/logout", {**stolen, "mac": VICTIM[0]}).status == 403
    assert as_(ATTACKER, app, "POST", "/api/portal/logout", stolen).json == {"logged_out": 0}


def test_a_stolen_password_has_no_slot_on_another_device(site):
    app, _ = site
    victim = victims_account(app)
    login = as_(ATTACKER, app, "POST", "/api/portal/login",
                {"username": victim["username"], "password": victim["password"]})
    assert login.status == 409 and "as many devices as it allows" in login.json["error"]


def test_the_payment_page_of_another_device_gets_no_login(site):
    app, _ = site
    started = as_(VICTIM, app, "POST", "/api/portal/pay", {"package_id": 1, "phone": PHONE})
    ref = started.json["payment_id"]
    payment = Payment.get(Payment.ref == ref)
    callback = success_callback(payment.checkout_request_id, "m", 10, "TJK0000001", "254712345678", utcnow())
    callbacks.record_callback(json.dumps(callback).encode(), remote_addr=None, now=utcnow())
    payments.apply(payment.id, utcnow())
    assert "password" not in as_(ATTACKER, app, "GET", f"/api/portal/payments/{ref}").json  # a leaked id
    assert as_(VICTIM, app, "GET", f"/api/portal/payments/{ref}").json["password"]


def test_trials_are_one_per_real_device(site, routeros):
    app, _ = site
    first = as_(ATTACKER, app, "POST", "/api/portal/trial", {})
    assert first.status == 200
    for n in range(3):  # a new made-up MAC each time
        farmed = as_(ATTACKER, app, "POST", "/api/portal/trial", {"mac": f"02:00:00:00:00:0{n}"})
        assert farmed.status == 403
    again = as_(ATTACKER, app, "POST", "/api/portal/trial", {})
    assert again.json["username"] == first.json["username"]  # its own, running: the same login back
    assert Trial.select().count() == 1
    customer = Credential.get(Credential.username == first.json["username"]).customer_id
    assert bindings.bound(customer) == [ATTACKER[0]]  # RADIUS takes its login from no other device


def test_with_the_routers_api_down_the_portal_still_sells_to_the_page_that_pays(site, routeros):
    """No router to ask: a new payment's login goes to the page that started it, a voucher's
    to whoever types it; nothing that shows, extends or logs out an account answers."""
    app, hour = site
    routeros.stop()
    view = paid(app, VICTIM, {"mac": VICTIM[0], "ip": VICTIM[1]})
    assert view["status"] == "paid" and view["password"]
    [code] = vouchers.make(hour, 1, utcnow())
    assert as_(VICTIM, app, "POST", "/api/portal/voucher", {"code": code, "mac": VICTIM[0]}).json["password"]
    for path, body in (("/api/portal/trial", {"mac": VICTIM[0]}),
                       ("/api/portal/pay", {"package_id": 1, "phone": PHONE, "top_up": True, "mac": VICTIM[0]}),
                       ("/api/portal/logout", {"username": view["username"], "password": view["password"],
                                               "mac": VICTIM[0]})):
        refused = as_(ATTACKER, app, "POST", path, body)
        assert (refused.status, refused.json["error"]) == (403, UNVERIFIED), path
    assert as_(ATTACKER, app, "GET", f"/api/portal/status?mac={VICTIM[0]}").json["known"] is False


def test_a_device_online_at_a_router_without_api_is_known_by_its_accounting(site, routeros):
    """A RADIUS-only router: the open session at the request's address names the device."""
    app, _ = site
    view = victims_account(app)
    routeros.stop()
    apply_accounting([AccountingRecord(Router.get().id, AcctStatus.START, "s1", view["username"], VICTIM[0],
                                       VICTIM[1])], utcnow())
    status = as_(VICTIM, app, "GET", "/api/portal/status").json
    assert status["online"] and status["username"] == view["username"]


def test_a_foreign_login_link_is_not_used_and_the_page_carries_its_policy(site):
    app, _ = site
    page = request(app, "GET", "/?mac=AA:BB:CC:00:00:01&link-login-only=https://evil.example/x"
                               "&link-orig=https://evil.example/y")
    assert "evil.example" not in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "evil" not in policy
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text  # data in JSON blocks, code from the script file
    ours = request(app, "GET", "/?link-login-only=http://127.0.0.1/login")  # the router's own address
    assert 'action="http://127.0.0.1/login"' in ours.text


def queue_of_customers(app, hour, address) -> list[int]:
    """200 customers at once: the first 100 pay, the others redeem a voucher; answers' statuses."""
    codes = vouchers.make(hour, 100, utcnow())
    return [request(app, "POST", "/api/portal/pay", {"package_id": 1, "phone": f"07120{n:05d}"},
                    remote=address(n)).status for n in range(100)] + \
        [request(app, "POST", "/api/portal/voucher", {"code": codes[n], "mac": f"02:00:00:00:01:{n:02X}"},
                 remote=address(100 + n)).status for n in range(100)]


def test_a_queue_of_customers_from_their_own_addresses_pays_and_redeems_at_once(site):
    app, hour = site
    answers = queue_of_customers(app, hour, lambda n: f"10.5.60.{n}")
    assert answers == [202] * 100 + [200] * 100  # nobody told to wait


def test_a_queue_through_one_router_address_draws_a_warning_not_a_lockout(site, config):
    """The same 200 arriving through the router's own address (its masquerade) all get
    through; the router's view and `doctor` tell the operator how to fix it, once."""
    from hotspotd.operations.health import check_routers
    from hotspotd.router.records import router_dict
    from hotspotd.store.models import HealthLog

    app, hour = site
    answers = queue_of_customers(app, hour, lambda n: "127.0.0.1")  # the router's own address
    assert answers == [202] * 100 + [200] * 100
    gate = router_dict(Router.get())
    [warning] = gate["hotspot_warnings"]
    assert "cannot tell them apart" in warning and "hotspotd router deploy gate" in warning
    [line] = HealthLog.select().where(HealthLog.component == "portal")
    assert "router gate's own address" in line.message
    [check] = [c for c in check_routers([gate], probe=lambda r: (True, "up")) if c.name == "router gate hotspot"]
    assert check.status == "warn"
