"""A returning customer: login check, what is left, devices in use, log out; the RFC 8908
view of a device; and the free trial, once per device per local day."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hotspotd import sessions
from hotspotd.billing import bindings, grants, subscriptions
from hotspotd.billing.bindings import BoundBy
from hotspotd.customer.account import Account
from hotspotd.devices import claimed, verified
from hotspotd.billing.packages import add_package
from hotspotd.customer.captive import Captive
from hotspotd.errors import Conflict, Forbidden, NotFound
from hotspotd.router import add_router
from hotspotd.sessions import AccountingRecord, AcctStatus
from hotspotd.store.db import write_transaction
from hotspotd.store.models import Package, Session, Subscription, Trial as TrialRow
from hotspotd.customer.trial import Trial

PHONE_MAC, LAPTOP_MAC = "AA:BB:CC:00:00:01", "AA:BB:CC:00:00:02"


@pytest.fixture
def clock(now):
    return lambda: now


@pytest.fixture
def customer(store, now):
    """A customer on a 1-day, 3 GB, 2-device package, 1 GB used; bought from PHONE_MAC (a
    router confirmed it: it is bound to the account)."""
    package = add_package(name="Day", price=50, duration="1d", data="3GB", devices=2, now=now)
    with write_transaction():
        customer_id = subscriptions.new_customer("254712345678", now)
        grant, _ = grants.grant(customer_id, package, now - timedelta(hours=1), device=verified(PHONE_MAC, "10.5.50.2"),
                                how=BoundBy.PAID)
    Subscription.update(bytes_used=10**9).where(Subscription.id == grant.subscription_id).execute()
    return grant


def online(now, username: str, mac: str, ip: str, session: str = "80000001") -> None:
    """The device logged in (RADIUS bound it to the account, if it was not) and its session started."""
    router = add_router("gate", "127.0.0.1", "gate-secret", now=now) if not _routers() else _routers()[0]
    from hotspotd.store.models import Credential
    with write_transaction():
        bindings.bind(Credential.get(Credential.username == username).customer_id, mac, BoundBy.FIRST_LOGIN, now)
    sessions.apply_accounting([AccountingRecord(router.id, AcctStatus.START, session, username, mac, ip)], now)


def _routers():
    from hotspotd.store.models import Router
    return list(Router.select())


def test_status_by_mac_says_what_is_left_in_the_customers_words(runtime, customer, clock, now):
    account = Account(runtime, clock=clock)
    assert account.status(device=verified("AA:BB:CC:99:99:99", "10.5.50.99")) == {
        "online": False, "known": False, "verified": True}
    status = account.status(device=verified(PHONE_MAC.lower(), "10.5.50.2"))  # the device that paid, not online yet
    assert status["known"] and not status["online"] and status["username"] == customer.username
    assert status["password"] == customer.password  # after a reload, to copy to a second device
    assert (status["package"], status["data_left"], status["seconds_left"]) == ("Day", 2 * 10**9, 23 * 3600)
    online(now, customer.username, PHONE_MAC, "10.5.50.2")
    online(now, customer.username, LAPTOP_MAC, "10.5.50.3", session="80000002")
    status = account.status(device=verified(LAPTOP_MAC, "10.5.50.3", how="accounting"))
    assert status["online"] and (status["devices_in_use"], status["devices_allowed"]) == (2, 2)


def test_status_answers_no_claim_a_router_did_not_confirm(runtime, customer, clock, now):
    """`?mac=` of someone else's phone tells a stranger nothing: not the login, not the package."""
    account = Account(runtime, clock=clock)
    online(now, customer.username, PHONE_MAC, "10.5.50.2")
    assert account.status(device=claimed(PHONE_MAC, "10.5.50.2", address="10.5.50.66")) == {
        "online": False, "known": False, "verified": False}


def test_login_checks_the_pair_and_says_why_the_router_would_refuse(runtime, customer, clock, now):
    account = Account(runtime, clock=clock)
    ok = account.login(username=f" {customer.username.upper()} ", password=customer.password, device=verified(LAPTOP_MAC, None))
    assert ok["username"] == customer.username and ok["usable"]
    for username, password in ((customer.username, "wrong"), ("nobody", customer.password), ("", "")):
        with pytest.raises(NotFound, match="Wrong username or password"):
            account.login(username=username, password=password, device=verified(LAPTOP_MAC, None))
    online(now, customer.username, PHONE_MAC, "10.5.50.2")
    online(now, customer.username, LAPTOP_MAC, "10.5.50.3", session="80000002")
    assert account.login(username=customer.username, password=customer.password, device=verified(LAPTOP_MAC, None))["online"]
    with pytest.raises(Conflict, match="as many devices as it allows"):  # both slots are taken, online or not
        account.login(username=customer.username, password=customer.password, device=verified("AA:BB:CC:00:00:03", None))
    Session.update(status="closed").execute()
    with pytest.raises(Conflict, match="as many devices as it allows"):
        account.login(username=customer.username, password=customer.password, device=verified("AA:BB:CC:00:00:03", None))
    Subscription.update(bytes_used=3 * 10**9).execute()
    with pytest.raises(Conflict, match="data allowance is used up"):
        account.login(username=customer.username, password=customer.password, device=verified(LAPTOP_MAC, None))
    late = Account(runtime, clock=lambda: now + timedelta(days=2))
    with pytest.raises(Conflict, match="has expired"):
        late.login(username=customer.username, password=customer.password, device=verified(LAPTOP_MAC, None))


