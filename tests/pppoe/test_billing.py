"""A home subscriber's money: Paybill to their account, prompts, whole periods and balance,
exactly once, and back online after paying."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal


from hotspotd.billing import c2b
from hotspotd.billing.callbacks import Incoming, record_callback
from hotspotd.plumbing import reconcile, tasks
from hotspotd.pppoe import billing
from hotspotd.sessions import AccountingRecord, apply_accounting
from hotspotd.sim.daraja.wire import c2b_body, masked_msisdn
from hotspotd.store.models import C2BTransaction, Event, Payment, Session, Subscriber, Subscription

MONTH = timedelta(days=30)


def paybill(runtime, account: str, amount, now, trans_id: str = "SKL51ZDR4F") -> list:
    body = json.dumps(c2b_body(trans_id=trans_id, when=now, amount=amount, short_code="600984", bill_ref=account,
                               msisdn=masked_msisdn("254712345678"), balance="0.00")).encode()
    outcomes = c2b.record_confirmations([Incoming(body, "127.0.0.1", now)])
    received = [o.payment_id for o in outcomes if o.apply]
    if received:  # what the worker's apply_payments task does after the commit, at `now`
        assert billing.apply_received(received, now, runtime.config.pppoe.grace_hours * 3600.0) == []
    return outcomes


def events_of(kind):
    return [e.data for e in Event.select().where(Event.type == kind).order_by(Event.id)]


def fresh(sub) -> Subscriber:
    return Subscriber.get_by_id(sub.id)


def test_a_paybill_payment_moves_a_running_period_by_exactly_one_period(runtime, subscribe, now):
    sub = subscribe()
    [outcome] = paybill(runtime, sub.account, 1500, now)
    assert outcome.outcome == "matched"
    after = fresh(sub)
    assert after.period_end - sub.period_end == MONTH and after.period_start == sub.period_start
    assert after.balance_cents == 0 and after.last_payment_at == now
    payment = Payment.get_by_id(outcome.payment_id)
    assert (payment.status, payment.method, payment.subscriber_id, payment.receipt, payment.customer_id) == (
        "paid", "c2b", sub.id, "SKL51ZDR4F", None)
    assert not Subscription.select().exists()  # no hotspot access was bought
    [extended] = events_of("subscriber.extended")
    assert (extended["periods"], extended["amount"], extended["balance"], extended["payment_id"]) == (
        1, 1500, 0, payment.id)
    [processed] = events_of("payment.processed")
    assert (processed["subscriber_id"], processed["amount"], processed["account"]) == (sub.id, 1500, sub.account)
    assert C2BTransaction.get().payment_id == payment.id


def test_a_replay_does_nothing(runtime, subscribe, now):
    sub = subscribe()
    paybill(runtime, sub.account, 1500, now)
    [again] = paybill(runtime, sub.account, 1500, now + timedelta(minutes=5))
    assert again.outcome == "duplicate"
    assert fresh(sub).period_end == sub.period_end + MONTH
    assert Payment.select().count() == 1 and len(events_of("subscriber.extended")) == 1


def test_a_partial_payment_is_kept_as_balance_and_added_to_the_next(runtime, subscribe, now):
    sub = subscribe()
    paybill(runtime, sub.account, Decimal("700.50"), now, "SKL51ZDR41")
    after = fresh(sub)
    assert (after.period_end, after.balance_cents) == (sub.period_end, 70050)
    assert not events_of("subscriber.extended")
    assert events_of("payment.processed")[0]["balance"] == 700.5
    paybill(runtime, sub.account, 3000, now, "SKL51ZDR42")  # 3,700.50: two periods and 700.50 over
    after = fresh(sub)
    assert (after.period_end - sub.period_end, after.balance_cents) == (2 * MONTH, 70050)
    assert events_of("subscriber.extended")[0]["periods"] == 2


def test_a_suspended_subscriber_who_pays_starts_again_now_and_is_disconnected_to_redial(runtime, subscribe, router,
                                                                                          now):
    sub = subscribe(days=-3)  # the period ended three days ago
    later = now + timedelta(minutes=1)
    from hotspotd.pppoe import month_end
    assert month_end.suspend_due(now, 0.0) == [sub.id]
    apply_accounting([AccountingRecord(router.id, 1, "81C00002", sub.username, "AA:BB:CC:00:00:01", "10.21.0.5",
                                       kind="pppoe")], now)  # dialled into the suspended pool
    paybill(runtime, sub.account, 1500, later)
    after = fresh(sub)
    assert (after.period_start, after.period_end, after.status, after.suspended_at) == (
        later, later + MONTH, "active", None)
    assert Session.get().disconnect_reason == "paid: back on the plan"
    assert [e["subscriber_id"] for e in events_of("subscriber.resumed")] == [sub.id]


def test_within_the_grace_the_period_continues_from_its_end(runtime, subscribe, now):
    runtime.config.pppoe.grace_hours = 48
    sub = subscribe(days=-1)
    paybill(runtime, sub.account, 1500, now)
    assert fresh(sub).period_end == sub.period_end + MONTH
    assert not events_of("subscriber.resumed")  # still on the plan in the grace


def test_money_to_an_unknown_six_digit_account_is_kept_unmatched(runtime, subscribe, now):
    sub = subscribe()
    wrong = "999999" if sub.account != "999999" else "999990"
    [outcome] = paybill(runtime, wrong, 1500, now)
    assert outcome.outcome == "unmatched" and events_of("payment.unmatched")[0]["account"] == wrong
    assert fresh(sub).period_end == sub.period_end


def test_validation_accepts_any_amount_to_a_subscriber(subscribe, now):
    sub = subscribe()
    payment = c2b.parse_c2b(json.dumps(c2b_body(trans_id="SKL51ZDR4F", when=now, amount=1, short_code="600984",
                                                bill_ref=sub.account, msisdn="", balance="")).encode())
    assert c2b.validate(payment, short_code="600984", now=now, valid_for=3600)["ResultCode"] == "0"


def test_an_stk_charge_names_the_subscriber_and_its_callback_extends(runtime, make_sim, subscribe, now):
    sim = make_sim(callback_delay=0.05)  # its callback goes to a dead URL: the test hands it over
    runtime.config.mpesa.base_url = sim.url
    sub = subscribe()
    payment = billing.charge(runtime.daraja, sub.account, phone=None, callback_url="http://127.0.0.1:9/cb", now=now)
    assert (payment.amount, payment.phone, payment.subscriber_id, payment.method) == (1500, "254712345678", sub.id,
                                                                                     "stk")
    assert sim.pushes[-1]["account_reference"] == sub.account
    sim.wait_for_callbacks(1)
    recorded = record_callback(json.dumps(sim.callbacks[-1]["body"]).encode(), remote_addr="127.0.0.1", now=now)
    assert recorded.apply
    billing.apply_received([payment.id], now, 0.0)
    assert fresh(sub).period_end == sub.period_end + MONTH
    assert Payment.get_by_id(payment.id).status == "paid" and not Subscription.select().exists()


def test_the_reconciler_applies_a_received_subscriber_payment_and_hotspot_apply_leaves_it(runtime, subscribe, now):
    from hotspotd.billing import payments
    sub = subscribe()
    with c2b.write_transaction():
        from hotspotd.pppoe import paybill as pb
        payment_id = pb.receive(sub.account, receipt="SKL51ZDR4X", amount=Decimal(1500), now=now)
    assert payments.apply(payment_id, now).status == "received"  # "already paid?" cannot make it hotspot access
    plan = reconcile.run_once(now, runtime.config)
    assert plan.apply == [payment_id]
    assert billing.apply_received(plan.apply, now, 0.0) == []
    assert fresh(sub).period_end == sub.period_end + MONTH


def test_the_apply_task_sends_the_rest_on_to_the_hotspot(runtime, subscribe, hotspot_package, now):
    """The worker's task applies both kinds in one batch (at the real clock)."""
    from hotspotd.billing import payments
    sub = subscribe(days=100000)  # far ahead of any real clock
    with c2b.write_transaction():
        from hotspotd.pppoe import paybill as pb
        theirs = pb.receive(sub.account, receipt="SKL51ZDR4Y", amount=Decimal(1500), now=now)
    hotspot = payments.start(hotspot_package, "254712345678", mac=None, ip=None, now=now)
    with c2b.write_transaction():
        payments.mark_received(hotspot.id, receipt="SKL51ZDR4Z", amount_paid=Decimal(20), result_desc="ok", now=now)
    runtime.queue.dispatch(tasks.apply_payments, [theirs, hotspot.id])
    assert fresh(sub).period_end == sub.period_end + MONTH
    assert Payment.get_by_id(hotspot.id).status == "paid" and Subscription.select().count() == 1


def test_owed_takes_the_balance_off(runtime, subscribe, now):
    sub = subscribe()
    paybill(runtime, sub.account, 400, now)
    assert billing.owed_cents(fresh(sub)) == 110000
