"""Accounting in the core: sessions, usage counted once, disconnect bookkeeping."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hotspotd import sessions
from hotspotd.errors import NotFound
from hotspotd.sessions import AccountingRecord, AcctStatus, apply_accounting
from hotspotd.store.models import Event, HealthLog, Session, Subscription


def rec(site, status, sid="80100014", user="alice", **kw):
    return AccountingRecord(router_id=site["router"].id, status_type=status, acct_session_id=sid, username=user,
                            mac="AA:BB:CC:00:00:01", ip="10.5.0.2", **kw)


def used(site, name):
    return Subscription.get_by_id(site["subs"][name].id).bytes_used


def event_types():
    return [e.type for e in Event.select().order_by(Event.id)]


def test_start_interim_stop_with_gigawords(site, now):
    assert apply_accounting([rec(site, AcctStatus.START)], now) == ([True], [])
    apply_accounting([rec(site, AcctStatus.INTERIM_UPDATE, input_octets=100, output_octets=200, output_gigawords=1,
                          session_time=60)], now + timedelta(minutes=1))
    assert used(site, "alice") == 300 + (1 << 32)
    apply_accounting([rec(site, AcctStatus.STOP, input_octets=150, output_octets=250, output_gigawords=1,
                          session_time=90, terminate_cause="User-Request")], now + timedelta(minutes=2))
    session = Session.get()
    assert (session.status, session.input_bytes, session.output_bytes) == ("closed", 150, 250 + (1 << 32))
    assert (session.session_time, session.terminate_cause) == (90, "User-Request")
    assert session.subscription_id == site["subs"]["alice"].id
    assert used(site, "alice") == 400 + (1 << 32)
    assert event_types() == ["session.started", "session.stopped"]


def test_a_gigaword_counts_2_to_the_32_octets(site, now):
    # RFC 2869: Acct-*-Gigawords counts how many times the 32-bit octet counter wrapped.
    interim = rec(site, AcctStatus.INTERIM_UPDATE, input_octets=5, input_gigawords=1, output_octets=7, output_gigawords=3)
    assert (interim.input_bytes, interim.output_bytes) == (4_294_967_301, 12_884_901_895)
    apply_accounting([rec(site, AcctStatus.START), interim], now)
    session = Session.get()
    assert (session.input_bytes, session.output_bytes) == (4_294_967_301, 12_884_901_895)
    assert used(site, "alice") == 17_179_869_196


def test_retransmissions_count_once(site, now):
    start = rec(site, AcctStatus.START)
    interim = rec(site, AcctStatus.INTERIM_UPDATE, input_octets=1000, output_octets=1000)
    stop = rec(site, AcctStatus.STOP, input_octets=1500, output_octets=1500)
    apply_accounting([start, start, interim, interim], now)
    apply_accounting([interim, start, stop, stop, interim], now)
    apply_accounting([stop], now)
    assert used(site, "alice") == 3000
    assert Session.select().count() == 1
    assert event_types() == ["session.started", "session.stopped"]


def test_interim_without_start_opens_the_session(site, now):
    apply_accounting([rec(site, AcctStatus.INTERIM_UPDATE, input_octets=10, session_time=30)], now)
    session = Session.get()
    assert session.status == "open" and session.started_at == now - timedelta(seconds=30)
    assert used(site, "alice") == 10


def test_accounting_on_closes_the_routers_sessions(site, now):
    apply_accounting([rec(site, AcctStatus.START, sid="a"), rec(site, AcctStatus.START, sid="b", user="carol")], now)
    on = AccountingRecord(router_id=site["router"].id, status_type=AcctStatus.ACCOUNTING_ON)
    assert apply_accounting([on, on], now) == ([True, True], [])
    assert {s.status for s in Session.select()} == {"closed"}
    assert {s.terminate_cause for s in Session.select()} == {"NAS-Reboot"}
    assert event_types().count("session.stopped") == 2


def test_a_bad_record_does_not_sink_the_batch(site, now):
    bad = rec(site, 99)
    done, _ = apply_accounting([rec(site, AcctStatus.START), bad, rec(site, AcctStatus.START, sid="x")], now)
    assert done == [True, False, True]
    assert Session.select().count() == 2


def test_data_used_up_requests_disconnect_of_every_device(site, now):
    apply_accounting([rec(site, AcctStatus.START, sid="c1", user="carol"),
                      rec(site, AcctStatus.START, sid="c2", user="carol")], now)
    _, marked = apply_accounting([rec(site, AcctStatus.INTERIM_UPDATE, sid="c1", user="carol", input_gigawords=4)], now)
    assert sorted(marked) == sorted(s.id for s in Session.select())
    assert {s.disconnect_reason for s in Session.select()} == {sessions.DATA_REASON}
    _, again = apply_accounting([rec(site, AcctStatus.INTERIM_UPDATE, sid="c1", user="carol", input_gigawords=4,
                                     input_octets=5)], now)
    assert again == []  # already under way


def test_sweep_marks_sessions_of_ended_subscriptions(site, now):
    apply_accounting([rec(site, AcctStatus.START, sid="a"), rec(site, AcctStatus.START, sid="c", user="carol")], now)
    assert sessions.mark_overdue(now) == []
    later = now + timedelta(hours=1, seconds=1)  # alice's hour is over; carol has a day
    marked = sessions.mark_overdue(later)
    alice = Session.get(Session.acct_session_id == "a")
    assert marked == [alice.id] and alice.disconnect_reason == sessions.EXPIRED_REASON
    assert [j.session_id for j in sessions.pending_disconnects(later)] == [alice.id]


def test_kick_and_delivery_results(site, now):
    apply_accounting([rec(site, AcctStatus.START)], now)
    session = Session.get()
    assert sessions.request_disconnect(session.id, "admin kick", now)
    assert not sessions.request_disconnect(session.id, "admin kick", now)
    with pytest.raises(NotFound):
        sessions.request_disconnect(999, "x", now)
    sessions.disconnect_result(session.id, "timeout", "no answer", now, retry_after=30)
    assert sessions.pending_disconnects(now + timedelta(seconds=29)) == []
    assert len(sessions.pending_disconnects(now + timedelta(seconds=30))) == 1
    assert "failed (timeout" in HealthLog.get().message
    sessions.disconnect_result(session.id, "ack", "Disconnect-ACK", now, retry_after=30)
    session = Session.get()
    assert session.status == "closed" and session.disconnected_at == now
    event = Event.get(Event.type == "session.disconnected")
    assert event.data["reason"] == "admin kick" and event.data["result"] == "ack"
    sessions.disconnect_result(session.id, "ack", "Disconnect-ACK", now, retry_after=30)
    assert Event.select().where(Event.type == "session.disconnected").count() == 1


def test_disconnect_gives_up_after_rounds(site, now):
    apply_accounting([rec(site, AcctStatus.START)], now)
    session = Session.get()
    sessions.request_disconnect(session.id, "admin kick", now)
    for _ in range(sessions.MAX_DISCONNECT_ROUNDS):
        sessions.disconnect_result(session.id, "nak", "Error-Cause 504", now, retry_after=0)
    assert sessions.pending_disconnects(now + timedelta(days=1)) == []
    assert "giving up" in HealthLog.select().order_by(HealthLog.id.desc()).get().message
