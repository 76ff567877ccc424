"""Payments from callback to access, in-process (the end-to-end tests run real processes)."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from hotspotd.devices import claimed, verified

from hotspotd.billing import payments
from hotspotd.billing.callbacks import record_callback
from hotspotd.billing.packages import add_package
from hotspotd.store.db import write_transaction
from hotspotd.store.models import Event, MpesaCallback, Payment, Subscription


def success(checkout, amount=10, receipt="RCPT000001"):
    return json.dumps({"Body": {"stkCallback": {
        "MerchantRequestID": "m-1", "CheckoutRequestID": checkout, "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [{"Name": "Amount", "Value": float(amount)},
                                      {"Name": "MpesaReceiptNumber", "Value": receipt}, {"Name": "Balance"},
                                      {"Name": "TransactionDate", "Value": 20261123120000},
                                      {"Name": "PhoneNumber", "Value": 254712345678}]}}}}).encode()


def failure(checkout, code=1032, desc="Request cancelled by user"):
    return json.dumps({"Body": {"stkCallback": {"MerchantRequestID": "m-1", "CheckoutRequestID": checkout,
                                                "ResultCode": code, "ResultDesc": desc}}}).encode()


def event_counts() -> dict[str, int]:
    """How many events of each type were written (an applied payment writes each once)."""
    counts: dict[str, int] = {}
    for event in Event.select():
        counts[event.type] = counts.get(event.type, 0) + 1
    return counts


ONE_GRANT = {"payment.processed": 1, "subscription.created": 1}


@pytest.fixture
def pending(store, now):
    package = add_package(name="Hour", price=10, duration="1h", rate="2M/5M", now=now)
    with write_transaction():
        return Payment.create(ref="ref-1", package=package, phone="254712345678", amount=10, status="pending",
                              checkout_request_id="ws_CO_1", mac="AA:BB:CC:DD:EE:FF", ip="10.5.50.7",
                              verified=True, created_at=now, updated_at=now)  # a router confirmed the device


def test_paid_callback_then_apply_gives_subscription_and_credentials(pending, now, checkout):
    outcome = record_callback(success("ws_CO_1"), remote_addr="127.0.0.1", now=now)
    assert (outcome.outcome, outcome.apply) == ("recorded", True)
    applied = payments.apply(pending.id, now)
    assert applied.status == "paid"
    sub = Subscription.get_by_id(applied.subscription_id)
    assert sub.ends_at == now + timedelta(hours=1) and sub.mac == "AA:BB:CC:DD:EE:FF"
    view = checkout.payment_status("ref-1", device=verified("aa:bb:cc:dd:ee:ff", None))
    assert view["status"] == "paid" and view["username"] and len(view["password"]) == 8
    types = [e.type for e in Event.select().order_by(Event.id)]
    assert types == ["subscription.created", "payment.processed"]
    assert "2547*****678" == Event.get(Event.type == "payment.processed").data["phone"]


def test_credentials_go_to_the_payment_ids_holder_but_not_to_another_confirmed_device(pending, now, checkout):
    """The payment id is the page's secret: the page that paid gets the login, even when no
    router can confirm its device; a device a router says is another one does not."""
    record_callback(success("ws_CO_1"), remote_addr=None, now=now)
    payments.apply(pending.id, now)
    other = checkout.payment_status("ref-1", device=verified("11:22:33:44:55:66", "10.5.50.7"))
    assert other["status"] == "paid" and "password" not in other and "username" not in other
    unconfirmed = checkout.payment_status("ref-1", device=claimed("11:22:33:44:55:66", "10.5.50.7"))
    assert unconfirmed["password"] and unconfirmed["username"]


def test_replayed_callback_changes_nothing(pending, now):
    outcomes = [record_callback(success("ws_CO_1"), remote_addr=None, now=now).outcome for _ in range(5)]
    assert outcomes == ["recorded"] + ["duplicate"] * 4
    first = payments.apply(pending.id, now)
    again = [payments.apply(pending.id, now + timedelta(minutes=n)) for n in (0, 5)]
    assert again == [first, first]  # same payment, same subscription, still "paid"
    [sub] = Subscription.select()
    assert (sub.starts_at, sub.ends_at) == (now, now + timedelta(hours=1))  # one hour paid, one hour given
    assert event_counts() == ONE_GRANT
    assert MpesaCallback.select().count() == 5  # every body is kept for audit


def test_applying_a_capped_package_again_adds_no_time_and_no_data(store, now):
    capped = add_package(name="Day 1GB", price=50, duration="1d", data="1GB", now=now)
    with write_transaction():
        payment = Payment.create(ref="ref-cap", package=capped, phone="254712345678", amount=50,
                                 status="received", amount_paid=50, checkout_request_id="ws_CO_cap",
                                 created_at=now, updated_at=now)
    first = payments.apply(payment.id, now)
    assert payments.apply(payment.id, now) == first
    payments.apply_many([payment.id, payment.id], now)
    sub = Subscription.get_by_id(first.subscription_id)
    assert sub.ends_at == now + timedelta(days=1)
    assert (sub.data_limit, sub.bytes_used) == (1_000_000_000, 0)  # one package's 1GB, not two
    assert event_counts() == ONE_GRANT


def test_cancelled_callback(pending, now):
    outcome = record_callback(failure("ws_CO_1"), remote_addr=None, now=now)
    assert outcome.outcome == "recorded" and not outcome.apply
    payment = Payment.get_by_id(pending.id)
    assert payment.status == "cancelled" and payment.reason == "Request cancelled by user"
    assert Event.get(Event.type == "payment.failed").data["status"] == "cancelled"
    # a late duplicate failure changes nothing
    assert record_callback(failure("ws_CO_1", 1037, "DS timeout"), remote_addr=None, now=now).outcome == "duplicate"
    assert Payment.get_by_id(pending.id).status == "cancelled"


def test_underpaid_gets_no_access(pending, now):
    record_callback(success("ws_CO_1", amount=5), remote_addr=None, now=now)
    applied = payments.apply(pending.id, now)
    payment = Payment.get_by_id(pending.id)
    assert applied.status == "failed" and payment.amount_paid == Decimal("5")
    assert "underpaid" in payment.reason and Subscription.select().count() == 0
    assert "underpaid" in Event.get(Event.type == "payment.failed").data["reason"]


def test_unknown_checkout_is_kept_as_orphan(store, now):
    outcome = record_callback(success("ws_CO_nobody"), remote_addr="1.2.3.4", now=now)
    assert outcome.outcome == "orphan"
    kept = MpesaCallback.get()
    assert kept.outcome == "orphan" and kept.checkout_request_id == "ws_CO_nobody" and "RCPT" in kept.body


def test_malformed_body_is_kept_for_inspection(store, now):
    outcome = record_callback(b'{"Body": nonsense', remote_addr="1.2.3.4", now=now)
    assert outcome.outcome == "malformed" and "not JSON" in outcome.error
    assert MpesaCallback.get().body == '{"Body": nonsense'


def test_late_success_after_expiry_is_still_honoured(pending, now):
    with write_transaction():
        Payment.update(status="expired").where(Payment.id == pending.id).execute()
    outcome = record_callback(success("ws_CO_1"), remote_addr=None, now=now)
    assert outcome.apply
    assert payments.apply(pending.id, now).status == "paid"


def test_same_receipt_on_another_payment_is_a_duplicate(pending, now):
    with write_transaction():
        Payment.create(ref="ref-2", package=pending.package, phone="254712345678", amount=10, status="pending",
                       checkout_request_id="ws_CO_2", created_at=now, updated_at=now)
    record_callback(success("ws_CO_1", receipt="SAME000001"), remote_addr=None, now=now)
    again = record_callback(success("ws_CO_2", receipt="SAME000001"), remote_addr=None, now=now)
    assert again.outcome == "duplicate"
    assert Payment.get(Payment.ref == "ref-2").status == "pending"


def test_a_batch_applies_each_payment_once_and_isolates_a_broken_one(pending, now):
    from hotspotd.store.models import Package
    record_callback(success("ws_CO_1"), remote_addr=None, now=now)
    with write_transaction():
        other = Payment.create(ref="ref-2", package=pending.package, phone="254712345679", amount=10,
                               status="received", amount_paid=10, checkout_request_id="ws_CO_2",
                               created_at=now, updated_at=now)
    applied, failed = payments.apply_many([pending.id, 999999, other.id, pending.id], now)
    assert [a.status for a in applied] == ["paid", "paid", "paid"]
    assert applied[0] == applied[2]  # the repeated id: the same subscription, not a second grant
    assert [f[0] for f in failed] == [999999]
    assert Subscription.select().count() == 2
    assert {sub.ends_at for sub in Subscription.select()} == {now + timedelta(hours=1)}
    assert event_counts() == {"payment.processed": 2, "subscription.created": 2}
    assert Package.select().count() == 1


def test_callbacks_in_one_batch(pending, now):
    from hotspotd.billing.callbacks import Incoming, record_callbacks
    outcomes = record_callbacks([Incoming(success("ws_CO_1"), None, now),
                                 Incoming(b"junk", None, now),
                                 Incoming(success("ws_CO_1"), None, now),
                                 Incoming(success("ws_CO_x", receipt="RCPT000009"), None, now)])
    assert [o.outcome for o in outcomes] == ["recorded", "malformed", "duplicate", "orphan"]
    assert [o.apply for o in outcomes] == [True, False, False, False]
