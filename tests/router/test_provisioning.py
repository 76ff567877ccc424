"""Provisioning `api`-mode routers, in process: the real client against the simulator."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hotspotd.router import provisioning
from hotspotd.billing import subscriptions
from hotspotd.errors import UpstreamError
from hotspotd.store.db import write_transaction
from hotspotd.store.models import Event, Subscription

from .conftest import register


def buy(package, now, phone="254712000001", mac=None, customer=None):
    """A purchase: a new account, or "buy more" for `customer`."""
    with write_transaction():
        customer = customer or subscriptions.new_customer(phone, now)
        return subscriptions.grant(customer, package, now, mac=mac)


def test_a_purchase_becomes_a_hotspot_user_with_the_packages_limits(runtime, routeros, hour, now):
    register(routeros, now=now)
    grant = buy(hour, now)
    assert provisioning.provision(runtime, [grant.subscription_id], now) == [grant.subscription_id]
    users = routeros.router.table("/ip/hotspot/user")
    assert [(u["name"], u["password"], u["profile"], u["limit-uptime"], u["comment"]) for u in users] == [
        (grant.username, grant.password, f"hotspotd-{hour.id}", "1h", f"hotspotd subscription {grant.subscription_id}")]
    profile = next(p for p in routeros.router.table("/ip/hotspot/user/profile") if p["name"] == f"hotspotd-{hour.id}")
    assert (profile["rate-limit"], profile["shared-users"]) == ("2M/5M", "2")
    event = Event.select().where(Event.type == "user.provisioned").get()
    assert event.data["via"] == "api" and event.data["routers"] == ["gate"]
    assert Subscription.get_by_id(grant.subscription_id).provisioned_at is not None


def test_buying_again_updates_the_user_instead_of_failing(runtime, routeros, hour, capped, now):
    register(routeros, now=now)
    first = buy(hour, now)
    provisioning.provision(runtime, [first.subscription_id], now)
    account = Subscription.get_by_id(first.subscription_id).customer_id
    again = buy(hour, now + timedelta(minutes=5), customer=account)  # the same package: extends it
    provisioning.provision(runtime, [again.subscription_id], now + timedelta(minutes=5))
    users = routeros.router.table("/ip/hotspot/user")
    assert len(users) == 1 and users[0]["limit-uptime"] == "2h"
    assert ("/ip/hotspot/user/set", ) == tuple(c for c, _ in routeros.router.log if c == "/ip/hotspot/user/set")[:1]


def test_a_router_that_refuses_connections_fails_the_task_and_says_so_once(runtime, routeros, hour, now):
    register(routeros, now=now)
    routeros.refuse()
    grant = buy(hour, now)
    for _ in range(2):
        with pytest.raises(UpstreamError):
            provisioning.provision(runtime, [grant.subscription_id], now)
    assert Event.select().where(Event.type == "provisioning.failed").count() == 1
    sub = Subscription.get_by_id(grant.subscription_id)
    assert sub.provisioned_at is None and "gate" in sub.provision_error
    routeros.refuse(False)
    assert provisioning.provision(runtime, [grant.subscription_id], now) == [grant.subscription_id]


def test_expiry_removes_the_user_and_kicks_the_session(runtime, routeros, hour, now):
    register(routeros, now=now)
    grant = buy(hour, now)
    provisioning.provision(runtime, [grant.subscription_id], now)
    routeros.router.add_active(grant.username, "AA:BB:CC:00:00:01", "10.5.50.7")
    later = now + timedelta(hours=1, seconds=1)
    with write_transaction():
        assert subscriptions.expire_due(later) == [grant.subscription_id]
    provisioning.expire(runtime, [grant.subscription_id], later)
    assert routeros.router.table("/ip/hotspot/user") == []
    assert routeros.router.table("/ip/hotspot/active") == []
