"""Every task hotspotd runs in the background. Each is a thin wrapper around a service
function; retries are visible at the definition, and each task is idempotent.
"""

from __future__ import annotations

from . import provisioning, reconcile as reconciler, runtime
from .billing import payments
from .queue import PAYMENT_RETRY, PROVISIONING_RETRY, dispatch, task
from .store.db import utcnow


@task(retry=PAYMENT_RETRY)
def apply_payment(payment_id: int) -> None:
    applied = payments.apply(payment_id, utcnow())
    if applied.subscription_id is not None:
        dispatch(provision_subscription, applied.subscription_id)
        dispatch(auto_login, payment_id)


@task(retry=PAYMENT_RETRY)
def check_payment(payment_id: int) -> None:
    status = payments.record_query(payment_id, runtime.daraja(), now=utcnow(),
                                   pending_timeout=runtime.config().mpesa.pending_timeout)
    if status == "received":
        dispatch(apply_payment, payment_id)


@task(retry=PROVISIONING_RETRY)
def provision_subscription(subscription_id: int) -> None:
    provisioning.provision(subscription_id, utcnow())


@task(retry=PROVISIONING_RETRY)
def auto_login(payment_id: int) -> None:
    provisioning.auto_login(payment_id, utcnow())


@task()
def reconcile() -> None:
    plan = reconciler.run_once(utcnow(), runtime.config())
    for payment_id in plan.apply:
        dispatch(apply_payment, payment_id)
    for payment_id in plan.check:
        dispatch(check_payment, payment_id)
    for subscription_id in plan.provision:
        dispatch(provision_subscription, subscription_id)
