"""The worker's periodic work driven pass by pass by a fake clock: each task at its own
interval (the first ones after a restart spread out), the nightly backup only when the
wall clock says it is due, one job's trouble never stopping the others; and the loop that
only sleeps and calls."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from hotspotd.plumbing import tasks
from hotspotd.plumbing.ticker import Periodic, Ticker, keep_ticking
from hotspotd.plumbing.worker import periodic

from ..clock import FakeClock

BEFORE_THREE_IN_NAIROBI = datetime(2026, 11, 23, 23, 58, tzinfo=timezone.utc)  # 02:58 at the site


def drive(ticker: Ticker, clock: FakeClock, seconds: float) -> list[tuple[float, str]]:
    """Do what the worker's loop does for `seconds` of the clock: tick, sleep until the
    time the pass asked for, tick again. (seconds since the start, task) for each task run
    or sent."""
    start, seen = clock.now, []
    while clock.now <= start + seconds:
        passed = ticker.tick(clock.now)
        seen += [(round(clock.now - start, 3), name) for name in passed.ran + passed.sent]
        assert passed.next_at > clock.now
        clock.now = passed.next_at
    return seen


@pytest.fixture
def queue(runtime):
    """The runtime's queue in async mode: what the ticker sends waits in it, as it would for the consumer."""
    runtime.queue.set_mode("async")
    return runtime.queue


def waiting(queue) -> list[str]:
    """What the ticker sent that waits in the queue (the clock's question to Daraja and the
    SMS outbox's pass aside: every 30 s)."""
    return [task.name for task in queue.huey.pending() if task.name not in ("ask_daraja_time", "send_sms")]


def test_each_periodic_task_runs_at_its_interval_and_the_backup_only_after_the_hour(runtime, queue, config):
    clock = FakeClock(wall=BEFORE_THREE_IN_NAIROBI)
    ticker = Ticker(runtime.queue, periodic(config), wall=clock.wall)
    assert runtime.queue.last_reconciled() is None
    seen = drive(ticker, clock, 400)
    at = {name: [t for t, each in seen if each == name] for name in {name for _, name in seen}}
    every = config.queue.reconcile_interval  # 15 s
    assert at["reconcile"] == [every * n for n in range(1, int(400 // every) + 1)]
    assert at["check_alerts"] == [10.0 + config.alerts.check_interval * n for n in range(7)]  # the first after 10 s
    assert at["apply_retention"] == [120.0]  # not in the first minutes after a restart; then hourly
    # looked at after 30 s (02:58:30, too early) and 300 s later (03:03:30): sent once
    assert at["nightly_backup"] == [330.0]
    assert at["ask_daraja_time"] == [1.0 + 30 * n for n in range(14)]  # a second after the start, then every 30 s
    assert at["send_sms"] == [5.0 + 30 * n for n in range(14)]
    assert runtime.queue.last_reconciled() is not None  # the reconciler ran for real, inline

    assert waiting(queue) == ["apply_retention", "nightly_backup"]

    passed = ticker.tick(clock.advance(3600))  # the box was asleep for an hour: each due task once
    assert sorted(passed.ran) == ["check_alerts", "reconcile", "subscribers_month_end"]
    assert sorted(passed.sent) == ["apply_retention", "ask_daraja_time", "nightly_backup", "send_sms"]  # backup: due


def test_inline_tasks_run_in_the_ticker_and_the_others_go_to_the_queue(queue, config):
    clock = FakeClock()
    ticker = Ticker(queue, periodic(config), wall=clock.wall)
    ticker.tick(clock.now)
    passed = ticker.tick(clock.advance(120))
    assert passed.ran == ["reconcile", "subscribers_month_end", "check_alerts"]
    assert passed.sent == ["apply_retention", "nightly_backup", "ask_daraja_time", "send_sms"]
    done = {label for name, label, _ in queue.counters.snapshot() if name == "task"}
    assert {"reconcile:done", "check_alerts:done"} <= done and "apply_retention:done" not in done
    assert waiting(queue) == ["apply_retention", "nightly_backup"]


def test_the_first_pass_only_sets_the_schedule_and_says_when_the_next_is(runtime, config):
    clock = FakeClock()
    passed = Ticker(runtime.queue, periodic(config), wall=clock.wall).tick(clock.now)
    assert (passed.ran, passed.sent, passed.next_at) == ([], [], clock.now + 1)  # the clock's question to Daraja


def test_a_job_in_trouble_does_not_stop_the_others(runtime, config):
    def broken(wall: datetime) -> bool:
        raise RuntimeError("database is locked")

    clock = FakeClock()
    ticker = Ticker(runtime.queue, [Periodic(tasks.nightly_backup, 60, 0, when=broken),
                                    Periodic(tasks.reconcile, 60, 0, inline=True)], wall=clock.wall)
    assert ticker.tick(clock.now).ran == ["reconcile"]
    passed = ticker.tick(clock.advance(60))
    assert passed.ran == ["reconcile"] and passed.next_at == clock.now + 60  # the broken one is due again then too


def test_the_loop_sleeps_as_asked_and_outlives_a_pass_that_raises():
    stopping, calls = threading.Event(), []

    def step() -> float:
        calls.append(len(calls))
        if len(calls) == 2:
            raise RuntimeError("one bad pass")
        if len(calls) == 4:
            stopping.set()
        return 0.01

    thread = threading.Thread(target=keep_ticking, args=(stopping, step, "a test loop"), kwargs={"after_error": 0.01})
    thread.start()
    thread.join(5)
    assert not thread.is_alive() and calls == [0, 1, 2, 3]
