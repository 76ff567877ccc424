""""Already paid?": the M-Pesa code and the phone number bring a paid payment's
credentials to this device, asking Daraja first when the callback never came."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from hotspotd import sessions
from hotspotd.billing import bindings, c2b, callbacks, payments
from hotspotd.billing.packages import add_package
from hotspotd.billing.subscriptions import credential_for
from hotspotd.customer.checkout import Checkout
from hotspotd.devices import claimed, verified
from hotspotd.errors import Conflict, InvalidInput, NotFound
from hotspotd.mpesa.client import DarajaClient
from hotspotd.customer.already_paid import NO_MATCH, Restore
from hotspotd.plumbing.runtime import Runtime
from hotspotd.sim.daraja import success_callback
from hotspotd.sim.daraja.wire import c2b_body, masked_msisdn
from hotspotd.store.db import utcnow
from hotspotd.router import add_router
from hotspotd.sessions import AccountingRecord, AcctStatus
from hotspotd.store.models import Credential, Event, Payment, Session

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
    payment = payments.start(package, PHONE, mac=mac, ip="10.5.50.2", now=now, verified=True)
    payments.pushed(payment, checkout_request_id=f"ws_CO_{payment.id}", merchant_request_id="m", now=now)
    body = json.dumps(success_callback(f"ws_CO_{payment.id}", "m", 10, receipt, PHONE, now)).encode()
    assert callbacks.record_callback(body, remote_addr=None, now=now).apply
    payments.apply(payment.id, now)
    return Payment.get_by_id(payment.id)


def test_the_code_and_phone_bring_the_credentials_to_another_device(restore, package):
    payment = paid_with_callback(package)
    got = restore.restore(receipt="tjk3 abc12x", phone=TYPED, device=verified(OTHER.lower(), "10.5.50.3"))
    assert (got["username"], got["password"]) == credential_for(payment.customer_id, utcnow())
    assert got["package"] == "Hour" and got["expires_at"]
    assert bindings.bound(payment.customer_id) == [PAYER, OTHER]  # its login works on this device too
    [event] = Event.select().where(Event.type == "payment.restored")
    assert event.data == {"payment_id": payment.id, "mac": OTHER, "ip": "10.5.50.3", "verified": True,
                          "via": "receipt", "receipt": "TJK3ABC12X"}


def test_with_the_receipt_a_device_no_router_confirms_gets_the_login_and_binds_nothing(restore, package):
    payment = paid_with_callback(package)
    got = restore.restore(receipt="TJK3ABC12X", phone=TYPED, device=claimed(OTHER, "10.5.50.3"))
    assert (got["username"], got["password"]) == credential_for(payment.customer_id, utcnow())
    assert bindings.bound(payment.customer_id) == [PAYER]  # its first login takes the free slot, if any


@pytest.mark.parametrize("receipt, phone", [("TJK3ABC12Y", TYPED), ("TJK3ABC12X", "0712 345 679")])
def test_a_wrong_pair_says_so_without_saying_which_half(restore, package, receipt, phone):
    paid_with_callback(package)
    with pytest.raises(NotFound) as caught:
        restore.restore(receipt=receipt, phone=phone, device=verified(OTHER, None))
    assert str(caught.value) == NO_MATCH
    assert bindings.accounts_of(OTHER) == []


@pytest.mark.parametrize("receipt", ["", "TJK3ABC12", "TJK3ABC12XY", "TJK3-ABC!2X", "ТJK3ABC12X"])  # Cyrillic Т
def test_what_is_not_an_mpesa_code_is_refused_plainly(restore, receipt):
    with pytest.raises(InvalidInput, match="10 letters and digits"):
        restore.restore(receipt=receipt, phone=TYPED, device=verified(OTHER, None))


def online(username: str, mac: str, session: str) -> None:
    router = add_router("gate", "127.0.0.1", "gate-secret", now=utcnow()) if not Session.select().exists() else None
    router_id = router.id if router else Session.get().router_id
    sessions.apply_accounting([AccountingRecord(router_id, AcctStatus.START, session, username, mac, "10.5.50.9")],
                              utcnow())


def test_a_one_device_package_moves_to_the_new_device_and_the_old_one_loses_it(restore, store):
    """A phone whose MAC changed (or a new phone) gets its package back with "already paid?";
    the old device is logged out and its login no longer works there."""
    single = add_package(name="Solo", price=10, duration="1h", devices=1, now=utcnow())
    payment = paid_with_callback(single)
    username = Credential.get(Credential.customer == payment.customer_id).username
    online(username, PAYER, "s1")
    assert restore.restore(receipt="TJK3ABC12X", phone=TYPED, device=verified(PAYER, None))["username"]  # itself
    assert bindings.bound(payment.customer_id) == [PAYER]
    assert restore.restore(receipt="TJK3ABC12X", phone=TYPED, device=verified(OTHER, None))["username"] == username
    assert bindings.bound(payment.customer_id) == [OTHER]
    assert Session.get().disconnect_reason == 'moved to another device by "already paid?"'


def test_a_shared_package_whose_devices_are_all_online_takes_no_third(restore, package):
    payment = paid_with_callback(package)  # two devices
    username = Credential.get(Credential.customer == payment.customer_id).username
    restore.restore(receipt="TJK3ABC12X", phone=TYPED, device=verified(OTHER, None))
    online(username, PAYER, "s1")
    online(username, OTHER, "s2")
    with pytest.raises(Conflict, match="as many devices"):
        restore.restore(receipt="TJK3ABC12X", phone=TYPED, device=verified("AA:BB:CC:00:00:03", None))
    Session.update(status="closed").where(Session.mac == PAYER).execute()  # the first phone went home
    restore.restore(receipt="TJK3ABC12X", phone=TYPED, device=verified("AA:BB:CC:00:00:03", None))
    assert bindings.bound(payment.customer_id) == [OTHER, "AA:BB:CC:00:00:03"]


def test_a_package_that_has_ended_is_not_brought_back(restore, package):
    payment = paid_with_callback(package)
    from hotspotd.store.models import Subscription
    Subscription.update(ends_at=utcnow() - timedelta(minutes=1)).where(
        Subscription.id == payment.subscription_id).execute()
    with pytest.raises(Conflict, match="has ended"):
        restore.restore(receipt="TJK3ABC12X", phone=TYPED, device=verified(OTHER, None))


def test_a_lost_callback_is_resolved_by_asking_daraja(rt, restore, package, sim):
    checkout = Checkout(rt)
    try:
        started = checkout.pay(package_id=package.id, phone=TYPED, device=verified(PAYER, "10.5.50.2"))
    finally:
        checkout.close()
    wait_for(lambda: sim.callbacks, 10, "the simulator to decide the payment (its callback goes nowhere)")
    payment = Payment.get(Payment.ref == started["payment_id"])
    assert payment.status == "pending"
    got = restore.restore(receipt="QWE3ABC12X", phone=TYPED, device=verified(PAYER, "10.5.50.2"))
    payment = Payment.get_by_id(payment.id)
    assert payment.status == "paid" and payment.query_count == 0  # asked by the restore, not the reconciler
    assert (got["username"], got["password"]) == credential_for(payment.customer_id, utcnow())
    assert Event.get(Event.type == "payment.restored").data["via"] == "query"


def test_a_lost_callback_for_a_cancelled_prompt_matches_nothing(rt, restore, package, sim):
    sim.set_outcome("cancelled")
    checkout = Checkout(rt)
    try:
        checkout.pay(package_id=package.id, phone=TYPED, device=verified(PAYER, None))
    finally:
        checkout.close()
    wait_for(lambda: sim.callbacks, 10, "the simulator to decide the payment")
    with pytest.raises(NotFound):
        restore.restore(receipt="QWE3ABC12X", phone=TYPED, device=verified(PAYER, None))
    assert Payment.get().status == "pending"  # the reconciler settles it


@pytest.mark.parametrize("stranger", [verified(OTHER, "10.5.50.3"), claimed(PAYER, "10.5.50.2", address="10.5.50.66")])
def test_without_the_receipt_only_the_device_that_paid_may_ask(rt, restore, package, sim, stranger):
    """Someone who knows your phone number gets nothing from a payment whose callback was
    lost, and is told nothing (not even that you paid): the same answer as no payment."""
    checkout = Checkout(rt)
    try:
        checkout.pay(package_id=package.id, phone=TYPED, device=verified(PAYER, "10.5.50.2"))
    finally:
        checkout.close()
    wait_for(lambda: sim.callbacks, 10, "the simulator to decide the payment")
    with pytest.raises(NotFound) as caught:
        restore.restore(receipt="QWE3ABC12X", phone=TYPED, device=stranger)
    assert str(caught.value) == NO_MATCH
    assert Payment.get().status == "pending" and not Event.select().where(Event.type == "payment.restored").exists()


def test_a_paybill_payment_is_restored_with_its_transaction_id_and_the_payer_number(restore, package):
    now = utcnow()
    offer = c2b.make_offer(package, mac=PAYER, ip=None, now=now, customer_id=None)
    body = json.dumps(c2b_body(trans_id="RKL51ZDR4F", when=now, amount=10, short_code="600984",
                               bill_ref=offer.account, msisdn=masked_msisdn(PHONE), balance="10.00")).encode()
    c2b.record_confirmations([callbacks.Incoming(body, None, now)])
    payments.apply(offer.id, now)
    assert restore.restore(receipt="RKL51ZDR4F", phone=TYPED, device=verified(OTHER, None))["username"]
    with pytest.raises(NotFound):
        restore.restore(receipt="RKL51ZDR4F", phone="0712 345 679", device=verified(OTHER, None))
