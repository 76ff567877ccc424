"""The router watch driven pass by pass by a fake clock, against the RouterOS simulator:
which jobs each pass starts and when it wants the next; a router shown offline only after
`offline_after` probe passes failed; and a ten-minute outage that ends with the
subscription provisioned the moment the router is back and the payment paid throughout
(the queue driven by the same clock, so each provisioning retry runs when it is due).
The site's default intervals throughout: the clock, not the test, waits them out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hotspotd.billing import payments
from hotspotd.plumbing import tasks
from hotspotd.router.watch import RouterWatch
from hotspotd.store.db import utcnow, write_transaction
from hotspotd.store.models import Event, FailedTask, Payment, Router, Subscription

from ..clock import FakeClock, consume
from .conftest import register


@pytest.fixture
def clock():
    return FakeClock(wall=utcnow())  # the tasks date what they write by the wall clock: start from it


@pytest.fixture
def watch(runtime):
    # what the worker does when a router comes back (`WorkerRole._router_back`)
    made = RouterWatch(runtime, on_online=lambda router: runtime.queue.dispatch(tasks.catch_up_router, router.id))
    yield made
    made.close()


def drive(watch: RouterWatch, clock: FakeClock, seconds: float, each=lambda: None) -> list[tuple[float, str]]:
    """What the worker's thread does for `seconds` of the clock: a pass, its jobs to their end,
    then the clock moved to the time the pass asked for. (seconds since the start, job) per
    job started; `each()` after every pass."""
    start, seen = clock.now, []
    while clock.now <= start + seconds:
        passed = watch.tick(clock.now)
        assert watch.settle(10), "a router job still running after 10 s"
        seen += [(round(clock.now - start, 3), kind) for kind, _ in passed.started]
        each()
        assert passed.next_at > clock.now
        clock.now = passed.next_at
    return seen


def test_each_pass_starts_the_jobs_due_and_says_when_the_next_are(runtime, routeros, watch, clock, now):
    register(routeros, mode="api", now=now)
    settings = runtime.config.routers
    seen = drive(watch, clock, settings.reconcile_interval)
    at = {kind: [t for t, each in seen if each == kind] for kind in ("probe", "sessions", "reconcile")}
    assert at["probe"] == [settings.probe_interval * n for n in range(6)]  # every 60 s, the first at once
    assert at["sessions"] == [settings.sessions_interval * n for n in range(11)]  # every 30 s
    assert at["reconcile"] == [settings.reconcile_interval]  # the first one interval after the start
    assert Router.get(Router.name == "gate").status == "online"


def test_a_job_still_running_is_not_started_again(runtime, routeros, watch, clock, now):
    runtime.config.routers.connect_timeout = runtime.config.routers.timeout = 1
    register(routeros, mode="radius", now=now)
    routeros.silent = True  # takes the connection, never answers
    first = watch.tick(clock.now)
    assert sorted(first.started) == [("probe", "gate"), ("sessions", "gate")]
    assert watch.tick(clock.advance(runtime.config.routers.probe_interval)).started == []  # both still waiting
    assert watch.settle(10)  # each gave up after its timeout
    again = watch.tick(clock.advance(runtime.config.routers.probe_interval))
    assert sorted(again.started) == [("probe", "gate"), ("sessions", "gate")]


def test_a_router_is_offline_only_after_its_probes_failed_n_times_and_back_at_the_next(
        runtime, routeros, watch, clock, now):
    register(routeros, mode="radius", now=now)
    settings = runtime.config.routers
    drive(watch, clock, 0)
    assert Router.get(Router.name == "gate").status == "online"
    routeros.refuse()
    for failed in range(1, settings.offline_after):
        drive(watch, clock, settings.probe_interval - 1)
        router = Router.get(Router.name == "gate")
        assert (router.status, router.failures) == ("online", failed)  # not after one lost answer
    seen = drive(watch, clock, settings.probe_interval - 1)
    assert Router.get(Router.name == "gate").status == "offline"
    seen = drive(watch, clock, settings.probe_interval - 1)
    assert [kind for _, kind in seen] == ["probe"]  # no session reads while it is offline: its probe says when it is back
    routeros.refuse(False)
    routeros.router.add_active("someone", "AA:BB:CC:30:00:09", "10.5.50.39", radius=True)
    drive(watch, clock, settings.probe_interval - 1)
    assert Router.get(Router.name == "gate").status == "online"
    kinds = [e.type for e in Event.select().where(Event.type.in_(["router.online", "router.offline"])).order_by(Event.id)]
    assert kinds == ["router.online", "router.offline", "router.online"]
    drive(watch, clock, settings.sessions_interval)
    announced = [e.data for e in Event.select().where(Event.type == "router.sessions")]
    assert any(data.get("joined") for data in announced)


def test_a_router_refusing_connections_for_ten_minutes_ends_provisioned_and_the_payment_paid(
        runtime, routeros, watch, clock, hour, now):
    register(routeros, mode="api", now=now)
    drive(watch, clock, 0)  # online
    routeros.refuse()
    paid_at = clock.wall()
    payment = payments.start(hour, "254712300002", mac="AA:BB:CC:30:00:02", ip="10.5.50.32", now=paid_at)
    with write_transaction():
        payments.mark_received(payment.id, receipt="RKL51ZDR4F", amount_paid=Decimal(10), result_desc="paid",
                               now=paid_at)
    runtime.queue.run(tasks.apply_payments, [payment.id])  # applied; its provisioning fails and is retried
    payment = Payment.get_by_id(payment.id)
    assert payment.status == "paid" and Event.select().where(Event.type == "provisioning.failed").exists()

    def still_waiting() -> None:
        consume(runtime.queue, clock.wall())  # the retries due by now (5, 15, 30, 60, 120 s apart)
        assert Payment.get_by_id(payment.id).status == "paid"  # never marked failed
        assert Subscription.get_by_id(payment.subscription_id).provisioned_at is None

    drive(watch, clock, 600, still_waiting)
    assert Router.get(Router.name == "gate").status == "offline"
    assert FailedTask.select().where(FailedTask.task == "provision_subscriptions").exists()  # its retries ran out

    routeros.refuse(False)
    drive(watch, clock, runtime.config.routers.probe_interval - 1)  # the next probe finds it back: catch-up
    assert Subscription.get_by_id(payment.subscription_id).provisioned_at is not None
    username = Payment.get_by_id(payment.id).customer.credentials[0].username
    assert [u["name"] for u in routeros.router.table("/ip/hotspot/user")] == [username]
    assert Payment.get_by_id(payment.id).status == "paid"
    assert Event.select().where(Event.type == "provisioning.failed").count() == 1
