"""Paybill (C2B): account numbers, Daraja's validation question, confirmations recorded
once and applied like STK payments, money that matches nothing kept for the operator."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from hotspotd.devices import claimed, verified

from hotspotd.plumbing import reconcile
from hotspotd.billing import c2b, payments
from hotspotd.billing.callbacks import Incoming
from hotspotd.billing.packages import add_package
from hotspotd.mpesa.c2b import parse_c2b, payer_matches
from hotspotd.customer.paybill import Paybill
from hotspotd.sim.daraja.wire import c2b_body, hashed_msisdn, masked_msisdn
from hotspotd.store.models import C2BTransaction, Event, Payment, Subscription

MAC = "AA:BB:CC:00:00:01"
PAYER = "254712345126"
VALID_FOR = 3600


@pytest.fixture
def package(store, now):
    add_package(name="Cheap", price=5, duration="10m", now=now)
    return add_package(name="Hour", price=20, duration="1h", rate="2M/5M", now=now)


@pytest.fixture
def offer(package, now):
    return c2b.make_offer(package, mac=MAC, ip="10.5.50.9", now=now, customer_id=None, verified=True)


def body(account: str, now, *, amount: int = 20, trans_id: str = "RKL51ZDR4F", short_code: str = "600984") -> bytes:
    return json.dumps(c2b_body(trans_id=trans_id, when=now, amount=amount, short_code=short_code, bill_ref=account,
                               msisdn=masked_msisdn(PAYER), balance="25.00")).encode()


def record(*bodies: bytes, now) -> list:
    return c2b.record_confirmations([Incoming(b, "127.0.0.1", now) for b in bodies])


def test_account_numbers_are_seven_digits_whose_check_digit_catches_any_one_typo(offer):
    assert c2b.account_is_well_formed(offer.account) and len(offer.account) == 7
    for position in range(7):
        for digit in "0123456789":
            typo = offer.account[:position] + digit + offer.account[position + 1:]
            if typo != offer.account:
                assert not c2b.account_is_well_formed(typo), typo
    assert len({c2b.new_account() for _ in range(2000)}) > 1990


def test_each_device_and_package_gets_its_own_account_and_keeps_it(runtime, package, now):
    paybill = Paybill(runtime, clock=lambda: now)
    runtime.config.mpesa.paybill = "600984"
    try:
        first = paybill.offer(package_id=package.id, device=verified(MAC, None))
        again = paybill.offer(package_id=package.id, device=verified(MAC.lower(), None))  # a page reload
        other = paybill.offer(package_id=package.id, device=verified("AA:BB:CC:00:00:02", None))
    finally:
        paybill.close()
    assert first["account"] == again["account"] != other["account"]
    assert (first["business_number"], first["amount"], first["package"]) == ("600984", 20, "Hour")
    initiated = [e.data for e in Event.select().where(Event.type == "payment.initiated")]
    assert [e["method"] for e in initiated] == ["c2b", "c2b"] and initiated[0]["amount"] == 20


def test_without_a_paybill_number_there_is_no_offer(runtime, package):
    paybill = Paybill(runtime)
    try:
        with pytest.raises(Exception, match="not available"):
            paybill.offer(package_id=package.id, device=verified(MAC, None))
    finally:
        paybill.close()


def test_validation_accepts_an_open_account_and_refuses_what_cannot_be_matched(offer, now):
    def ask(account, amount=20, short_code="600984", at=now):
        return c2b.validate(parse_c2b(body(account, now, amount=amount, short_code=short_code)), short_code="600984",
                            now=at, valid_for=VALID_FOR)["ResultCode"]

    assert ask(offer.account) == "0"
    assert ask(f" {offer.account[:3]} {offer.account[3:]} ") == "0"  # typed with spaces
    assert ask("1234567") == "C2B00012"  # unknown account
    assert ask(offer.account, at=now + timedelta(seconds=VALID_FOR + 1)) == "C2B00012"  # no longer valid
    assert ask(offer.account, amount=19) == "C2B00013"  # below the package's price
    assert ask(offer.account, short_code="111111") == "C2B00015"


def test_a_confirmation_pays_for_the_device_once_however_often_it_comes(offer, now):
    [outcome] = record(body(offer.account, now), now=now)
    assert (outcome.outcome, outcome.payment_id, outcome.apply) == ("matched", offer.id, True)
    paid = Payment.get_by_id(offer.id)
    assert (paid.status, paid.receipt, paid.amount_paid) == ("received", "RKL51ZDR4F", Decimal("20.00"))
    assert payments.apply(offer.id, now).status == "paid"
    again = record(body(offer.account, now), body(offer.account, now), now=now)
    assert [o.outcome for o in again] == ["duplicate", "duplicate"] and not any(o.apply for o in again)
    assert C2BTransaction.select().count() == 1
    [subscription] = Subscription.select()
    assert subscription.mac == MAC and Payment.get_by_id(offer.id).subscription_id == subscription.id


def test_a_replayed_confirmation_is_a_duplicate_and_the_device_is_paid_for_once(runtime, offer, now):
    """Through the use case, one commit per confirmation as Daraja's retries arrive: the
    replay is answered `duplicate` by the check before any write, not by the unique index."""
    paybill = Paybill(runtime, clock=lambda: now)
    try:
        paid = [paybill.confirm(body(offer.account, now), "196.201.214.200") for _ in range(3)]
        stray = [paybill.confirm(body("7654321", now, amount=50, trans_id="SKL51ZDR4G"), "196.201.214.200")
                 for _ in range(2)]
    finally:
        paybill.close()
    assert [(o.outcome, o.payment_id, o.apply) for o in paid] == [
        ("matched", offer.id, True), ("duplicate", None, False), ("duplicate", None, False)]
    assert [o.outcome for o in stray] == ["unmatched", "duplicate"]
    assert Payment.get_by_id(offer.id).status == "paid"  # applied, once
    assert [e.data["payment_id"] for e in Event.select().where(Event.type == "payment.processed")] == [offer.id]
    assert Subscription.select().count() == 1
    assert Event.select().where(Event.type == "payment.unmatched").count() == 1
    assert sorted(t.trans_id for t in C2BTransaction.select()) == ["RKL51ZDR4F", "SKL51ZDR4G"]


def test_money_to_an_unknown_account_is_kept_for_the_operator(offer, now):
    [outcome] = record(body("7654321", now, amount=50, trans_id="SKL51ZDR4G"), now=now)
    assert outcome.outcome == "unmatched" and not outcome.apply
    assert Payment.get_by_id(offer.id).status == "pending"
    [kept] = c2b.unmatched()
    assert (kept["receipt"], kept["account"], kept["amount"], kept["reason"]) == (
        "SKL51ZDR4G", "7654321", 50, "unknown account number")
    [event] = Event.select().where(Event.type == "payment.unmatched")
    assert event.data["amount"] == 50 and event.data["receipt"] == "SKL51ZDR4G"
    assert "126" in event.data["msisdn"] and "345" not in event.data["msisdn"]


def test_paying_the_same_account_twice_keeps_the_second_payment_for_the_operator(offer, now):
    record(body(offer.account, now), now=now)
    [second] = record(body(offer.account, now, trans_id="TKL51ZDR4H"), now=now)
    assert second.outcome == "unmatched"
    assert c2b.unmatched()[0]["reason"] == "account number already paid"


def test_a_receipt_is_unique_across_stk_and_paybill(offer, package, now):
    stk = payments.start(package, "254712000111", mac=None, ip=None, now=now)
    Payment.update(receipt="RKL51ZDR4F", status="paid").where(Payment.id == stk.id).execute()
    [outcome] = record(body(offer.account, now), now=now)
    assert outcome.outcome == "duplicate"
    assert Payment.get_by_id(offer.id).status == "pending"


def test_a_confirmation_after_the_offer_expired_is_honoured(offer, now):
    later = now + timedelta(seconds=VALID_FOR + 5)
    from hotspotd.store.db import write_transaction
    with write_transaction():
        assert c2b.expire_offers(later, VALID_FOR) == [offer.id]
    assert Payment.get_by_id(offer.id).status == "expired"
    [outcome] = record(body(offer.account, later), now=later)
    assert outcome.outcome == "matched" and Payment.get_by_id(offer.id).status == "received"


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"TransID": "X"}', b"\xff\xfe",
                                 b'{"TransID": "RKL51ZDR4F", "TransAmount": "1e400", "BusinessShortCode": "600984"}',
                                 b'{"TransID": "RKL51ZDR4F", "TransAmount": "NaN", "BusinessShortCode": "600984"}',
                                 b'{"TransID": "RKL51ZDR4F", "TransAmount": "-5", "BusinessShortCode": "600984"}',
                                 b'{"TransID": "RKL51ZDR4F", "TransAmount": {"a": 1}, "BusinessShortCode": "600984"}',
                                 b"[" * 5000 + b"]" * 5000])
def test_a_malformed_confirmation_is_kept_and_changes_nothing(offer, now, raw):
    [outcome] = record(raw, now=now)
    assert outcome.outcome == "malformed" and outcome.error
    assert C2BTransaction.get().outcome == "malformed"
    assert Payment.get_by_id(offer.id).status == "pending"


def test_the_reconciler_never_queries_daraja_about_paybill_offers_and_expires_them(offer, config, now):
    plan = reconcile.run_once(now + timedelta(seconds=config.mpesa.query_after + 1), config)
    assert offer.id not in plan.check and Payment.get_by_id(offer.id).status == "pending"
    reconcile.run_once(now + timedelta(seconds=config.mpesa.paybill_valid_for + 1), config)
    assert Payment.get_by_id(offer.id).status == "expired"


def test_the_payer_is_recognised_from_the_masked_or_hashed_number():
    assert payer_matches(masked_msisdn(PAYER), PAYER) and payer_matches("2547 ***** 126", PAYER)
    assert not payer_matches("2547 ***** 127", PAYER) and not payer_matches("2547 ***** 126", "254712345127")
    assert payer_matches(hashed_msisdn(PAYER), PAYER) and not payer_matches(hashed_msisdn(PAYER), "254712345127")
    assert not payer_matches("*" * 12, PAYER)  # a mask that shows nothing proves nothing
