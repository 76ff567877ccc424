"""The queue: every task bound to the queue the worker consumes, counted retries, inline fallback."""

from datetime import timedelta

import pytest
from huey.storage import SqliteStorage

from hotspotd.plumbing import tasks
from hotspotd.plumbing.queue import Queue, task
from hotspotd.plumbing.runtime import Runtime
from hotspotd.store.db import utcnow
from hotspotd.store.models import Event, FailedTask

calls: list[tuple] = []


@task(retry=(10, 30, 60))
def flaky_for_test(rt, n):
    calls.append(n)
    raise RuntimeError(f"boom {n}")


@task()
def record_for_test(rt, n):
    calls.append(n)


@pytest.fixture
def q(store, config):
    calls.clear()
    runtime = Runtime(config)
    queue = Queue(config.queue_db_path, [*tasks.ALL, flaky_for_test, record_for_test], runtime, default_mode="async")
    runtime._queue = queue
    yield queue


def test_every_task_is_bound_to_the_queue_the_worker_consumes(store, config):
    queue = Runtime(config).queue
    assert {"apply_payments", "check_payment", "provision_subscriptions", "auto_login", "reconcile"} <= set(queue.tasks)
    registered = set(queue.huey._registry._registry)
    assert registered == {f"hotspotd.queue.{name}" for name in queue.tasks}
    consumer = queue.consumer(workers=1)
    assert consumer.huey is queue.huey
    # another role's queue on the same file sends work this consumer can run
    other = Runtime(config).queue
    other.huey.enqueue(other.huey._registry.string_to_task("hotspotd.queue.reconcile")())
    assert [t.name for t in queue.huey.pending()] == ["reconcile"]


def test_a_queue_that_cannot_open_its_file_refuses_to_start_instead_of_losing_work(tmp_path):
    with pytest.raises(Exception, match="unable to open"):
        Queue(tmp_path / "missing" / "queue.db", [record_for_test], None, default_mode="async")


def test_dispatched_task_is_run_by_the_consumer_of_the_same_file(q, config):
    q.dispatch(record_for_test, 7)
    assert calls == []  # queued, not run inline
    assert isinstance(q.huey.storage, SqliteStorage) and q.huey.storage.filename == str(config.queue_db_path)
    worker = q.consumer(workers=1)._create_worker()
    worker.loop()
    assert calls == [7]


def test_failures_retry_with_growing_delays_then_are_recorded(q):
    before = utcnow()
    q.run(flaky_for_test, 1)
    (scheduled,) = q.huey.pending()  # huey holds it until its eta
    assert scheduled.kwargs == {"_attempt": 1}
    assert timedelta(seconds=9) < scheduled.eta.replace(tzinfo=before.tzinfo) - before < timedelta(seconds=12)
    q.run(flaky_for_test, 1, _attempt=1)
    q.run(flaky_for_test, 1, _attempt=2)
    delays = sorted(round((t.eta.replace(tzinfo=before.tzinfo) - before).total_seconds()) for t in q.huey.pending())
    assert delays == [10, 30, 60]
    assert FailedTask.select().count() == 0
    q.run(flaky_for_test, 1, _attempt=3)  # the fourth attempt is the last
    failed = FailedTask.get()
    assert (failed.task, failed.args, failed.attempts) == ("flaky_for_test", [1], 4)
    assert "boom 1" in failed.error


def test_failed_tasks_can_be_retried(q):
    q.run(flaky_for_test, 5, _attempt=3)
    assert q.retry_failed() == [FailedTask.get().id]
    assert [t.name for t in q.huey.pending()] == ["flaky_for_test"]
    assert q.retry_failed() == []  # already retried


def test_broken_queue_runs_inline_and_raises_the_alarm(store, config, tmp_path):
    calls.clear()
    path = tmp_path / "queue.db"
    broken = Queue(path, [record_for_test], None, default_mode="async")
    path.write_bytes(b"this is no longer a database " * 200)  # the queue's file is damaged
    broken.dispatch(record_for_test, 9)
    assert calls == [9]
    critical = Event.get(Event.type == "system.critical")
    assert "record_for_test" in critical.data["message"]


def test_immediate_mode_runs_inline_and_is_switchable_at_run_time(q, config):
    q.set_mode("immediate")
    q.dispatch(record_for_test, 3)
    assert calls == [3] and q.huey.pending_count() == 0
    assert Event.get(Event.type == "system.mode_changed").data["queue_mode"] == "immediate"
    other_role = Runtime(config).queue  # another process sees the switch (its cache is fresh)
    assert other_role.mode() == "immediate"
    q.set_mode("async")
    q.dispatch(record_for_test, 4)
    assert calls == [3] and q.huey.pending_count() == 1


def test_provisioning_uses_the_provisioning_delays():
    assert tasks.provision_subscriptions.retry == (5, 15, 30, 60, 120)
    assert tasks.apply_payments.retry == (10, 30, 60)


def test_a_serial_task_dispatching_another_inline_does_not_deadlock(q, now):
    """Immediate mode (or a broken queue) runs follow-up tasks inline, inside the first."""
    import threading

    from hotspotd.billing.packages import add_package
    from hotspotd.store.db import write_transaction
    from hotspotd.store.models import Payment, Subscription

    package = add_package(name="Hour", price=10, duration="1h", now=now)
    with write_transaction():
        payment = Payment.create(ref="r", package=package, phone="254712345678", amount=10, status="received",
                                 amount_paid=10, checkout_request_id="ws_CO_1", created_at=now, updated_at=now)
    q.set_mode("immediate")
    runner = threading.Thread(target=q.dispatch, args=(tasks.apply_payments, [payment.id]), daemon=True)
    runner.start()
    runner.join(30)
    assert not runner.is_alive(), "apply_payments -> provision_subscriptions deadlocked"
    assert Payment.get_by_id(payment.id).status == "paid"
    assert Subscription.get().provisioned_at is not None


def test_the_same_work_failing_again_is_one_failed_task_not_one_a_minute(q):
    for _ in range(3):
        q.run(flaky_for_test, 8, _attempt=3)
    q.run(flaky_for_test, 9, _attempt=3)
    rows = [(f.args, f.attempts) for f in FailedTask.select().order_by(FailedTask.id)]
    assert rows == [([8], 12), ([9], 4)]
    q.retry_failed()
    q.run(flaky_for_test, 8, _attempt=3)  # failing after a retry is news: a row of its own
    assert FailedTask.select().count() == 3


def test_the_worker_loads_every_module_its_tasks_use(config):
    """The worker imports its tasks' modules as it starts (by name: a moved module must be found)."""
    import sys

    from hotspotd.plumbing.tasks import WORKER_MODULES, load_worker_modules

    config.central.url = "http://127.0.0.1:9"
    load_worker_modules(config)
    assert all(name in sys.modules for name in (*WORKER_MODULES, "hotspotd.sync.passes"))
