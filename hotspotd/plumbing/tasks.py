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

from typing import TYPE_CHECKING, Sequence

from ..billing import payments
from ..billing.payments import PaymentStatus
from ..pppoe import billing as subscriber_billing
from .queue import PAYMENT_RETRY, PROVISIONING_RETRY, Task, task
from ..store.db import utcnow

if TYPE_CHECKING:
    from ..billing.grants import Granted
    from ..config import Config
    from .runtime import Runtime

# What the tasks import when they first run. The worker loads them as it starts, so its first
# tasks do not stop to import (in the back office an import would hold up every greenlet,
# the console's too).
WORKER_MODULES = ("hotspotd.pppoe.month_end", "hotspotd.router.provisioning", "hotspotd.router.operations", "hotspotd.plumbing.reconcile",
                  "hotspotd.alerts", "hotspotd.operations.retention", "hotspotd.operations.backup",
                  "hotspotd.plumbing.offload", "hotspotd.billing.paybill_pull", "hotspotd.sms.outbox",
                  "hotspotd.billing.refunds")


def load_worker_modules(config: Config) -> None:
    import importlib

    for name in WORKER_MODULES + (("hotspotd.sync.passes",) if config.central.url else ()):
        importlib.import_module(name)


def after_grant(rt: Runtime, granted: Sequence[Granted]) -> None:
    """What follows access being granted, whichever way it was (a payment applied, a
    voucher, "already paid?", a trial, the console): the subscriptions are provisioned at
    the routers that keep hotspot users, and each device a router confirmed is logged in at
    its router, so the customer types nothing. The record (subscription, events, the
    device's binding) was written with the grant (`billing.grants`); this only sends work.
    """
    if not granted:
        return
    rt.queue.dispatch(provision_subscriptions, sorted({g.subscription_id for g in granted}))
    if rt.config.sms.provider:  # the grant queued its receipt SMS (billing.grants): send it now
        rt.queue.dispatch(send_sms)
    paid = [g.payment_id for g in granted if g.mac and g.payment_id is not None]
    if paid:  # one task for a batch of payments: it reads each payment's device
        rt.queue.dispatch(auto_login, paid)
    for g in granted:
        if g.mac and g.payment_id is None:
            rt.queue.dispatch(auto_login_device, g.subscription_id, g.mac, g.ip)


@task(retry=PAYMENT_RETRY, serial=True)
def apply_payments(rt: Runtime, payment_ids: list[int]) -> None:
    if not rt.site_clock.frame_known():
        return  # a period started on a stale clock would be lost at the next step; the reconciler sends it again
    now = rt.site_clock.now()
    # home subscribers' payments extend their period (hotspotd.pppoe.billing); the rest buy packages
    payment_ids = subscriber_billing.apply_received(payment_ids, now, rt.config.pppoe.grace_hours * 3600.0)
    if not payment_ids:
        return
    applied, failed = payments.apply_many(payment_ids, now)
    granted = [a.granted for a in applied if a.granted is not None]
    after_grant(rt, granted)
    if len(payment_ids) == 1 and failed:
        raise failed[0][1]  # alone now: let its own retries run
    for payment_id, _ in failed:
        rt.queue.dispatch(apply_payments, [payment_id])


@task(retry=PAYMENT_RETRY)
def check_payment(rt: Runtime, payment_id: int) -> None:
    if not rt.site_clock.believable():
        return  # the query's Timestamp and Password come from the clock; the reconciler sends it again
    status = payments.record_query(payment_id, rt.daraja, now=rt.site_clock.now(),
                                   pending_timeout=rt.config.mpesa.pending_timeout)
    if status == PaymentStatus.RECEIVED:
        rt.queue.dispatch(apply_payments, [payment_id])


# Router tasks wait on the network, not the database: none is serial, so a slow router
# never holds the lock that applying payments takes.

@task(retry=PROVISIONING_RETRY)
def provision_subscriptions(rt: Runtime, subscription_ids: list[int]) -> None:
    from ..router import provisioning

    provisioning.provision(rt, subscription_ids, rt.site_clock.decision_now())


@task(retry=PROVISIONING_RETRY)
def remove_ended_users(rt: Runtime, subscription_ids: list[int]) -> None:
    from ..router import provisioning

    provisioning.expire(rt, subscription_ids, rt.site_clock.decision_now())


@task(retry=PROVISIONING_RETRY)
def auto_login(rt: Runtime, payment_ids: list[int]) -> None:
    from ..router import provisioning

    provisioning.auto_login(rt, payment_ids, rt.site_clock.decision_now())


@task(retry=PROVISIONING_RETRY)
def auto_login_device(rt: Runtime, subscription_id: int, mac: str | None, ip: str | None) -> None:
    from ..router import provisioning

    provisioning.login_device(rt, subscription_id, mac, ip, rt.site_clock.decision_now())


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
        provisioning.provision(rt, pending, rt.site_clock.decision_now())


