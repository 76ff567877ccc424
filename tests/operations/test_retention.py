"""Retention: a month of traffic leaves the database no bigger than the roll-ups explain, and
each table keeps what it must (unsynced events, what a RADIUS process has not read yet)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from hotspotd import config as config_mod, events
from hotspotd.operations import retention
from hotspotd.billing.callbacks import record_callback
from hotspotd.router import add_router
from hotspotd.sessions import AccountingRecord, AcctStatus, apply_accounting
from hotspotd.store import init_store
from hotspotd.store.db import db, write_transaction
from hotspotd.store.models import (Credential, Customer, DailyUsage, Event, HealthLog, MpesaCallback, Package,
                                   Session, Subscription)

CUSTOMERS = 8
SESSIONS_A_DAY = 3  # per customer
INTERIMS = 4
WINDOW = 5  # days every kind of row is kept in this test


@pytest.fixture
def short_config(tmp_path):
    return config_mod.load(None, overrides={
        "site": {"state_dir": str(tmp_path / "state")},
        "store": {"synchronous": "normal"},  # a month in seconds: no fsync per simulated batch
        "retention": {"health_log_days": WINDOW, "event_days": WINDOW, "callback_days": WINDOW,
                      "session_days": WINDOW, "alert_days": WINDOW},
    })


@pytest.fixture
def month_store(short_config, now):
    init_store(short_config)
    router = add_router("gate", "127.0.0.1", "long-shared-secret", now=now)
    package = Package.create(name="Month", price=500, duration_s=60 * 86400, rate_limit="5M/10M", devices=3,
                             created_at=now)
    with write_transaction():
        for n in range(CUSTOMERS):
            customer = Customer.create(phone=f"2547000000{n:02d}", created_at=now)
            Credential.create(customer=customer, username=f"user{n}", password=f"pw{n}", created_at=now)
            Subscription.create(customer=customer, package=package, starts_at=now, ends_at=now + timedelta(days=60),
                                created_at=now, updated_at=now, provisioned_at=now)
    yield router
    db.close()


def a_day_of_traffic(router_id: int, day: int, start) -> int:
    """Sessions with interim updates for every customer, callbacks, health lines, critical
    events; returns the bytes the sessions carried."""
    carried = 0
    for round_ in range(SESSIONS_A_DAY):
        at = start + timedelta(hours=8 + 4 * round_)
        ids = {n: f"d{day}r{round_}c{n}" for n in range(CUSTOMERS)}
        apply_accounting([AccountingRecord(router_id, AcctStatus.START, ids[n], f"user{n}", mac=f"AA:00:00:00:{n:02X}:01")
                          for n in range(CUSTOMERS)], at)
        for step in range(1, INTERIMS + 2):
            status = AcctStatus.STOP if step == INTERIMS + 1 else AcctStatus.INTERIM_UPDATE
            apply_accounting([AccountingRecord(router_id, status, ids[n], f"user{n}", input_octets=step * 1000 * (n + 1),
                                               output_octets=step * 5000 * (n + 1), session_time=step * 300,
                                               terminate_cause="User-Request" if status == AcctStatus.STOP else None)
                              for n in range(CUSTOMERS)], at + timedelta(minutes=5 * step))
        carried += sum((INTERIMS + 1) * 6000 * (n + 1) for n in range(CUSTOMERS))
    noon = start + timedelta(hours=12)
    for n in range(5):
        body = json.dumps({"Body": {"stkCallback": {"MerchantRequestID": f"m{day}-{n}", "CheckoutRequestID":
                                                    f"ws_CO_{day}_{n}", "ResultCode": 1032,
                                                    "ResultDesc": "Request cancelled by user"}}}).encode()
        record_callback(body, remote_addr="196.201.214.200", now=noon)
    with write_transaction():
        for n in range(10):
            HealthLog.create(at=noon, component="radius", level="warning", message=f"line {n} of day {day}")
        for n in range(2):
            events.emit("system.critical", {"component": "queue", "message": f"day {day}"}, noon)
    return carried


def database_bytes() -> int:
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = db.execute_sql("PRAGMA page_size").fetchone()[0]
    return db.execute_sql("PRAGMA page_count").fetchone()[0] * page_size


def test_a_month_of_traffic_leaves_the_database_no_bigger_than_the_roll_ups_explain(month_store, short_config, now):
    router = month_store
    start = now.replace(hour=0, minute=0) + timedelta(days=1)
    carried, sizes = 0, {}
    for day in range(30):
        midnight = start + timedelta(days=day)
        carried += a_day_of_traffic(router.id, day, midnight)
        retention.tick(midnight + timedelta(days=1, hours=3), short_config)
        sizes[day] = database_bytes()
    # every table that grows with traffic holds at most the window's days of it
    assert Session.select().count() <= (WINDOW + 1) * CUSTOMERS * SESSIONS_A_DAY
    assert HealthLog.select().count() <= (WINDOW + 1) * 10
    assert MpesaCallback.select().count() <= (WINDOW + 1) * 5
    assert Event.select().count() <= (WINDOW + 1) * (2 * CUSTOMERS * SESSIONS_A_DAY + 2)
    assert db.execute_sql('SELECT COUNT(*) FROM "radius_change"').fetchone()[0] == 1  # the newest stays
    # what was removed is in the roll-ups: one row a day per customer, every byte accounted for
    rolled_days = len({u.day for u in DailyUsage.select()})
    assert DailyUsage.select().count() == rolled_days * CUSTOMERS and rolled_days >= 30 - WINDOW - 1
    kept = db.execute_sql('SELECT SUM("input_bytes" + "output_bytes") FROM "session"').fetchone()[0]
    rolled = db.execute_sql('SELECT SUM("input_bytes" + "output_bytes") FROM "daily_usage"').fetchone()[0]
    assert kept + rolled == carried
    one = retention.daily_usage(Customer.get(Customer.phone == "254700000003").id)
    assert one[0]["sessions"] == SESSIONS_A_DAY and one[0]["input_bytes"] == SESSIONS_A_DAY * (INTERIMS + 1) * 4000
    # the file stopped growing once the windows filled: the last weeks add only the roll-ups' rows
    steady = sizes[WINDOW + 3]
    roll_up_rows_since = (29 - (WINDOW + 3)) * CUSTOMERS
    assert sizes[29] <= steady + roll_up_rows_since * 64 + 8 * 4096, sizes
    assert max(sizes.values()) < 3 * steady, sizes


def test_only_synced_events_go_when_central_sync_is_on(store, config, now):
    from hotspotd.store.models import SyncState

    synced = config_mod.load(None, overrides={"site": {"state_dir": str(config.state_dir)},
                                              "central": {"url": "https://central.example"}})
    with write_transaction():
        gone_id = events.emit("system.critical", {"component": "x", "message": "synced"}, now)
        kept_id = events.emit("system.critical", {"component": "x", "message": "not synced"}, now)
    SyncState.update(cursor=gone_id).where(SyncState.id == 1).execute()  # the receiver acknowledged this far
    later = now + timedelta(days=synced.retention.event_days + 1)
    assert retention.synced_through(synced) == gone_id and retention.synced_through(config) == 0
    assert retention.tick(later, synced)["event"] == 1
    assert [e.id for e in Event.select()] == [kept_id]
    assert retention.tick(later, config)["event"] == 1  # with sync off nothing will take it: it goes too
    assert Event.select().count() == 0


def test_radius_changes_stay_until_every_running_process_has_read_them(store, config, now):
    with write_transaction():
        for n in range(10):
            db.execute_sql('INSERT INTO "radius_change" ("tbl", "row_id") VALUES (\'credential\', ?)', (n,))
    retention.record_reader("radius-0", 7, now)
    retention.record_reader("radius-1", 4, now)
    retention.record_reader("radius-2", 1, now - timedelta(minutes=11))  # gone: not heard of for 11 minutes
    assert retention.prune_radius_changes(now) == 4
    assert [r[0] for r in db.execute_sql('SELECT "id" FROM "radius_change"')] == list(range(5, 11))
    retention.record_reader("radius-1", 10, now)
    retention.record_reader("radius-0", 10, now)
    assert retention.prune_radius_changes(now) == 5
    # the newest row always stays: a process that was behind sees the gap and reloads
    assert [r[0] for r in db.execute_sql('SELECT "id" FROM "radius_change"')] == [10]


def test_deletes_go_in_chunks_that_each_commit(store, config, now):
    with write_transaction():
        for n in range(25):
            HealthLog.create(at=now - timedelta(days=30), component="x", level="info", message=str(n))
    assert retention._delete("health_log", '"at" < ?', (now.isoformat(),), chunk=10) == 25
    assert HealthLog.select().count() == 0
