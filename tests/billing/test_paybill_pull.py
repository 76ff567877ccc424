"""Paybill reconciliation: a pass of Pull Transactions against the Daraja simulator (real
HTTP on loopback) records every payment whose confirmation never came exactly as its
confirmation would have, once; it remembers how far it read, and names what fell out of
Daraja's 48 hours."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from hotspotd.billing import c2b, payments
from hotspotd.billing.callbacks import Incoming
from hotspotd.billing.packages import add_package
from hotspotd.billing.paybill_pull import OVERLAP, run_pass, status
from hotspotd.mpesa.client import SANDBOX_PASSKEY, DarajaClient
from hotspotd.mpesa.pull import PullTransactions, window_start
from hotspotd.sim.daraja.wire import c2b_body, masked_msisdn
from hotspotd.store.db import utcnow
from hotspotd.store.models import C2BTransaction, Event, HealthLog, Payment, PullGap, PullState

PAYBILL = "600984"
PAYER = "254712345126"


@pytest.fixture
def sim(make_sim):
    sim = make_sim()
    sim.c2b.validation = False
    sim.c2b.drop_confirmations = True  # every confirmation is lost: only Pull finds the money
    daraja = DarajaClient(sim.url, "sim-key", "sim-secret", "174379", SANDBOX_PASSKEY, timeout=5)
    daraja.register_c2b(short_code=PAYBILL, confirmation_url="http://127.0.0.1:9/c2b-confirmation/t",
                        validation_url="http://127.0.0.1:9/c2b-validation/t")
    puller = PullTransactions(daraja, PAYBILL)
    puller.register(nominated_number="254722000000", callback_url="http://127.0.0.1:9/c2b-confirmation/t")
    sim.puller = puller

    def pay(amount: int, account: str) -> dict:
        payment = sim.c2b.pay(amount=amount, phone=PAYER, account=account, short_code=PAYBILL)
        assert payment["done"].wait(10)
        return payment

    sim.pay = pay
    yield sim
    daraja.close()


@pytest.fixture
def package(store):
    return add_package(name="Hour", price=20, duration="1h", now=utcnow())


def offer(package):
    return c2b.make_offer(package, mac="AA:BB:CC:00:00:01", ip=None, now=utcnow() - timedelta(minutes=1),
                          customer_id=None)


def test_a_payment_whose_confirmation_was_lost_is_pulled_matched_and_applied_once(sim, package):
    account = offer(package).account
    paid = sim.pay(20, account)
    report = run_pass(sim.puller, utcnow())
    assert report.error is None and (report.seen, report.recorded, report.matched) == (1, 1, 1)
    payment = Payment.get(Payment.account == account)
    assert report.apply == [payment.id] and payment.status == "received" and payment.receipt == paid["trans_id"]
    row = C2BTransaction.get(C2BTransaction.trans_id == paid["trans_id"])
    assert (row.source, row.outcome, row.payment_id) == ("pull", "matched", payment.id)
    assert payments.apply(payment.id, utcnow()).status == "paid"
    again = run_pass(sim.puller, utcnow())  # the next pass overlaps the last: seen again, recorded never
    assert (again.seen, again.recorded, again.apply) == (1, 0, [])
    state = PullState.get_by_id(1)
    assert state.passes == 2 and state.recorded == 1 and state.last_error is None
    assert C2BTransaction.select().count() == 1 and Payment.get_by_id(payment.id).status == "paid"


def test_a_late_confirmation_of_a_pulled_payment_changes_nothing(sim, package):
    account = offer(package).account
    paid = sim.pay(20, account)
    [payment_id] = run_pass(sim.puller, utcnow()).apply
    payments.apply(payment_id, utcnow())
    late = c2b_body(trans_id=paid["trans_id"], when=utcnow(), amount=20, short_code=PAYBILL, bill_ref=account,
                    msisdn=masked_msisdn(PAYER), balance="20.00")
    [outcome] = c2b.record_confirmations([Incoming(json.dumps(late).encode(), "127.0.0.1", utcnow())])
    assert outcome.outcome == "duplicate" and not outcome.apply
    assert C2BTransaction.select().where(C2BTransaction.trans_id == paid["trans_id"]).count() == 1
    assert Event.select().where(Event.type == "payment.processed").count() == 1


def test_money_to_an_unknown_account_is_kept_for_the_operator(sim, package):
    offer(package)  # the first pass looks back to the oldest account number handed out
    paid = sim.pay(50, "9999999")
    report = run_pass(sim.puller, utcnow())
    assert (report.recorded, report.unmatched, report.apply) == (1, 1, [])
    row = C2BTransaction.get(C2BTransaction.trans_id == paid["trans_id"])
    assert row.outcome == "unmatched" and row.source == "pull"
    [event] = Event.select().where(Event.type == "payment.unmatched")
    assert event.data["receipt"] == paid["trans_id"] and event.data["amount"] == 50


def test_every_page_is_read(sim, package):
    accounts = [offer(package).account for _ in range(5)]
    for account in accounts:
        sim.pay(20, account)
    sim.pull.page_size = 2
    report = run_pass(sim.puller, utcnow())
    assert report.pages == 4 and report.recorded == 5 and len(set(report.apply)) == 5  # 2+2+1, then an empty page


def test_a_failing_pass_keeps_its_place_and_the_next_asks_again(sim, package):
    account = offer(package).account
    first = run_pass(sim.puller, utcnow())
    mark = PullState.get_by_id(1).pulled_to
    assert first.error is None and mark is not None
    sim.pull.registrations.clear()  # Daraja forgets the short code: every query is refused
    sim.pay(20, account)
    failed = run_pass(sim.puller, utcnow())
    state = PullState.get_by_id(1)
    assert "register-pull" in failed.error and state.failures == 1 and state.pulled_to == mark
    assert "register-pull" in state.last_error
    sim.puller.register(nominated_number="254722000000", callback_url="http://127.0.0.1:9/x")
    again = run_pass(sim.puller, utcnow())
    assert again.recorded == 1 and again.start == mark - OVERLAP and PullState.get_by_id(1).failures == 0


def test_after_an_outage_longer_than_48_hours_the_hours_not_checked_are_named(sim, package):
    now = utcnow()
    long_ago = now - timedelta(hours=60)
    PullState.update(started_at=long_ago - timedelta(hours=1), pulled_to=long_ago).where(PullState.id == 1).execute()
    report = run_pass(sim.puller, now)
    assert report.error is None and report.gap == (long_ago, window_start(now))
    [gap] = PullGap.select()
    assert (gap.gap_from, gap.gap_to) == (long_ago, window_start(now))
    shown = status(interval=300, short_code=PAYBILL, tz="Africa/Nairobi")
    [unchecked] = shown["unchecked"]
    assert unchecked["hours"] == pytest.approx(12, abs=0.2) and "Africa/Nairobi" in unchecked["text"]
    assert shown["enabled"] and shown["pulled_to"] is not None
    assert HealthLog.select().where(HealthLog.message.contains("could not be checked")).count() == 1
    run_pass(sim.puller, utcnow())  # caught up: no new gap
    assert PullGap.select().count() == 1
