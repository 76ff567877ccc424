"""Every task hotspotd runs in the background. Each is a thin wrapper around a service
function; retries are visible at the definition, and each task is idempotent.

A task function takes the role's runtime (`rt`: config, clients, the queue) first. The
service modules that only the worker runs are imported inside the tasks, so the roles
that only send work (portal, admin) do not hold their code.
Payments and provisioning go in batches (a list of ids per task): a burst of callbacks
becomes a few tasks instead of a thousand. Tasks that mostly write the database are
`serial`; those that wait on the network (Daraja queries) are not, so a slow Daraja never
holds up applying payments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..billing import payments
from ..billing.payments import PaymentStatus
from ..pppoe import billing as subscriber_billing
from .queue import PAYMENT_RETRY, PROVISIONING_RETRY, Task, task
from ..store.db import utcnow

if TYPE_CHECKING:
    from ..config import Config
    from .runtime import Runtime

# What the tasks import when they first run. The worker loads them as it starts, so its first
# tasks do not stop to import (in the back office an import would hold up every greenlet,
# the console's too).
WORKER_MODULES = ("hotspotd.pppoe.month_end", "hotspotd.router.provisioning", "hotspotd.router.operations", "hotspotd.plumbing.reconcile",
                  "hotspotd.alerts", "hotspotd.operations.retention", "hotspotd.operations.backup",
                  "hotspotd.plumbing.offload")


def load_worker_modules(config: Config) -> None:
    import importlib

    for name in WORKER_MODULES + (("hotspotd.sync.passes",) if config.central.url else ()):
        importlib.import_module(name)


@task(retry=PAYMENT_RETRY, serial=True)
def apply_payments(rt: Runtime, payment_ids: list[int]) -> None:
    # home subscribers' payments extend their period (hotspotd.pppoe.billing); the rest buy packages
    payment_ids = subscriber_billing.apply_received(payment_ids, utcnow(), rt.config.pppoe.grace_hours * 3600.0)
    if not payment_ids:
        return
    applied, failed = payments.apply_many(payment_ids, utcnow())
    paid = [a for a in applied if a.status == PaymentStatus.PAID]
    if paid:
        rt.queue.dispatch(provision_subscriptions, [a.subscription_id for a in paid])
        rt.queue.dispatch(auto_login, [a.payment_id for a in paid])
    if len(payment_ids) == 1 and failed:
        raise failed[0][1]  # alone now: let its own retries run
    for payment_id, _ in failed:
        rt.queue.dispatch(apply_payments, [payment_id])


@task(retry=PAYMENT_RETRY)
def check_payment(rt: Runtime, payment_id: int) -> None:
    status = payments.record_query(payment_id, rt.daraja, now=utcnow(),
                                   pending_timeout=rt.config.mpesa.pending_timeout)
    if status == PaymentStatus.RECEIVED:
        rt.queue.dispatch(apply_payments, [payment_id])


# Router tasks wait on the network, not the database: none is serial, so a slow router
# never holds the lock that applying payments takes.

@task(retry=PROVISIONING_RETRY)
def provision_subscriptions(rt: Runtime, subscription_ids: list[int]) -> None:
    from ..router import provisioning

    provisioning.provision(rt, subscription_ids, utcnow())


@task(retry=PROVISIONING_RETRY)
def remove_ended_users(rt: Runtime, subscription_ids: list[int]) -> None:
    from ..router import provisioning

    provisioning.expire(rt, subscription_ids, utcnow())


@task(retry=PROVISIONING_RETRY)
def auto_login(rt: Runtime, payment_ids: list[int]) -> None:
    from ..router import provisioning

    provisioning.auto_login(rt, payment_ids, utcnow())


@task(retry=PROVISIONING_RETRY)
def auto_login_device(rt: Runtime, subscription_id: int, mac: str | None, ip: str | None) -> None:
    from ..router import provisioning

    provisioning.login_device(rt, subscription_id, mac, ip, utcnow())


@task()
def probe_router(rt: Runtime, router_id: int) -> None:
    from ..router import operations

    operations.probe(rt, router_id)


@task()
def refresh_sessions(rt: Runtime, router_id: int) -> None:
    from ..router import operations

    operations.refresh_sessions(rt, router_id)


@task(retry=PAYMENT_RETRY)
def kick_session(rt: Runtime, live_session_id: int) -> None:
    from ..router import operations

    operations.kick(rt, live_session_id)


@task()
def deploy_router(rt: Runtime, router_id: int, service: str = "hotspot", interface: str | None = None,
                  network: str | None = None) -> None:
    from ..router import operations

    # reports its own failure (router.deploy.failed); no retry
    operations.deploy(rt, router_id, service=service, interface=interface, network=network)


@task(retry=PROVISIONING_RETRY)
def catch_up_router(rt: Runtime, router_id: int) -> None:
    from ..router import provisioning
    from ..router import operations

    pending = operations.waiting_for(router_id)
    if pending:
        provisioning.provision(rt, pending, utcnow())


@task(serial=True)
def reconcile(rt: Runtime) -> None:
    from . import reconcile as reconciler

    plan = reconciler.run_once(utcnow(), rt.config)
    if plan.apply:
        rt.queue.dispatch(apply_payments, plan.apply)
    for payment_id in plan.check:
        rt.queue.dispatch(check_payment, payment_id)
    if plan.provision:
        rt.queue.dispatch(provision_subscriptions, plan.provision)
    if plan.expired:
        rt.queue.dispatch(remove_ended_users, plan.expired)
    rt.queue.note_reconciled(utcnow())  # what `doctor` reads to know the worker is alive


@task(serial=True)
def subscribers_month_end(rt: Runtime) -> None:
    from ..pppoe import month_end

    month_end.tick(utcnow(), month_end.Terms.of(rt.config))  # no SMS outbox yet: reminders are recorded


@task()
def sync_central(rt: Runtime) -> None:
    # Not serial: it mostly waits on the network, and writes in short transactions.
    # Never raises: a central that is down is recorded, with the backoff, in sync_state.
    from ..sync import passes as sync_passes  # here: the HTTP client is the worker's alone

    sync_passes.run_pass(rt.config, rt.central, extra_health={"queue_depth": rt.queue.huey.pending_count()})


@task()
def check_alerts(rt: Runtime) -> None:
    from .. import alerts

    config = rt.config
    if alerts.check(utcnow(), config, sync_state=alerts.central_sync_state(config)):
        rt.queue.dispatch(send_alerts)


@task()  # no queue retries: each message keeps its own backoff, and the next check sends it again
def send_alerts(rt: Runtime) -> None:
    from .. import alerts

    alerts.send_due(utcnow(), rt.config)


@task()  # deletes in short chunks, so not serial: payments go on between them
def apply_retention(rt: Runtime) -> None:
    from ..operations import retention

    retention.run_once(utcnow(), rt.config)


@task()
def nightly_backup(rt: Runtime) -> None:
    from ..operations import backup
    from .offload import off_the_loop

    off_the_loop(backup.nightly, rt.config, utcnow())  # seconds of SQLite copying: not on the console's loop


ALL: tuple[Task, ...] = (apply_payments, check_payment, provision_subscriptions, auto_login, reconcile,
                         remove_ended_users, auto_login_device, probe_router, refresh_sessions, kick_session,
                         deploy_router, catch_up_router, sync_central, check_alerts, send_alerts, apply_retention,
                         nightly_backup, subscribers_month_end)