@task(serial=True)
def reconcile(rt: Runtime) -> None:
    from . import reconcile as reconciler

    clock = rt.site_clock
    # now() first: a step the clock took is repaired before anything is judged by the new time
    plan = reconciler.run_once(clock.now(), rt.config, frame_known=clock.frame_known())
    if plan.apply:
        rt.queue.dispatch(apply_payments, plan.apply)
    for payment_id in plan.check:
        rt.queue.dispatch(check_payment, payment_id)
    if plan.provision:
        rt.queue.dispatch(provision_subscriptions, plan.provision)
    if plan.expired:
        rt.queue.dispatch(remove_ended_users, plan.expired)
    for request_id in plan.refunds:
        rt.queue.dispatch(send_refund, request_id)
    rt.queue.note_reconciled(utcnow())  # what `doctor` reads to know the worker is alive


@task()  # not serial: it waits on Daraja; recording takes short transactions
def pull_transactions(rt: Runtime) -> None:
    from ..billing import paybill_pull
    from ..mpesa.pull import PullTransactions

    config = rt.config
    report = paybill_pull.run_pass(PullTransactions(rt.daraja, config.mpesa.paybill), utcnow(), tz=config.site.timezone)
    if report.apply:
        rt.queue.dispatch(apply_payments, report.apply)


@task()  # no queue retries: each text keeps its own backoff in the outbox
def send_sms(rt: Runtime) -> None:
    from ..sms import outbox

    outbox.send_due(rt.sms, rt.config, utcnow())


@task(retry=PAYMENT_RETRY)
def send_refund(rt: Runtime, request_id: int) -> None:
    from ..billing import refunds
    from ..errors import ConfigError

    config = rt.config
    try:
        reverser = rt.initiator
    except ConfigError as exc:
        refunds.fail_unsendable(request_id, f"{refunds.NOT_SET_UP} ({exc})", utcnow())
        return
    refunds.send(request_id, reverser, result_url=config.result_url, timeout_url=config.result_timeout_url,
                 now=utcnow())


@task(serial=True)
def subscribers_month_end(rt: Runtime) -> None:
    from ..pppoe import month_end
    from ..sms import outbox
    from ..store.db import write_transaction
    from ..store.models import iso

    now = utcnow()

    def send(reminders: list) -> None:  # through the SMS outbox, once per subscriber, period and kind
        with write_transaction():
            for each in reminders:
                outbox.queue_text(kind=outbox.REMINDER, key=f"reminder:{each.subscriber_id}:{iso(each.period_end)}:{each.kind}",
                                  phone=each.phone, text=each.text, lang=each.language, now=now)
        if rt.config.sms.provider:
            rt.queue.dispatch(send_sms)

    month_end.tick(now, month_end.Terms.of(rt.config), send=send)


@task()
def sync_central(rt: Runtime) -> None:
    # Not serial: it mostly waits on the network, and writes in short transactions.
    # Never raises: a central that is down is recorded, with the backoff, in sync_state.
    from ..sync import passes as sync_passes  # here: the HTTP client is the worker's alone

    sync_passes.run_pass(rt.config, rt.central, extra_health={"queue_depth": rt.queue.huey.pending_count()})


@task()
def check_alerts(rt: Runtime) -> None:
    from .. import alerts

    if alerts.tick(utcnow(), rt.config, clock=rt.site_clock.reading()).due:
        rt.queue.dispatch(send_alerts)


@task()  # no queue retries: each message keeps its own backoff, and the next check sends it again
def send_alerts(rt: Runtime) -> None:
    from .. import alerts

    alerts.send_due(utcnow(), rt.config)


@task()  # deletes in short chunks, so not serial: payments go on between them
def apply_retention(rt: Runtime) -> None:
    from ..operations import retention

    if rt.site_clock.believable():  # ages on a clock that is not believable would delete what is new
        retention.tick(rt.site_clock.now(), rt.config)


@task()
def ask_daraja_time(rt: Runtime) -> None:
    # While the clock is not believable (and hourly anyway), Daraja's Date header is a witness.
    from ..errors import UpstreamError

    m = rt.config.mpesa
    if m.consumer_key and rt.site_clock.wants_witness():
        try:
            rt.daraja.ask_time()  # the client hands the header to the clock
        except UpstreamError:
            pass  # the uplink is down: NTP cannot help either; ask again next time


@task()
def nightly_backup(rt: Runtime) -> None:
    from ..operations import backup
    from .offload import off_the_loop

    off_the_loop(backup.nightly, rt.config, utcnow())  # seconds of SQLite copying: not on the console's loop


ALL: tuple[Task, ...] = (apply_payments, check_payment, provision_subscriptions, auto_login, reconcile,
                         remove_ended_users, auto_login_device, probe_router, refresh_sessions, kick_session,
                         deploy_router, catch_up_router, sync_central, check_alerts, send_alerts, apply_retention,
                         nightly_backup, ask_daraja_time, pull_transactions, send_sms, send_refund,
                         subscribers_month_end)
