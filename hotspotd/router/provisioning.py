"""Making the routers know about a subscription, and forgetting it when it ends.

`radius`-mode routers ask hotspotd at login, so there is nothing to push: provisioning
records that the subscription is ready. `api`-mode routers get a hotspot user (and a
profile per package) through their API, on every such router of the site; a router that
cannot be reached makes the task fail and retry (5/15/30/60/120 s, then `queue failed`),
writing `provisioning.failed` once per subscription until it succeeds. The payment is
never touched: it is paid, whatever a router says.

At expiry (or data used up) an `api`-mode router's user is removed and its session kicked;
a customer with another subscription queued keeps the user, switched to that one.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Sequence

from .. import events
from ..errors import HotspotdError, UpstreamError
from . import push as pushing
from .records import RouterMode, target
from .wanted import customers_of, wanted
from ..store.db import db, write_transaction
from ..store.models import Router, to_db_time

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

log = logging.getLogger(__name__)

_MARK = ('UPDATE "subscription" SET "provisioned_at" = ?, "provision_error" = NULL, "provision_tried_at" = ? '
         'WHERE "id" = ? AND "provisioned_at" IS NULL')
_TRIED = 'UPDATE "subscription" SET "provision_tried_at" = ? WHERE "id" = ?'
_FAILED = ('UPDATE "subscription" SET "provision_error" = ?, "provision_tried_at" = ? '
           'WHERE "id" = ? AND "provisioned_at" IS NULL')
_USERNAME = ('SELECT c."username", s."provision_error" FROM "subscription" s '
             'JOIN "credential" c ON c."customer_id" = s."customer_id" WHERE s."id" = ?')


def api_routers() -> list[Router]:
    return list(Router.select().where(Router.mode == RouterMode.API).order_by(Router.id))


def _mark(subscription_ids: Sequence[int], via: str, routers: list[str], now: datetime) -> list[int]:
    done = []
    at = to_db_time(now)
    with write_transaction():
        for subscription_id in subscription_ids:
            if db.execute_sql(_MARK, (at, at, subscription_id)).rowcount:
                row = db.execute_sql(_USERNAME, (subscription_id,)).fetchone()
                data = {"subscription_id": subscription_id, "username": row[0] if row else None, "via": via}
                if routers:
                    data["routers"] = routers
                events.emit("user.provisioned", data, now)
                done.append(subscription_id)
            else:
                db.execute_sql(_TRIED, (at, subscription_id))
    return done


def _failed(subscription_ids: Sequence[int], errors: dict[str, str], now: datetime) -> None:
    """Note the error on each subscription; the event goes out the first time only."""
    message = "; ".join(f"{name}: {error}" for name, error in errors.items())[:500]
    at = to_db_time(now)
    with write_transaction():
        for subscription_id in subscription_ids:
            row = db.execute_sql(_USERNAME, (subscription_id,)).fetchone()
            if row is None:
                continue
            if db.execute_sql(_FAILED, (message, at, subscription_id)).rowcount and row[1] is None:
                events.emit("provisioning.failed", {"subscription_id": subscription_id, "username": row[0],
                                                    "routers": sorted(errors), "error": message}, now)


def provision(rt: Runtime, subscription_ids: Sequence[int], now: datetime) -> list[int]:
    """Make every router ready for these subscriptions; idempotent. Returns those marked
    provisioned now. Raises UpstreamError when an `api`-mode router could not be reached."""
    routers = api_routers()
    if not routers:
        return _mark(subscription_ids, "radius", [], now)
    customers = customers_of(subscription_ids)
    users, profiles, _ = wanted(now, customers.values())
    errors: dict[str, str] = {}
    for router in routers:
        try:
            counts = pushing.push(rt.routers.session, target(router), list(users.values()), profiles,
                                  connections=rt.config.routers.connections)
            log.info("router %s: %s", router.name, dict(counts))
        except HotspotdError as exc:
            errors[router.name] = str(exc)
    if errors:
        _failed(list(customers), errors, now)
        raise UpstreamError("provisioning failed at " + "; ".join(f"{n}: {e}" for n, e in errors.items()))
    return _mark(list(customers), "api", [r.name for r in routers], now)


def expire(rt: Runtime, subscription_ids: Sequence[int], now: datetime) -> None:
    """The users of ended subscriptions: removed (and kicked) at every `api`-mode router,
    or switched to the customer's next subscription. Raises when a router failed."""
    routers = api_routers()
    if not routers or not subscription_ids:
        return
    customers = customers_of(subscription_ids)
    keep, profiles, names = wanted(now, customers.values())
    usernames = sorted(set(names.values()))
    errors = {}
    for router in routers:
        try:
            counts = pushing.withdraw(rt.routers.session, target(router), usernames, keep, profiles,
                                      connections=rt.config.routers.connections)
            log.info("router %s, ended subscriptions: %s", router.name, dict(counts))
        except HotspotdError as exc:
            errors[router.name] = str(exc)
    if errors:
        raise UpstreamError("removing ended users failed at " + "; ".join(f"{n}: {e}" for n, e in errors.items()))


# -- auto-login: the device that paid goes online without typing anything

# Only a device a router confirmed: a MAC a browser claimed is never logged in on its behalf.
_PAYMENT_DEVICE = ('SELECT p."subscription_id", p."mac", p."ip" FROM "payment" p '
                   'WHERE p."id" = ? AND p."status" = \'paid\' AND p."verified" = 1')


def auto_login(rt: Runtime, payment_ids: Sequence[int], now: datetime) -> list[str]:
    """Log in the devices that made these payments (see `router.login`)."""
    devices = []
    for payment_id in payment_ids:
        row = db.execute_sql(_PAYMENT_DEVICE, (payment_id,)).fetchone()
        if row and row[0] and row[2]:
            devices.append(row)
    return [login_device(rt, *device, now) for device in devices]


def login_device(rt: Runtime, subscription_id: int, mac: str | None, ip: str | None, now: datetime) -> str:
    """Log one device in for a subscription; returns what happened (for logs and tests).
    Raises when the router could not be reached (the task retries)."""
    from . import login
    from ..store.models import Credential, Subscription

    if not ip:
        return "no device address"
    subscription = Subscription.get_or_none(Subscription.id == subscription_id)
    credential = subscription and Credential.get_or_none(Credential.customer == subscription.customer_id)
    if credential is None:
        return "no such subscription"
    routers = [r for r in Router.select().order_by(Router.id) if r.status != "offline"]
    router = login.device_router(rt.routers.session, routers, mac, ip)
    if router is None:
        log.info("auto-login: no router sees device %s; the portal page logs it in", mac or ip)
        return "no router sees the device"
    if router.mode == RouterMode.API:  # its user first: provisioning may still be on its way
        users, profiles, _ = wanted(now, [subscription.customer_id])
        pushing.push(rt.routers.session, target(router), list(users.values()), profiles, connections=1)
    outcome = login.log_in(rt.routers.session, router, credential.username, credential.password, mac, ip)
    log.info("auto-login of %s at %s: %s", mac or ip, router.name, outcome)
    return outcome
