"""Routers end to end: real portal, worker and radius processes, the Daraja simulator, and
the RouterOS simulator speaking the wire format to the worker's librouteros."""

from __future__ import annotations

import socket
import time

import pytest

from hotspotd import config as config_mod
from hotspotd.sim.routeros import RouterOSSimulator
from hotspotd.store.db import db, open_database
from hotspotd.store.models import Event, Payment, Router, Subscription

from .site import Site, free_port, http, wait_for

pytestmark = pytest.mark.e2e

API_PASSWORD = "api-pass"
ROUTERS = {"probe_interval": "1", "offline_after": "3", "connect_timeout": "1", "timeout": "2",
           "sessions_interval": "1", "reconcile_interval": "2", "radius_address": "127.0.0.1"}


@pytest.fixture
def routeros():
    with RouterOSSimulator(password=API_PASSWORD) as sim:
        yield sim


def make_site(tmp_path, daraja, routeros, *, mode: str, roles=("portal", "worker"), package=("--duration", "1h")):
    udp = socket.SOCK_DGRAM
    auth = free_port(udp)
    site = Site(tmp_path, daraja.url, routers=ROUTERS,
                radius={"listen": "127.0.0.1", "auth_port": str(auth), "acct_port": str(free_port(udp)),
                        "sweep_interval": "1"})
    site.auth_port = auth
    site.cli("package", "add", "--name", "Hour", "--price", "10", *package, "--rate", "2M/5M", "--devices", "2")
    site.cli("router", "add", "--name", "gate", "--host", "127.0.0.1", "--api-port", str(routeros.port),
             "--api-user", "admin", "--api-password", API_PASSWORD, "--secret", "radius-secret-123",
             "--mode", mode)
    for role in roles:
        site.start(role)
        if role == "radius":
            wait_for(lambda: "radius serving" in site.log("radius"), 60, "radius role")
    open_database(config_mod.load(site.config_path).app_db_path)
    return site


@pytest.fixture
def sites():
    made = []
    yield made
    for site in made:
        site.stop()
    db.close()


def pay(site, routeros, phone: str, mac: str, ip: str) -> str:
    """A phone on the hotspot (the router's host table has it) pays from its own address."""
    if not any(h["mac-address"] == mac for h in routeros.router.table("/ip/hotspot/host")):
        routeros.router.connect_device(mac, ip)
    status, body = http("POST", site.portal + "/api/portal/pay", {"package_id": 1, "phone": phone, "mac": mac, "ip": ip},
                        source=ip)
    assert status == 202, body
    return body["payment_id"]


def paid(ref: str, timeout: float = 30) -> Payment:
    return wait_for(lambda: (p := Payment.get(Payment.ref == ref)).status == "paid" and p, timeout, f"payment {ref} paid")


def user_on(sim, name: str):
    return next((u for u in sim.router.table("/ip/hotspot/user") if u["name"] == name), None)


def test_a_payment_in_api_mode_provisions_the_user_and_a_second_one_updates_it(tmp_path, daraja, routeros, sites):
    site = make_site(tmp_path, daraja, routeros, mode="api")
    sites.append(site)
    payment = paid(pay(site, routeros, "0712300001", "AA:BB:CC:30:00:01", "127.0.50.31"))
    username = payment.customer.credentials[0].username
    user = wait_for(lambda: user_on(routeros, username), 30, "the hotspot user")
    assert (user["limit-uptime"], user["profile"], user["comment"]) == ("1h", "hotspotd-1",
                                                                       f"hotspotd subscription {payment.subscription_id}")
    profile = next(p for p in routeros.router.table("/ip/hotspot/user/profile") if p["name"] == "hotspotd-1")
    assert (profile["rate-limit"], profile["shared-users"]) == ("2M/5M", "2")
    wait_for(lambda: Subscription.get_by_id(payment.subscription_id).provisioned_at, 30, "provisioned")
    second = paid(pay(site, routeros, "0712300001", "AA:BB:CC:30:00:01", "127.0.50.31"))
    assert second.subscription_id == payment.subscription_id  # the same package again: extended
    wait_for(lambda: user_on(routeros, username)["limit-uptime"] == "2h", 30, "the user updated to two hours")
    assert len(routeros.router.table("/ip/hotspot/user")) == 1
    assert not Event.select().where(Event.type == "provisioning.failed").exists()
    # the router has the change before the worker records it: wait for the record too
    wait_for(lambda: len([e for e in Event.select().where(Event.type == "user.provisioned")
                          if e.data["via"] == "api"]) == 2, 30, "the second user.provisioned")