def test_log_out_cuts_this_device_only_and_needs_the_password(runtime, customer, clock, now):
    account = Account(runtime, clock=clock)
    online(now, customer.username, PHONE_MAC, "10.5.50.2")
    online(now, customer.username, LAPTOP_MAC, "10.5.50.3", session="80000002")
    with pytest.raises(NotFound):
        account.logout(username=customer.username, password="guess", device=verified(LAPTOP_MAC, None))
    with pytest.raises(Forbidden):  # a claimed MAC could throw off anyone who shares the password
        account.logout(username=customer.username, password=customer.password, device=claimed(LAPTOP_MAC, "10.5.50.3"))
    assert account.logout(username=customer.username, password=customer.password, device=verified(LAPTOP_MAC, None)) == {
        "logged_out": 1}
    asked = {s.mac: s.disconnect_reason for s in Session.select()}
    assert asked == {PHONE_MAC: None, LAPTOP_MAC: "logged out by the customer"}


def test_the_captive_api_tells_an_online_device_its_time_and_data(runtime, customer, clock, now):
    captive = Captive(runtime, clock=clock)
    portal = runtime.config.portal.public_url + "/"
    assert captive.view("10.5.50.2") == {"captive": True, "user-portal-url": portal}
    online(now, customer.username, PHONE_MAC, "10.5.50.2")
    assert captive.view("10.5.50.2") == {"captive": False, "user-portal-url": portal, "seconds-remaining": 23 * 3600,
                                         "can-extend-session": True, "bytes-remaining": 2 * 10**9}
    Subscription.update(bytes_used=3 * 10**9).execute()  # used up: captive again, to buy more
    assert captive.view("10.5.50.2")["captive"] is True


# -- the free trial


@pytest.fixture
def trial_config(config):
    config.portal.trial_minutes = 15
    return config


def test_the_trial_is_off_by_default(runtime, store):
    with pytest.raises(NotFound, match="no free trial"):
        Trial(runtime).start(device=verified(PHONE_MAC, None))


def test_one_trial_per_device_per_local_day(trial_config, runtime, store):
    # 23:50 in Nairobi is 20:50 UTC; ten minutes later it is a new day there.
    evening = datetime(2026, 11, 23, 20, 50, tzinfo=timezone.utc)
    at = {"now": evening}
    trial = Trial(runtime, clock=lambda: at["now"])
    first = trial.start(device=verified(PHONE_MAC.lower(), "10.5.50.2"))
    assert first["minutes"] == 15 and first["seconds_left"] == 15 * 60
    assert trial.start(device=verified(PHONE_MAC, "10.5.50.2")) == {**first}  # a reload while it runs: the same login
    at["now"] = evening + timedelta(minutes=16)  # 00:06 in Nairobi: a new day
    second = trial.start(device=verified(PHONE_MAC, None))
    assert second["username"] != first["username"]
    at["now"] = evening + timedelta(minutes=40)
    with pytest.raises(Conflict, match="today's free trial"):
        trial.start(device=verified(PHONE_MAC, None))
    assert trial.start(device=verified(LAPTOP_MAC, None))["username"]  # another device has its own
    assert [(r.device, r.day) for r in TrialRow.select().order_by(TrialRow.id)] == [
        (PHONE_MAC, "2026-11-23"), (PHONE_MAC, "2026-11-24"), (LAPTOP_MAC, "2026-11-24")]


def test_the_trial_needs_the_device_and_is_never_for_sale(trial_config, runtime, store, now):
    trial = Trial(runtime, clock=lambda: now)
    for unconfirmed in (claimed(None, "10.5.50.2"), claimed(PHONE_MAC, "10.5.50.2")):
        with pytest.raises(Forbidden):  # a made-up MAC per request would be a trial per request
            trial.start(device=unconfirmed)
    trial.start(device=verified(PHONE_MAC, None))
    [package] = Package.select()
    assert (package.name, package.price, package.active, package.duration_s, package.rate_limit) == (
        "Free trial", 0, False, 900, "512k/1M")
    trial_config.portal.trial_minutes = 30
    trial.start(device=verified(LAPTOP_MAC, None))
    assert Package.select().count() == 1 and Package.get().duration_s == 1800
