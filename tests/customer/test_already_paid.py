""""Already paid?": the M-Pesa code and the phone number bring a paid payment's
credentials to this device, asking Daraja first when the callback never came."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from hotspotd.billing import c2b, callbacks, payments
from hotspotd.billing.packages import add_package
from hotspotd.billing.subscriptions import credential_for
from hotspotd.customer.checkout import Checkout
from hotspotd.errors import Conflict, InvalidInput, NotFound
from hotspotd.mpesa.client import DarajaClient
from hotspotd.customer.already_paid import NO_MATCH, Restore
from hotspotd.plumbing.runtime import Runtime
from hotspotd.sim.daraja import success_callback
from hotspotd.sim.daraja.wire import c2b_body, masked_msisdn
from hotspotd.store.db import utcnow
from hotspotd.store.models import Event, Payment, PaymentDevice

from ..loopback import wait_for

PHONE, TYPED = "254712345678", "0712 345 678"
PAYER, OTHER = "AA:BB:CC:00:00:01", "AA:BB:CC:00:00:02"


@pytest.fixture
def sim(make_sim):
    return make_sim(callback_delay=0.05)  # its callbacks go to a dead URL: every callback is "lost"


@pytest.fixture
def rt(store, config, sim):
    client = DarajaClient(sim.url, "sim-key", "sim-secret", "174379", config.mpesa.passkey, timeout=5)
    runtime = Runtime(config, daraja=client)
    yield runtime
    runtime.close()


@pytest.fixture
def restore(rt):
    return Restore(rt)


@pytest.fixture
def package(store):
    return add_package(name="Hour", price=10, duration="1h", devices=2, now=utcnow())


def paid_with_callback(package, receipt: str = "TJK3ABC12X", mac: str = PAYER) -> Payment:
    """A payment whose callback arrived: paid, receipt known."""
    now = utcnow()
    payment = payments.start(package, PHONE, mac=mac, ip="10.5.50.2", now=now)
    payments.pushed(payment, checkout_request_id=f"ws_CO_{payment.id}", merchant_request_id="m", now=now)
    body = json.dumps(success_callback(f"ws_CO_{payment.id}", "m", 10, receipt, PHONE, now)).encode()
    assert callbacks.record_callback(body, remote_addr=None, now=now).apply
    payments.apply(payment.id, now)
    return Payment.get_by_id(payment.id)


def test_the_code_and_phone_bring_the_credentials_to_another_device(restore, package):
    payment = paid_with_callback(package)
    got = restore.restore(receipt="tjk3 abc12x", phone=TYPED, mac=OTHER.lower(), ip="10.5.50.3")
    assert (got["username"], got["password"]) == credential_for(payment.customer_id, utcnow())
    assert got["package"] == "Hour" and got["expires_at"]
    assert [d.device for d in PaymentDevice.select()] == [OTHER]
    [event] = Event.select().where(Event.type == "payment.restored")
    assert event.data == {"payment_id": payment.id, "mac": OTHER, "ip": "10.5.50.3", "via": "receipt",
                          "receipt": "TJK3ABC12X"}


@pytest.mark.parametrize("receipt, phone", [("TJK3ABC12Y", TYPED), ("TJK3ABC12X", "0712 345 679")])
def test_a_wrong_pair_says_so_without_saying_which_half(restore, package, receipt, phone):
    paid_with_callback(package)
    with pytest.raises(NotFound) as caught:
        restore.restore(receipt=receipt, phone=phone, mac=OTHER, ip=None)
    assert str(caught.value) == NO_MATCH
    assert not PaymentDevice.select().exists()


@pytest.mark.parametrize("receipt", ["", "TJK3ABC12", "TJK3ABC12XY", "TJK3-ABC!2X", "ТJK3ABC12X"])  # Cyrillic Т
def test_what_is_not_an_mpesa_code_is_refused_plainly(restore, receipt):
    with pytest.raises(InvalidInput, match="10 letters and digits"):
        restore.restore(receipt=receipt, phone=TYPED, mac=OTHER, ip=None)


def test_the_package_device_limit_holds(restore, store):
    single = add_package(name="Solo", price=10, duration="1h", devices=1, now=utcnow())
    paid_with_callback(single)
    assert restore.restore(receipt="TJK3ABC12X", phone=TYPED, mac=PAYER, ip=None)["username"]  # the payer itself
    with pytest.raises(Conflict, match="as many devices"):
        restore.restore(receipt="TJK3ABC12X", phone=TYPED, mac=OTHER, ip=None)


def test_a_package_that_has_ended_is_not_brought_back(restore, package):
    payment = paid_with_callback(package)
    from hotspotd.store.models import Subscription
    Subscription.update(ends_at=utcnow() - timedelta(minutes=1)).where(
        Subscription.id == payment.subscription_id).execute()
    with pytest.raises(Conflict, match="has ended"):
        restore.restore(receipt="TJK3ABC12X", phone=TYPED, mac=OTHER, ip=None)


def test_a_lost_callback_is_resolved_by_asking_daraja(rt, restore, package, sim):
    checkout = Checkout(rt)
    try:
        started = checkout.pay(package_id=package.id, phone=TYPED, mac=PAYER, ip="10.5.50.2")
    finally:
        checkout.close()
    wait_for(lambda: sim.callbacks, 10, "the simulator to decide the payment (its callback goes nowhere)")
    payment = Payment.get(Payment.ref == started["payment_id"])
    assert payment.status == "pending"
    got = restore.restore(receipt="QWE3ABC12X", phone=TYPED, mac=PAYER, ip="10.5.50.2")
    payment = Payment.get_by_id(payment.id)
    assert payment.status == "paid" and payment.query_count == 0  # asked by the restore, not the reconciler
    assert (got["username"], got["password"]) == credential_for(payment.customer_id, utcnow())
    assert Event.get(Event.type == "payment.restored").data["via"] == "query"


def test_a_lost_callback_for_a_cancelled_prompt_matches_nothing(rt, restore, package, sim):
    sim.set_outcome("cancelled")
    checkout = Checkout(rt)
    try:
        checkout.pay(package_id=package.id, phone=TYPED, mac=PAYER, ip=None)
    finally:
        checkout.close()
    wait_for(lambda: sim.callbacks, 10, "the simulator to decide the payment")
    with pytest.raises(NotFound):
        restore.restore(receipt="QWE3ABC12X", phone=TYPED, mac=PAYER, ip=None)
    assert Payment.get().status == "pending"  # the reconciler settles it


def test_a_paybill_payment_is_restored_with_its_transaction_id_and_the_payer_number(restore, package):
    now = utcnow()
    offer = c2b.make_offer(package, mac=PAYER, ip=None, now=now, customer_id=None)
    body = json.dumps(c2b_body(trans_id="RKL51ZDR4F", when=now, amount=10, short_code="600984",
                               bill_ref=offer.account, msisdn=masked_msisdn(PHONE), balance="10.00")).encode()
    c2b.record_confirmations([callbacks.Incoming(body, None, now)])
    payments.apply(offer.id, now)
    assert restore.restore(receipt="RKL51ZDR4F", phone=TYPED, mac=OTHER, ip=None)["username"]
    with pytest.raises(NotFound):
        restore.restore(receipt="RKL51ZDR4F", phone="0712 345 679", mac=OTHER, ip=None)
