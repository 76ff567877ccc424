"""Storage under abuse: of the callback and confirmation bodies that carry no money, the
first 60 per kind and hour are kept (clipped to 8 KiB) and the rest only counted; every
body that records a result or money is kept whole, however many come."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from hotspotd import config as config_mod
from hotspotd.operations import retention
from hotspotd.billing import c2b, callbacks
from hotspotd.billing.callbacks import Incoming, record_callbacks
from hotspotd.billing.packages import add_package
from hotspotd.errors import Conflict
from hotspotd.sim.daraja.wire import c2b_body, masked_msisdn
from hotspotd.store import sampling
from hotspotd.store.db import write_transaction
from hotspotd.store.models import C2BTransaction, HealthLog, MpesaCallback, Payment

from .test_payments import failure, success

N = sampling.PER_HOUR


def arriving(bodies, now, source="127.0.0.9"):
    return [Incoming(body, source, now) for body in bodies]


def hostile(n: int) -> list[bytes]:
    """Bodies no parser takes, ~1.9 KB each like the flood the issue measured, and some huge."""
    shapes = [b"not json " + b"x" * 1900,
              json.dumps({"Body": {"nothing": "y" * 1900}}).encode(),
              json.dumps({"Body": {"stkCallback": {"ResultCode": 0, "pad": "z" * 1900}}}).encode(),
              b"[" * 60_000,  # deep enough to make json.loads give up (RecursionError)
              b"\xff\xfe" * 900]
    return [shapes[i % len(shapes)] for i in range(n)]


def all_tallies() -> list[dict]:
    return sampling.tally(since=datetime(2000, 1, 1, tzinfo=timezone.utc))


def tally(kind: str) -> dict:
    [row] = [r for r in all_tallies() if r["kind"] == kind]
    return row


@pytest.fixture
def package(store, now):
    return add_package(name="Hour", price=10, duration="1h", rate="2M/5M", now=now)


def pending(package, now, n: int = 1) -> list[Payment]:
    with write_transaction():
        return [Payment.create(ref=f"ref-{i}", package=package, phone="254712345678", amount=10, status="pending",
                               checkout_request_id=f"ws_CO_{i}", created_at=now, updated_at=now) for i in range(n)]


def test_a_flood_of_malformed_callbacks_keeps_sixty_an_hour_and_counts_the_rest(store, now):
    outcomes = record_callbacks(arriving(hostile(2000), now))
    assert {o.outcome for o in outcomes} == {"malformed"} and all(o.error for o in outcomes)
    kept = list(MpesaCallback.select())
    assert len(kept) == N and all(k.outcome == "malformed" and k.sampled for k in kept)
    assert max(len(k.body.encode()) for k in kept) <= sampling.MAX_BODY + 3  # a cut character may become U+FFFD
    assert any(k.truncated for k in kept) and not any(k.truncated for k in kept if len(k.body) < 2000)
    row = tally(sampling.STK_MALFORMED)
    assert (row["seen"], row["kept"], row["last_from"]) == (2000, N, "127.0.0.9")
    assert row["bytes"] == sum(len(b) for b in hostile(2000))
    [note] = HealthLog.select()  # said once, not 1,940 times
    assert note.component == "mpesa" and f"more than {N} malformed M-Pesa callbacks" in note.message
    # the next hour has a sample of its own
    record_callbacks(arriving(hostile(100), now + timedelta(hours=1)))
    assert MpesaCallback.select().count() == 2 * N and HealthLog.select().count() == 2


def test_every_callback_that_records_a_result_is_kept_whole_past_the_sample(package, now):
    paid = pending(package, now, 2 * N)
    bodies = [success(f"ws_CO_{i}", receipt=f"RCPT{i:06d}") if i % 2 else failure(f"ws_CO_{i}")
              for i in range(2 * N)]
    record_callbacks(arriving(hostile(N + 5), now))  # the hour's malformed sample is full
    outcomes = record_callbacks(arriving(bodies, now))
    assert [o.outcome for o in outcomes] == ["recorded"] * (2 * N)
    whole = MpesaCallback.select().where(MpesaCallback.outcome == "recorded")
    assert whole.count() == 2 * N and not any(c.sampled or c.truncated for c in whole)
    assert {p.status for p in Payment.select().where(Payment.id.in_([p.id for p in paid]))} == {"received",
                                                                                                 "cancelled"}


def test_replays_of_a_callback_keep_a_sample_and_change_nothing(package, now):
    [payment] = pending(package, now)
    record_callbacks(arriving([success("ws_CO_0")], now))
    outcomes = record_callbacks(arriving([success("ws_CO_0")] * 500, now))
    assert {o.outcome for o in outcomes} == {"duplicate"}
    assert MpesaCallback.select().where(MpesaCallback.outcome == "recorded").count() == 1
    assert MpesaCallback.select().where(MpesaCallback.outcome == "duplicate").count() == N
    assert tally(sampling.STK_DUPLICATE)["seen"] == 500
    assert Payment.get_by_id(payment.id).status == "received"


def test_money_for_no_payment_is_kept_whole_however_many_and_its_replays_are_a_sample(store, now):
    money = [success(f"ws_CO_stray{i}", receipt=f"STRAY{i:05d}") for i in range(N + 40)]
    assert {o.outcome for o in record_callbacks(arriving(money, now))} == {"orphan"}
    assert {o.outcome for o in record_callbacks(arriving(money[:1] * 300, now))} == {"duplicate"}
    orphans = MpesaCallback.select().where(MpesaCallback.outcome == "orphan")
    assert orphans.count() == N + 40 and not any(o.sampled for o in orphans)
    # failures for no payment of ours carry no money: a sample
    record_callbacks(arriving([failure(f"ws_CO_gone{i}") for i in range(300)], now))
    assert MpesaCallback.select().where(MpesaCallback.outcome == "orphan").count() == 2 * N + 40
    assert tally(sampling.STK_ORPHAN)["seen"] == 300


def test_a_clipped_orphan_is_never_adopted_or_assigned(package, now):
    [payment] = pending(package, now)
    with write_transaction():
        payment.checkout_request_id = None
        payment.save()
    big = json.dumps({"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_late", "ResultCode": 1032,
                                               "ResultDesc": "cancelled", "pad": "p" * 20_000}}}).encode()
    record_callbacks(arriving([big], now))
    [kept] = MpesaCallback.select()
    assert kept.truncated and len(kept.body) == sampling.MAX_BODY
    with write_transaction():
        Payment.update(checkout_request_id="ws_CO_late").where(Payment.id == payment.id).execute()
    assert callbacks.adopt_orphans("ws_CO_late", now) is False  # left to the reconciler's query
    assert Payment.get_by_id(payment.id).status == "pending"
    with pytest.raises(Conflict, match="cannot be read"):
        callbacks.assign_orphan(kept.id, payment.id, now, by=callbacks.audit.COMMAND_LINE)


def confirmation(trans_id: str, now, account: str = "1234567") -> bytes:
    return json.dumps(c2b_body(trans_id=trans_id, when=now, amount=20, short_code="600984", bill_ref=account,
                               msisdn=masked_msisdn("254712345126"), balance="25.00")).encode()


def test_paybill_keeps_a_sample_of_malformed_confirmations_and_every_unmatched_payment(store, now):
    outcomes = c2b.record_confirmations(arriving(hostile(1000), now))
    assert {o.outcome for o in outcomes} == {"malformed"}
    assert C2BTransaction.select().where(C2BTransaction.outcome == "malformed").count() == N
    assert tally(sampling.C2B_MALFORMED)["seen"] == 1000
    unmatched = [confirmation(f"RKL{i:07d}", now) for i in range(N + 10)]
    assert {o.outcome for o in c2b.record_confirmations(arriving(unmatched, now))} == {"unmatched"}
    assert {o.outcome for o in c2b.record_confirmations(arriving(unmatched * 3, now))} == {"duplicate"}
    money = C2BTransaction.select().where(C2BTransaction.outcome == "unmatched")
    assert money.count() == N + 10 and not any(m.sampled for m in money)


def test_retention_drops_the_sample_after_seven_days_and_keeps_money(package, now, config):
    pending(package, now)
    record_callbacks(arriving(hostile(100) + [success("ws_CO_0"), success("ws_CO_stray", receipt="STRAY1")], now))
    c2b.record_confirmations(arriving(hostile(100) + [confirmation("RKL0000001", now)], now))
    assert retention.tick(now + timedelta(days=6), config)["mpesa_callback"] == 0
    removed = retention.tick(now + timedelta(days=8), config)
    assert (removed["mpesa_callback"], removed["c2b_transaction"]) == (N, N)
    assert sorted(c.outcome for c in MpesaCallback.select()) == ["orphan", "recorded"]
    assert [c.outcome for c in C2BTransaction.select()] == ["unmatched"]
    assert all_tallies()  # the counts stay as long as callbacks do
    retention.tick(now + timedelta(days=config.retention.callback_days + 1), config)
    assert not all_tallies() and MpesaCallback.select().count() == 0


def test_a_shorter_callback_retention_shortens_the_samples_too(store, now, tmp_path):
    config = config_mod.load(None, overrides={"site": {"state_dir": str(tmp_path / "other")},
                                              "retention": {"callback_days": "2"}})
    record_callbacks(arriving(hostile(5), now))
    assert retention.tick(now + timedelta(days=3), config)["mpesa_callback"] == 5


def test_an_unknown_kind_is_a_programming_error(store, now):
    with pytest.raises(ValueError), write_transaction():
        sampling.admit("stk.whatever", now)
