"""The console's core: dashboard figures in the site's days, a payment's timeline, applying
unmatched money, extending, suspending and resuming, voucher batches, the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hotspotd.devices import claimed, verified

from hotspotd.console import audit, dashboard
from hotspotd.console.audit import Actor
from hotspotd.billing import adjustments, history, voucher_batches, vouchers
from hotspotd.billing.callbacks import record_callback
from hotspotd.billing.packages import add_package, update_package
from hotspotd.console.actions import Console
from hotspotd.errors import Conflict, InvalidInput, NotFound
from hotspotd.store.models import Event, Payment, Session, Subscription, Voucher

from ..sales import callback_body, paid_payment, pending_payment, router, session_start, session_stop

NAIROBI = ZoneInfo("Africa/Nairobi")
BOSS = Actor("boss", "admin", "192.0.2.1")
CLERK = Actor("clerk", "operator", "192.0.2.2")
MONDAY_NOON = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # 12:00 in Nairobi, a Monday


@pytest.fixture
def hour(store, now):
    return add_package(name="Hour", price=50, duration="1h", rate="2M/5M", now=now)


def test_revenue_counts_by_the_sites_days_not_utcs(hour):
    just_before_midnight = datetime(2026, 11, 22, 20, 59, tzinfo=timezone.utc)  # 23:59 on Sunday in Nairobi
    just_after_midnight = datetime(2026, 11, 22, 21, 1, tzinfo=timezone.utc)  # 00:01 on Monday in Nairobi
    paid_payment(hour.id, just_before_midnight, phone="254712000001")
    paid_payment(hour.id, just_after_midnight, phone="254712000002")
    paid_payment(hour.id, MONDAY_NOON - timedelta(days=7), phone="254712000003")  # last week, same month
    pending_payment(hour.id, MONDAY_NOON - timedelta(hours=1))
    figures = dashboard.figures(MONDAY_NOON, NAIROBI)
    assert figures["revenue"]["today"] == {"amount": 50, "payments": 1}
    assert figures["revenue"]["week"] == {"amount": 50, "payments": 1}  # the week began on Monday 00:00
    assert figures["revenue"]["month"] == {"amount": 150, "payments": 3}
    assert figures["payments_today"]["paid"] == 1 and figures["payments_today"]["pending"] == 1
    days = {d["date"]: d for d in figures["revenue_30d"]}
    assert len(figures["revenue_30d"]) == 30 and figures["revenue_30d"][-1]["date"] == "2026-11-23"
    assert days["2026-11-22"]["amount"] == 50 and days["2026-11-23"]["amount"] == 50
    assert figures["paying_customers"] == 0  # hour packages bought last night have ended


def test_paying_customers_and_sessions_over_the_day(hour):
    gate = router()
    paid = paid_payment(hour.id, MONDAY_NOON - timedelta(minutes=30))
    username = Event.select().where(Event.type == "subscription.created").get().data["username"]
    session_start(gate.id, username, MONDAY_NOON - timedelta(hours=3), "s1")
    session_stop(gate.id, username, MONDAY_NOON - timedelta(hours=2), "s1")
    session_start(gate.id, username, MONDAY_NOON - timedelta(minutes=20), "s2")
    figures = dashboard.figures(MONDAY_NOON, NAIROBI)
    assert figures["paying_customers"] == 1 and figures["sessions_open"] == 1
    series = figures["sessions_24h"]
    assert len(series) == 49 and series[-1]["sessions"] == 1
    at = {datetime.fromisoformat(p["at"].replace("Z", "+00:00")): p["sessions"] for p in series}
    assert at[MONDAY_NOON - timedelta(hours=2, minutes=30)] == 1
    assert at[MONDAY_NOON - timedelta(hours=1)] == 0
    assert paid.status == "paid"


def test_a_paid_payments_timeline_shows_each_step_in_order(hour):
    gate = router()
    payment = paid_payment(hour.id, MONDAY_NOON, mac="AA:BB:CC:00:00:01")
    username = Event.select().where(Event.type == "subscription.created").get().data["username"]
    session_start(gate.id, username, MONDAY_NOON + timedelta(seconds=5), "s1")
    found = history.timeline(payment.id)
    steps = [s["step"] for s in found["steps"]]
    assert steps == ["started", "pushed", "callback", "subscription", "applied", "provisioned", "logged_in"]
    assert [s["at"] for s in found["steps"]] == sorted(s["at"] for s in found["steps"])
    assert found["payment"]["phone"] == "2547*****678"
    assert "logged in" in found["diagnosis"]


def test_a_pending_payment_says_what_is_missing(hour):
    payment = pending_payment(hour.id, MONDAY_NOON)
    found = history.timeline(payment.id)
    assert [s["step"] for s in found["steps"]] == ["started", "pushed"]
    assert "unmatched callback" in found["diagnosis"]


def test_search_by_receipt_phone_reference_status_and_dates(hour):
    first = paid_payment(hour.id, MONDAY_NOON - timedelta(days=2), phone="254712000111")
    second = paid_payment(hour.id, MONDAY_NOON, phone="254733000222")
    failed = pending_payment(hour.id, MONDAY_NOON, phone="254712000333")
    Payment.update(status="failed").where(Payment.id == failed.id).execute()
    ids = lambda **kw: [p["id"] for p in history.search(**kw)[0]]  # noqa: E731
    assert ids(q=first.receipt.lower()) == [first.id]
    assert ids(q="0733 000 222") == [second.id]
    assert ids(q="000111") == [first.id]  # the end of a number
    assert ids(q=second.ref) == [second.id]
    assert ids(status="failed") == [failed.id]
    assert ids(since=MONDAY_NOON - timedelta(hours=1)) == [failed.id, second.id]
    assert ids(until=MONDAY_NOON - timedelta(days=1)) == [first.id]
    rows, total = history.search(page=2, per_page=2)
    assert total == 3 and [r["id"] for r in rows] == [first.id]
    with pytest.raises(InvalidInput):
        history.search(status="nonsense")


def test_unmatched_money_applied_to_its_payment(runtime, hour):
    payment = pending_payment(hour.id, MONDAY_NOON)
    record_callback(callback_body("ws_CO_unknown", 50, "RCORPHAN01"), remote_addr="127.0.0.1", now=MONDAY_NOON)
    [orphan], total = history.orphan_callbacks()
    assert total == 1 and orphan["receipt"] == "RCORPHAN01" and orphan["amount"] == 50 and orphan["phone"] == "2547*****678"
    Console(runtime).assign_callback(orphan["id"], payment.id, by=CLERK)  # immediate mode: applied at once
    assert Payment.get_by_id(payment.id).status == "paid"
    assert history.orphan_callbacks()[1] == 0
    steps = history.timeline(payment.id)["steps"]
    operator = [s for s in steps if s["step"] == "operator"]
    assert operator and operator[0]["detail"]["by"] == "clerk" and operator[0]["detail"]["action"] == "callback.assign"
    with pytest.raises(Conflict):
        Console(runtime).assign_callback(orphan["id"], payment.id, by=CLERK)


def test_a_receipt_cannot_be_applied_twice(runtime, hour):
    paid = paid_payment(hour.id, MONDAY_NOON)
    other = pending_payment(hour.id, MONDAY_NOON)
    record_callback(callback_body("ws_CO_unknown2", 50, paid.receipt), remote_addr="127.0.0.1", now=MONDAY_NOON)
    [orphan], _ = history.orphan_callbacks()
    with pytest.raises(Conflict, match="another payment"):
        Console(runtime).assign_callback(orphan["id"], other.id, by=CLERK)
    assert Payment.get_by_id(other.id).status == "pending"


def test_extend_moves_later_periods_and_is_audited(hour, now):
    day = add_package(name="Day", price=100, duration="1d", now=now)
    first = paid_payment(hour.id, MONDAY_NOON)
    second = paid_payment(day.id, MONDAY_NOON, customer_id=first.customer_id)  # "buy more": queued after the hour
    sub1, sub2 = Subscription.get_by_id(first.subscription_id), Subscription.get_by_id(second.subscription_id)
    assert sub2.starts_at == sub1.ends_at
    result = adjustments.extend(sub1.id, 1800, MONDAY_NOON, by=CLERK, reason="router was down", payment_id=first.id)
    sub1, moved = Subscription.get_by_id(sub1.id), Subscription.get_by_id(sub2.id)
    assert sub1.ends_at == MONDAY_NOON + timedelta(minutes=90) and result["ends_at"] == "2026-11-23T10:30:00Z"
    assert moved.starts_at == sub1.ends_at and moved.ends_at - moved.starts_at == timedelta(days=1)
    entry = audit.entries(1, 10)[0][0]["data"]
    assert entry["action"] == "subscription.extend" and entry["payment_id"] == first.id
    assert entry["details"]["reason"] == "router was down"
    for bad in (0, 30, True, "60", 10**9):
        with pytest.raises(InvalidInput):
            adjustments.extend(sub1.id, bad, MONDAY_NOON, by=CLERK)


def test_suspend_refuses_access_and_asks_to_cut_sessions_off_then_resume(runtime, hour):
    gate = router()
    payment = paid_payment(hour.id, MONDAY_NOON)
    username = Event.select().where(Event.type == "subscription.created").get().data["username"]
    session_start(gate.id, username, MONDAY_NOON, "s1")
    console = Console(runtime, clock=lambda: MONDAY_NOON + timedelta(minutes=1))
    assert console.suspend(payment.customer_id, by=CLERK, reason="abuse") == 1
    assert Subscription.get_by_id(payment.subscription_id).status == "suspended"
    assert Session.get().disconnect_requested_at is not None
    with pytest.raises(Conflict):
        console.suspend(payment.customer_id, by=CLERK)
    assert console.resume(payment.customer_id, by=CLERK) == 1
    assert Subscription.get_by_id(payment.subscription_id).status == "active"


def test_voucher_batches_count_print_and_void(hour):
    batch = voucher_batches.make_batch(hour.id, 3, MONDAY_NOON, by=CLERK)
    assert (batch["count"], batch["unused"], batch["price"], batch["validity"]) == (3, 3, 50, "1h")
    codes, total = voucher_batches.codes(batch["batch"])
    vouchers.redeem(codes[0]["code"], device=verified("AA:BB:CC:00:00:09", None), now=MONDAY_NOON)
    assert voucher_batches.void(MONDAY_NOON, by=CLERK, batch=batch["batch"]) == 2
    summary = voucher_batches.batch_summary(batch["batch"])
    assert (summary["used"], summary["voided"], summary["unused"]) == (1, 2, 0)
    with pytest.raises(NotFound):  # a voided code is refused like an unknown one
        vouchers.redeem(codes[1]["code"], device=verified("AA:BB:CC:00:00:10", None), now=MONDAY_NOON)
    assert [c["status"] for c in voucher_batches.codes(batch["batch"])[0]] == ["used", "voided", "voided"]
    for bad in (0, 1001, "x", True):
        with pytest.raises(InvalidInput):
            voucher_batches.make_batch(hour.id, bad, MONDAY_NOON, by=CLERK)
    assert Voucher.select().count() == 3


def test_package_edit_and_retire_keep_past_sales(hour):
    payment = paid_payment(hour.id, MONDAY_NOON)
    update_package(hour.id, {"price": "60", "name": "One hour"}, MONDAY_NOON, by=BOSS)
    update_package(hour.id, {"active": False}, MONDAY_NOON, by=BOSS)
    assert Subscription.get_by_id(payment.subscription_id).package.name == "One hour"
    assert Payment.get_by_id(payment.id).amount == 50
    actions = [e["data"]["action"] for e in audit.entries(1, 10)[0]]
    assert actions[:2] == ["package.retire", "package.edit"]
    for bad in ({"price": "0"}, {"price": "ten"}, {"devices": "0"}, {"active": "no"}, {"colour": "red"},
                {"duration": "forever"}):
        with pytest.raises(InvalidInput):
            update_package(hour.id, bad, MONDAY_NOON, by=BOSS)
