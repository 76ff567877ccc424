"""Every task hotspotd runs in the background. Each is a thin wrapper around a service
function; retries are visible at the definition, and each task is idempotent.

Payments and provisioning go in batches (a list of ids per task): a burst of callbacks
becomes a few tasks instead of a thousand. Tasks that mostly write the database are
`serial`; those that wait on the network (Daraja queries) are not, so a slow Daraja
never holds up applying payments.
"""

from __future__ import annotations

from . import provisioning, reconcile as reconciler, runtime
from .billing import payments
from .queue import PAYMENT_RETRY, PROVISIONING_RETRY, dispatch, task
from .store.db import utcnow


@task(retry=PAYMENT_RETRY, serial=True)
def apply_payments(payment_ids: list[int]) -> None:
    applied, failed = payments.apply_many(payment_ids, utcnow())
    paid = [a for a in applied if a.status == "paid"]
    if paid:
        dispatch(provision_subscriptions, [a.subscription_id for a in paid])
        dispatch(auto_login, [a.payment_id for a in paid])
    if len(payment_ids) == 1 and failed:
        raise failed[0][1]  # alone now: let its own retries run
    for payment_id, _ in failed:
        dispatch(apply_payments, [payment_id])


@task(retry=PAYMENT_RETRY)
def check_payment(payment_id: int) -> None:
    status = payments.record_query(payment_id, runtime.daraja(), now=utcnow(),
                                   pending_timeout=runtime.config().mpesa.pending_timeout)
    if status == "received":
        dispatch(apply_payments, [payment_id])


@task(retry=PROVISIONING_RETRY, serial=True)
def provision_subscriptions(subscription_ids: list[int]) -> None:
    provisioning.provision(subscription_ids, utcnow())


@task(retry=PROVISIONING_RETRY)
def auto_login(payment_ids: list[int]) -> None:
    provisioning.auto_login(payment_ids, utcnow())


@task(serial=True)
def reconcile() -> None:
    plan = reconciler.run_once(utcnow(), runtime.config())
    if plan.apply:
        dispatch(apply_payments, plan.apply)
    for payment_id in plan.check:
        dispatch(check_payment, payment_id)
    if plan.provision:
        dispatch(provision_subscriptions, plan.provision)
