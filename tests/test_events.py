"""Events: one type per field across every event (what sync and the console read)."""

from __future__ import annotations

from decimal import Decimal

from hotspotd.devices import claimed, verified
from hotspotd import events
from hotspotd.billing import payments
from hotspotd.billing.callbacks import record_callback
from hotspotd.billing.packages import add_package
from hotspotd.customer.checkout import Checkout
from hotspotd.mpesa.client import DarajaClient
from hotspotd.plumbing.runtime import Runtime
from hotspotd.store.models import Event, Payment

from .billing.test_payments import failure, success


def test_money_is_a_number_whole_when_whole():
    assert events.money(Decimal("10.00")) == 10 and isinstance(events.money(Decimal("10.00")), int)
    assert events.money(10) == 10 and isinstance(events.money(10), int)
    assert events.money(Decimal("10.50")) == 10.5


def test_amount_is_a_number_in_every_payment_event(store, config, make_sim, now):
    sim = make_sim(callback_delay=3600)
    daraja = DarajaClient(sim.url, "sim-key", "sim-secret", "174379", config.mpesa.passkey, timeout=5)
    checkout = Checkout(Runtime(config, daraja=daraja))
    try:
        package = add_package(name="Hour", price=10, duration="1h", now=now)
        paid = Payment.get(Payment.ref == checkout.pay(package_id=package.id, phone="0712345678",
                                                       device=claimed(None, "10.5.50.2"))["payment_id"])
        cancelled = Payment.get(Payment.ref == checkout.pay(package_id=package.id, phone="0712345679",
                                                            device=claimed(None, "10.5.50.3"))["payment_id"])
    finally:
        checkout.close()
    record_callback(success(paid.checkout_request_id), remote_addr=None, now=now)
    record_callback(failure(cancelled.checkout_request_id), remote_addr=None, now=now)
    payments.apply(paid.id, now)
    amounts = {(e.type, e.data["payment_id"]): e.data["amount"] for e in Event.select()
               if e.type.startswith("payment.")}
    assert amounts == {("payment.initiated", paid.id): 10, ("payment.initiated", cancelled.id): 10,
                       ("payment.processed", paid.id): 10, ("payment.failed", cancelled.id): 10}
    assert all(type(amount) is int for amount in amounts.values())
