"""Refunds: the operator asks, the worker sends M-Pesa's Reversal to the simulator (real
HTTP), its result comes to the portal's result URL, and then the payment is refunded, its
package ends and the device is disconnected; never twice for one payment."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from hotspotd.billing import payments, refunds
from hotspotd.billing.packages import add_package
from hotspotd.console.actions import Console
from hotspotd.console.audit import Actor
from hotspotd.errors import Conflict, InvalidInput
from hotspotd.store.db import utcnow
from hotspotd.store.models import Event, InitiatorRequest, Payment, Session, Subscription

from ..loopback import wait_for
from ..money import served_portal
from ..sales import paid_payment, router, session_start

ADMIN = Actor("alice", "admin", "127.0.0.1")


@pytest.fixture
def sim(make_sim):
    return make_sim(callback_delay=3600)


@pytest.fixture
def site(store, config, sim, tmp_path):
    """The console's use cases and a served portal (where Daraja's results arrive)."""
    with served_portal(config, sim, tmp_path) as (runtime, _):
        yield Console(runtime)


@pytest.fixture
def hour(store):
    return add_package(name="Hour", price=10, duration="1h", now=utcnow())


def sold(sim, package, *, online: bool = True) -> Payment:
    """A paid STK payment the simulator's ledger knows, and the device online with it."""
    payment = paid_payment(package.id, utcnow() - timedelta(minutes=10), mac="AA:BB:CC:00:00:01", provision=False)
    sim.ledger.add(payment.receipt, kind="stk", amount=10, phone=payment.phone, short_code="174379")
    if online:
        gate = router()
        username = Subscription.get_by_id(payment.subscription_id).customer.credentials[0].username
        session_start(gate.id, username, utcnow(), "acct-1")
    return payment


def test_a_refund_reverses_ends_the_package_and_disconnects(site, sim, hour):
    payment = sold(sim, hour)
    site.refund(payment.id, "sold the wrong package", by=ADMIN)
    wait_for(lambda: Payment.get_by_id(payment.id).status == "refunded", 15, "the refund")
    [sent] = [r for r in sim.initiator.requests if r["CommandID"] == "TransactionReversal"]
    assert (sent["TransactionID"], sent["Amount"], sent["Remarks"]) == (payment.receipt, "10", "sold the wrong package")
    subscription = Subscription.get_by_id(payment.subscription_id)
    assert subscription.status == "expired" and subscription.ends_at <= utcnow()
    session = Session.get()
    assert session.disconnect_requested_at is not None and session.disconnect_reason == "payment refunded"
    types = [e.type for e in Event.select().order_by(Event.id)]
    assert types.index("payment.refund_requested") < types.index("payment.refunded")
    refunded = Event.get(Event.type == "payment.refunded").data
    assert refunded["reversal_receipt"] and refunded["disconnected"] == 1 and refunded["amount"] == 10
    audit = Event.get(Event.type == "admin.action").data
    assert (audit["action"], audit["by"], audit["payment_id"]) == ("payment.refund", "alice", payment.id)
    with pytest.raises(Conflict, match="refunded already"):
        site.refund(payment.id, "again", by=ADMIN)
    assert len([r for r in sim.initiator.requests if r["CommandID"] == "TransactionReversal"]) == 1
    view = site.payment_money(payment.id)
    assert view["refund"]["outcome"] == "refunded" and not view["refundable"]


def test_two_refunds_at_once_make_one(site, sim, hour):
    payment = sold(sim, hour, online=False)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def click() -> None:
        start.wait()
        try:
            refunds.request_refund(payment.id, "double click", by=ADMIN, now=utcnow())
            outcomes.append("asked")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) == ["asked", "refused"]
    assert InitiatorRequest.select().count() == 1
    with pytest.raises(Conflict, match="under way"):
        site.refund(payment.id, "and again", by=ADMIN)


def test_a_refused_reversal_fails_said_so_and_may_be_asked_again(site, sim, hour):
    payment = sold(sim, hour, online=False)
    sim.initiator.set_outcome("reversal", "insufficient")
    site.refund(payment.id, "customer asked", by=ADMIN)
    wait_for(lambda: Event.select().where(Event.type == "payment.refund_failed").exists(), 15, "the failure")
    assert Payment.get_by_id(payment.id).status == "paid"
    assert Subscription.get_by_id(payment.subscription_id).status == "active"
    failed = Event.get(Event.type == "payment.refund_failed").data
    assert failed["result_code"] == "1" and "insufficient" in failed["reason"]
    assert site.payment_money(payment.id)["refundable"]
    sim.initiator.set_outcome("reversal", None)
    site.refund(payment.id, "customer asked", by=ADMIN)
    wait_for(lambda: Payment.get_by_id(payment.id).status == "refunded", 15, "the second refund")


def test_what_cannot_be_refunded_is_refused_with_a_reason(site, hour, config):
    payment = paid_payment(hour.id, utcnow(), provision=False)
    with pytest.raises(InvalidInput, match="reason"):
        site.refund(payment.id, "", by=ADMIN)
    Payment.update(receipt=None).where(Payment.id == payment.id).execute()  # confirmed by an STK query
    with pytest.raises(Conflict, match="no M-Pesa receipt"):
        site.refund(payment.id, "no receipt", by=ADMIN)
    assert site.payment_money(payment.id)["refund_refused"] == refunds.NO_RECEIPT
    other = paid_payment(hour.id, utcnow(), provision=False)
    payments_failed = Payment.update(status="failed").where(Payment.id == other.id).execute()
    assert payments_failed == 1
    with pytest.raises(Conflict, match="Only a paid payment"):
        site.refund(other.id, "not paid", by=ADMIN)
    config.mpesa.initiator = ""
    third = paid_payment(hour.id, utcnow(), provision=False)
    with pytest.raises(Conflict, match="initiator"):
        site.refund(third.id, "no api user", by=ADMIN)
    assert not InitiatorRequest.select().exists()


def test_a_refund_of_one_of_two_purchases_takes_only_its_time(site, sim, hour):
    first = sold(sim, hour, online=False)
    second = paid_payment(hour.id, utcnow() - timedelta(minutes=5), provision=False, customer_id=first.customer_id)
    assert second.subscription_id == first.subscription_id  # "buy more" of the same package extends it
    before = Subscription.get_by_id(first.subscription_id).ends_at
    site.refund(first.id, "bought twice", by=ADMIN)
    wait_for(lambda: Payment.get_by_id(first.id).status == "refunded", 15, "the refund")
    after = Subscription.get_by_id(first.subscription_id)
    assert after.status == "active" and after.ends_at == before - timedelta(hours=1)
    assert Payment.get_by_id(second.id).status == "paid"
    assert payments.PaymentStatus.REFUNDED == "refunded"
