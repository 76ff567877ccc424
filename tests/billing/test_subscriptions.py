from datetime import timedelta

from hotspotd.billing.packages import add_package
from hotspotd.billing.subscriptions import (expire_due, new_customer, grant, new_password, new_username,
                                            stack)
from hotspotd.store.db import write_transaction
from hotspotd.store.models import Event, Subscription


def test_stack_never_starts_in_the_past(now):
    assert stack(None, now, 3600) == (now, now + timedelta(hours=1))
    earlier = now - timedelta(hours=5)
    assert stack(earlier, now, 3600) == (now, now + timedelta(hours=1))
    later = now + timedelta(minutes=20)
    assert stack(later, now, 3600) == (later, later + timedelta(hours=1))


def test_passwords_are_random_and_readable():
    passwords = {new_password() for _ in range(2000)}
    assert len(passwords) == 2000
    assert all(len(p) == 8 and not set(p) & set("0O1lI") for p in passwords)
    assert len({new_username() for _ in range(2000)}) == 2000


def test_buying_the_same_package_twice_extends_it_and_adds_data(store, now):
    hour = add_package(name="Hour", price=10, duration="1h", data="1GB", now=now)
    with write_transaction():
        customer = new_customer("254712345678", now)
        first = grant(customer, hour, now)
        second = grant(customer, hour, now + timedelta(minutes=10))
    assert not first.extended and second.extended
    sub = Subscription.get_by_id(first.subscription_id)
    assert sub.ends_at == now + timedelta(hours=2)
    assert sub.data_limit == 2 * 10**9
    assert first.username == second.username
    assert [e.type for e in Event.select().order_by(Event.id)] == ["subscription.created", "subscription.extended"]


def test_a_different_package_queues_after_the_current_one(store, now):
    hour = add_package(name="Hour", price=10, duration="1h", now=now)
    day = add_package(name="Day", price=50, duration="1d", now=now)
    with write_transaction():
        customer = new_customer("254712345678", now)
        grant(customer, hour, now)
        queued = grant(customer, day, now)
    assert queued.starts_at == now + timedelta(hours=1)
    assert queued.ends_at == now + timedelta(hours=25)


def test_expired_subscription_is_not_extended_a_new_one_starts_now(store, now):
    hour = add_package(name="Hour", price=10, duration="1h", now=now)
    with write_transaction():
        customer = new_customer("254712345678", now)
        old = Subscription.get_by_id(grant(customer, hour, now).subscription_id)
    later = now + timedelta(hours=3)
    with write_transaction():
        assert expire_due(later) == [old.id]
        new = Subscription.get_by_id(grant(customer, hour, later).subscription_id)
    assert new.id != old.id and new.starts_at == later
    assert Subscription.get_by_id(old.id).status == "expired"
    with write_transaction():
        assert expire_due(later) == []  # once only
