"""The queue: tasks bound to the one huey instance, counted retries, inline fallback."""

from datetime import timedelta

import pytest
from huey.storage import SqliteStorage

from hotspotd import queue, tasks
from hotspotd.errors import QueueUnavailable
from hotspotd.store.db import utcnow
from hotspotd.store.models import Event, FailedTask

calls: list[tuple] = []


@queue.task(retry=(10, 30, 60))
def flaky_for_test(n):
    calls.append(n)
    raise RuntimeError(f"boom {n}")


@queue.task()
def record_for_test(n):
    calls.append(n)


@pytest.fixture
def q(store, config):
    calls.clear()
    queue.configure(config.queue_db_path, default_mode="async")
    yield queue.huey
    queue.huey.storage = queue.UnconfiguredStorage("hotspotd")


def test_every_task_is_bound_to_the_instance_the_worker_consumes():
    defined = queue.registered()
    assert {"apply_payments", "check_payment", "provision_subscriptions", "auto_login", "reconcile"} <= set(defined)
    for bound in defined.values():
        assert bound.wrapper.huey is queue.huey
    consumer = queue.huey.create_consumer(workers=1)
    assert consumer.huey is queue.huey


def test_an_unconfigured_queue_refuses_work_instead_of_losing_it():
    queue.huey.storage = queue.UnconfiguredStorage("hotspotd")
    with pytest.raises(QueueUnavailable, match="not configured"):
        record_for_test.wrapper(1)


def test_dispatched_task_is_run_by_the_consumer_of_the_same_file(q, config):
    queue.dispatch(record_for_test, 7)
    assert calls == []  # queued, not run inline
    assert isinstance(q.storage, SqliteStorage) and q.storage.filename == str(config.queue_db_path)
    worker = q.create_consumer(workers=1)._create_worker()
    worker.loop()
    assert calls == [7]


def test_failures_retry_with_growing_delays_then_are_recorded(q):
    before = utcnow()
    flaky_for_test.run(1)
    (scheduled,) = q.pending()  # huey holds it until its eta
    assert scheduled.kwargs == {"_attempt": 1}
    assert timedelta(seconds=9) < scheduled.eta.replace(tzinfo=before.tzinfo) - before < timedelta(seconds=12)
    flaky_for_test.run(1, _attempt=1)
    flaky_for_test.run(1, _attempt=2)
    delays = sorted(round((t.eta.replace(tzinfo=before.tzinfo) - before).total_seconds()) for t in q.pending())
    assert delays == [10, 30, 60]
    assert FailedTask.select().count() == 0
    flaky_for_test.run(1, _attempt=3)  # the fourth attempt is the last
    failed = FailedTask.get()
    assert (failed.task, failed.args, failed.attempts) == ("flaky_for_test", [1], 4)
    assert "boom 1" in failed.error


def test_failed_tasks_can_be_retried(q):
    flaky_for_test.run(5, _attempt=3)
    assert queue.retry_failed() == [FailedTask.get().id]
    assert [t.name for t in q.pending()] == ["flaky_for_test"]
    assert queue.retry_failed() == []  # already retried


def test_broken_queue_runs_inline_and_raises_the_alarm(q, config):
    queue.huey.storage = queue.UnconfiguredStorage("hotspotd")
    queue.dispatch(record_for_test, 9)
    assert calls == [9]
    critical = Event.get(Event.type == "system.critical")
    assert "record_for_test" in critical.data["message"]


def test_immediate_mode_runs_inline_and_is_switchable_at_run_time(q, monkeypatch):
    queue.set_mode("immediate")
    queue.dispatch(record_for_test, 3)
    assert calls == [3] and q.pending_count() == 0
    assert Event.get(Event.type == "system.mode_changed").data["queue_mode"] == "immediate"
    queue.set_mode("async")
    queue.dispatch(record_for_test, 4)
    assert calls == [3] and q.pending_count() == 1


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
    queue.set_mode("immediate")
    runner = threading.Thread(target=queue.dispatch, args=(tasks.apply_payments, [payment.id]), daemon=True)
    runner.start()
    runner.join(30)
    assert not runner.is_alive(), "apply_payments -> provision_subscriptions deadlocked"
    assert Payment.get_by_id(payment.id).status == "paid"
    assert Subscription.get().provisioned_at is not None
