"""Every task hotspotd runs in the background. Each is a thin wrapper around a service
function; retries are visible at the definition, and each task is idempotent.

A task function takes the role's runtime (`rt`: config, clients, the queue) first.
Payments and provisioning go in batches (a list of ids per task): a burst of callbacks
becomes a few tasks instead of a thousand. Tasks that mostly write the database are
`serial`; those that wait on the network (Daraja queries) are not, so a slow Daraja never
holds up applying payments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import alerts, backup, provisioning, reconcile as reconciler, retention
from .billing import payments
from .billing.payments import PaymentStatus
from .queue import PAYMENT_RETRY, PROVISIONING_RETRY, Task, task
from .store.db import utcnow

if TYPE_CHECKING:
    from .runtime import Runtime


@task(retry=PAYMENT_RETRY, serial=True)
def apply_payments(rt: Runtime, payment_ids: list[int]) -> None:
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


@task(retry=PROVISIONING_RETRY, serial=True)
def provision_subscriptions(rt: Runtime, subscription_ids: list[int]) -> None:
    provisioning.provision(subscription_ids, utcnow())


@task(retry=PROVISIONING_RETRY)
def auto_login(rt: Runtime, payment_ids: list[int]) -> None:
    provisioning.auto_login(payment_ids, utcnow())


@task(serial=True)
def reconcile(rt: Runtime) -> None:
    plan = reconciler.run_once(utcnow(), rt.config)
    if plan.apply:
        rt.queue.dispatch(apply_payments, plan.apply)
    for payment_id in plan.check:
        rt.queue.dispatch(check_payment, payment_id)
    if plan.provision:
        rt.queue.dispatch(provision_subscriptions, plan.provision)
    rt.queue.note_reconciled(utcnow())  # what `doctor` reads to know the worker is alive


@task()
def check_alerts(rt: Runtime) -> None:
    config = rt.config
    if alerts.check(utcnow(), config, sync_state=alerts.central_sync_state(config)):
        rt.queue.dispatch(send_alerts)


@task()  # no queue retries: each message keeps its own backoff, and the next check sends it again
def send_alerts(rt: Runtime) -> None:
    alerts.send_due(utcnow(), rt.config)


@task()  # deletes in short chunks, so not serial: payments go on between them
def apply_retention(rt: Runtime) -> None:
    retention.run_once(utcnow(), rt.config)


@task()
def nightly_backup(rt: Runtime) -> None:
    backup.nightly(rt.config, utcnow())


ALL: tuple[Task, ...] = (apply_payments, check_payment, provision_subscriptions, auto_login, reconcile,
                         check_alerts, send_alerts, apply_retention, nightly_backup)
