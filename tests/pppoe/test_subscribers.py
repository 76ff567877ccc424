"""Subscriber records: account numbers, credentials, plans, suspending and resuming."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hotspotd.billing import packages
from hotspotd.billing.c2b import account_is_well_formed as hotspot_account
from hotspotd.console.audit import COMMAND_LINE
from hotspotd.errors import Conflict, InvalidInput, NotFound
from hotspotd.pppoe import subscribers
from hotspotd.pppoe.subscribers import (account_is_well_formed, add_subscriber, get_subscriber, list_subscribers,
                                        new_account, resume, suspend, update_subscriber)
from hotspotd.sessions import AccountingRecord, apply_accounting
from hotspotd.store.models import Credential, Customer, Event, Session, Subscriber


def events_of(kind):
    return [e.data for e in Event.select().where(Event.type == kind).order_by(Event.id)]


def test_account_numbers_are_six_digits_with_a_check_digit_never_a_hotspot_number():
    drawn = {new_account() for _ in range(2000)}
    assert all(account_is_well_formed(a) and not hotspot_account(a) for a in drawn)
    account = next(iter(drawn))
    typo = account[:2] + str((int(account[2]) + 1) % 10) + account[3:]
    assert not account_is_well_formed(typo)  # one mistyped digit is caught


def test_add_makes_up_what_is_not_given_and_writes_the_event(subscribe, plan, now):
    sub = subscribe(language="sw")
    assert sub.username == sub.account and account_is_well_formed(sub.account)
    assert len(sub.password) == 10 and sub.password.isascii() and sub.password.isprintable()
    assert sub.phone == "254712345678" and sub.package_id == plan.id and sub.period_end == now + timedelta(days=10)
    created = events_of("subscriber.created")
    assert created == [{"subscriber_id": sub.id, "account": sub.account, "username": sub.account,
                        "name": "Wanjiku Kamau", "phone": "2547*****678", "package_id": plan.id,
                        "package": "Home 5M", "period_end": created[0]["period_end"]}]
    assert "password" not in str(Event.select().where(Event.type == "admin.action").get().data)


def test_a_migrated_subscriber_keeps_their_secrets_and_owes_from_now_otherwise(subscribe, now):
    sub = subscribe(username="kamau@home", password="Old!Secret9", static_ip="10.20.3.4", mac="aa-bb-cc-00-00-01",
                    days=None)
    assert (sub.username, sub.password, sub.static_ip, sub.mac) == ("kamau@home", "Old!Secret9", "10.20.3.4",
                                                                    "AA:BB:CC:00:00:01")
    assert sub.period_end == now  # owes the first period


@pytest.mark.parametrize("field, value, error", [
    ("password", "has space", InvalidInput), ("password", "pässword", InvalidInput), ("password", "abc", InvalidInput),
    ("static_ip", "10.20.3", InvalidInput), ("mac", "not-a-mac", InvalidInput), ("phone", "12", InvalidInput),
    ("language", "fr", InvalidInput), ("username", "has space", InvalidInput),
])
def test_bad_input_is_refused_and_nothing_is_written(subscribe, field, value, error):
    with pytest.raises(error):
        subscribe(**{field: value})
    assert Subscriber.select().count() == 0 and not events_of("subscriber.created")


def test_only_a_pppoe_plan_and_no_hotspot_username(subscribe, hotspot_package, now):
    with pytest.raises(NotFound):
        add_subscriber(name="X", phone=None, package_id=hotspot_package.id, now=now, by=COMMAND_LINE)
    customer = Customer.create(phone=None, created_at=now)
    Credential.create(customer=customer, username="u7k2m9pq", password="pw", created_at=now)
    with pytest.raises(Conflict):
        subscribe(username="u7k2m9pq")
    subscribe(username="kamau", static_ip="10.20.3.4")
    with pytest.raises(Conflict):
        subscribe(username="kamau")
    with pytest.raises(Conflict):
        subscribe(static_ip="10.20.3.4")


def test_plans_and_packages_never_mix(plan, hotspot_package):
    assert [p.id for p in packages.list_packages()] == [hotspot_package.id]  # what the portal offers
    with pytest.raises(NotFound):
        packages.get_package(plan.id)  # the portal cannot sell a plan
    assert packages.get_package(plan.id, service="pppoe").id == plan.id
    assert {p.id for p in packages.list_packages(include_inactive=True, service=None)} == {plan.id, hotspot_package.id}
    with pytest.raises(InvalidInput):
        packages.add_package(name="x", price=1, duration="30d", data="1GB", service="pppoe", now=plan.created_at)


def test_lookup_by_id_account_or_username_and_edit(subscribe, now):
    sub = subscribe(username="kamau")
    assert get_subscriber(sub.id).id == get_subscriber(sub.account).id == get_subscriber("kamau").id
    changed = update_subscriber(sub.account, {"name": "W. Kamau", "mac": "AA:BB:CC:00:00:09", "password": "N3w-pass"},
                                now, by=COMMAND_LINE)
    assert (changed.name, changed.mac, changed.password, changed.account) == ("W. Kamau", "AA:BB:CC:00:00:09",
                                                                            "N3w-pass", sub.account)
    with pytest.raises(InvalidInput):
        update_subscriber(sub.id, {"account": "123456"}, now, by=COMMAND_LINE)


def test_suspend_ends_the_session_and_resume_brings_a_paid_subscriber_back(subscribe, router, now):
    sub = subscribe()
    apply_accounting([AccountingRecord(router.id, 1, "81C00001", sub.username, "AA:BB:CC:00:00:01", "10.20.0.7",
                                       kind="pppoe")], now)
    session = Session.get()
    assert (session.kind, session.subscriber_id) == ("pppoe", sub.id)
    suspend(sub.id, "asked to pause", now, by=COMMAND_LINE)
    assert Session.get_by_id(session.id).disconnect_reason == "suspended by the operator"
    row = list_subscribers(now, 0.0)[0]
    assert (row["status"], row["held"], row["online"], row["ip"]) == ("suspended", True, True, "10.20.0.7")
    with pytest.raises(Conflict):
        suspend(sub.id, "", now, by=COMMAND_LINE)
    resume(sub.id, now, 0.0, by=COMMAND_LINE)
    assert list_subscribers(now, 0.0)[0]["status"] == "active"
    assert [e["reason"] for e in events_of("subscriber.suspended")] == ["asked to pause"]
    assert len(events_of("subscriber.resumed")) == 1


def test_resuming_one_who_owes_leaves_them_suspended(subscribe, now):
    sub = subscribe(days=None)
    suspend(sub.id, "", now, by=COMMAND_LINE)
    again = resume(sub.id, now, 0.0, by=COMMAND_LINE)
    assert not again.held and not events_of("subscriber.resumed")
    assert subscribers.subscriber_dict(again, now, 0.0)["status"] == "suspended"


def test_list_filters(subscribe, now):
    paid = subscribe("Paid One")
    owing = subscribe("Owing One", days=None, phone="0722000111")
    assert [r["id"] for r in list_subscribers(now, 0.0, status="suspended")] == [owing.id]
    assert [r["id"] for r in list_subscribers(now, 0.0, q="Paid")] == [paid.id]
    assert [r["id"] for r in list_subscribers(now, 0.0, q="111")] == [owing.id]
    assert list_subscribers(now, 0.0, q=paid.account)[0]["owed"] == 1500
