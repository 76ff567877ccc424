"""The reconciler against the Daraja simulator, in-process with a clock passed in."""

from datetime import timedelta

import pytest

from hotspotd.devices import claimed, verified

from hotspotd.plumbing import reconcile
from hotspotd.billing import payments
from hotspotd.billing.packages import add_package
from hotspotd.customer.checkout import Checkout
from hotspotd.mpesa.client import DarajaClient
from hotspotd.plumbing.runtime import Runtime
from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.store.db import utcnow, write_transaction
from hotspotd.store.models import Event, Payment, Subscription

from ..loopback import wait_for


@pytest.fixture
def sim():
    with DarajaSimulator(callback_delay=0.0) as simulator:
        yield simulator


@pytest.fixture
def daraja(sim, config):
    return DarajaClient(sim.url, "sim-key", "sim-secret", "174379", config.mpesa.passkey, timeout=5)


@pytest.fixture
def checkout(store, config, daraja):
    checkout = Checkout(Runtime(config, daraja=daraja))
    yield checkout
    checkout.close()


@pytest.fixture
def hour(store, config):
    return add_package(name="Hour", price=10, duration="1h", now=utcnow())


def initiate(checkout, hour, phone="0712345678"):
    started = checkout.pay(package_id=hour.id, phone=phone, device=verified("AA:BB:CC:DD:EE:01", "10.5.50.2"))
    return Payment.get(Payment.ref == started["payment_id"])


def test_pending_payment_without_callback_is_queried_then_applied(sim, daraja, hour, config, checkout):
    sim.set_outcome("no_callback")
    payment = initiate(checkout, hour)
    later = utcnow() + timedelta(seconds=config.mpesa.query_after + 1)
    plan = reconcile.run_once(later, config)
    assert plan.check == [payment.id]
    wait_for(lambda: payments.record_query(payment.id, daraja, pending_timeout=300, now=later) != "pending",
             what="the simulator to decide the push")
    assert Payment.get_by_id(payment.id).status == "received"
    assert reconcile.run_once(later, config).apply == [payment.id]
    assert payments.apply(payment.id, later).status == "paid"


def test_young_pending_payment_is_left_alone(daraja, hour, config, sim, checkout):
    sim.set_outcome("no_callback")
    initiate(checkout, hour)
    assert reconcile.run_once(utcnow(), config).check == []


def test_still_processing_expires_after_the_pending_timeout(sim, daraja, hour, config, checkout):
    sim.callback_delay = 3600  # the customer never answers
    payment = initiate(checkout, hour)
    soon = utcnow() + timedelta(seconds=70)
    assert payments.record_query(payment.id, daraja, pending_timeout=300, now=soon) == "pending"
    late = utcnow() + timedelta(seconds=301)
    assert payments.record_query(payment.id, daraja, pending_timeout=300, now=late) == "expired"
    assert Event.get(Event.type == "payment.failed").data["status"] == "expired"


def test_payment_whose_push_never_got_an_answer_expires(store, hour, config):
    now = utcnow()
    with write_transaction():
        payment = Payment.create(ref="lost", package=hour, phone="254712345678", amount=10, status="pending",
                                 created_at=now, updated_at=now)
    assert payments.record_query(payment.id, None, pending_timeout=300, now=now + timedelta(seconds=60)) == "pending"
    assert payments.record_query(payment.id, None, pending_timeout=300, now=now + timedelta(seconds=301)) == "expired"


def test_due_subscriptions_expire_and_unprovisioned_ones_are_found(sim, daraja, hour, config, checkout):
    sim.set_outcome("success")
    payment = initiate(checkout, hour)
    sim.wait_for_callbacks(1)  # the callback went to a dead URL; record it by query instead
    later = utcnow() + timedelta(seconds=61)
    wait_for(lambda: payments.record_query(payment.id, daraja, pending_timeout=300, now=later) != "pending",
             what="the query to find the payment made")
    assert Payment.get_by_id(payment.id).status == "received"
    applied = payments.apply(payment.id, later)
    plan = reconcile.run_once(later, config)
    assert plan.provision == [applied.subscription_id]
    plan = reconcile.run_once(later + timedelta(hours=2), config)
    assert plan.expired == [applied.subscription_id]
    assert Subscription.get_by_id(applied.subscription_id).status == "expired"


def test_daraja_refusal_marks_the_payment_failed_and_tells_the_portal(sim, daraja, hour, checkout):
    from hotspotd.errors import UpstreamError
    sim.fail_next_push("500.003.02", "System is busy")
    with pytest.raises(UpstreamError):
        initiate(checkout, hour)
    payment = Payment.get()
    assert payment.status == "failed" and "M-Pesa did not accept" in payment.reason