def test_a_router_refusing_connections_ends_provisioned_when_it_is_back_and_the_payment_paid(
        tmp_path, daraja, routeros, sites):
    """The worker process's own loops: the outage's schedule over ten minutes is
    tests/router/test_watch.py's, with a fake clock; here only its end, in real time."""
    site = make_site(tmp_path, daraja, routeros, mode="api")
    sites.append(site)
    routeros.refuse()
    payment = paid(pay(site, routeros, "0712300002", "AA:BB:CC:30:00:02", "127.0.50.32"))
    wait_for(lambda: Event.select().where(Event.type == "provisioning.failed").exists(), 30, "provisioning.failed")
    wait_for(lambda: Router.get(Router.name == "gate").status == "offline", 30, "the router shown offline")
    assert Payment.get_by_id(payment.id).status == "paid"  # never marked failed
    assert Subscription.get_by_id(payment.subscription_id).provisioned_at is None
    routeros.refuse(False)
    wait_for(lambda: Subscription.get_by_id(payment.subscription_id).provisioned_at, 60, "provisioned after the outage")
    assert user_on(routeros, payment.customer.credentials[0].username) is not None
    assert Payment.get_by_id(payment.id).status == "paid"
    assert Event.select().where(Event.type == "provisioning.failed").count() == 1


def test_expiry_removes_the_user_and_kicks_the_session(tmp_path, daraja, routeros, sites):
    site = make_site(tmp_path, daraja, routeros, mode="api", package=("--duration", "6s"))
    sites.append(site)
    payment = paid(pay(site, routeros, "0712300003", "AA:BB:CC:30:00:03", "127.0.50.33"))
    username = payment.customer.credentials[0].username
    wait_for(lambda: user_on(routeros, username), 30, "the hotspot user")
    routeros.router.add_active(username, "AA:BB:CC:30:00:03", "127.0.50.33")
    wait_for(lambda: user_on(routeros, username) is None, 40, "the user removed at expiry")
    assert routeros.router.table("/ip/hotspot/active") == []
    wait_for(lambda: Subscription.get_by_id(payment.subscription_id).status == "expired", 30, "expired")


def test_auto_login_in_radius_mode_ends_online_with_an_access_accept(tmp_path, daraja, routeros, sites):
    site = make_site(tmp_path, daraja, routeros, mode="radius", roles=("portal", "worker", "radius"))
    sites.append(site)
    out = site.cli("router", "deploy", "gate").stdout
    assert "completed" in out, out
    mac, ip = "AA:BB:CC:30:00:05", "127.0.50.35"
    routeros.router.connect_device(mac, ip)
    payment = paid(pay(site, routeros, "0712300005", mac, ip))
    username = payment.customer.credentials[0].username
    active = wait_for(lambda: [a for a in routeros.router.table("/ip/hotspot/active") if a["mac-address"] == mac],
                      30, "the device online at the router")
    assert active[0]["user"] == username and active[0]["address"] == ip and active[0]["radius"] == "true"
    assert [(a["user"], a["code"]) for a in routeros.radius.answers] == [(username, 2)]  # Access-Accept
    assert routeros.router.table("/ip/hotspot/user") == []  # radius mode: no local users


def test_a_silent_router_costs_a_task_its_timeout_and_nothing_else(tmp_path, daraja, routeros, sites):
    site = make_site(tmp_path, daraja, routeros, mode="api")
    sites.append(site)
    routeros.silent = True
    started = time.monotonic()
    refs = [pay(site, routeros, f"07123001{n}0", f"AA:BB:CC:30:01:0{n}", f"127.0.51.{n + 2}") for n in range(3)]
    for ref in refs:
        paid(ref, timeout=30)
    assert time.monotonic() - started < 20  # payments went on while the router said nothing
    wait_for(lambda: Event.select().where(Event.type == "provisioning.failed").exists(), 30, "provisioning.failed")
    failed = Event.select().where(Event.type == "provisioning.failed").first()
    assert "no answer in time" in failed.data["error"] or "not dialling" in failed.data["error"]
    status, body = http("GET", site.portal + "/healthz")
    assert status == 200
