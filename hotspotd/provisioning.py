"""Making a router know about a subscription.

With RADIUS the router asks hotspotd at login, so there is nothing to push: provisioning
records that the subscription is ready and says so. Pushing hotspot users and logging a
device in through the RouterOS API arrive with the router work; until then `auto_login`
leaves the login to the portal page (MikroTik's link-login-only form).
"""

from __future__ import annotations

import logging
from datetime import datetime

from . import events
from .store.db import write_transaction
from .store.models import Credential, Payment, Subscription

log = logging.getLogger(__name__)


def provision(subscription_id: int, now: datetime) -> bool:
    """Mark a subscription ready at the routers; idempotent. Returns False if already done."""
    with write_transaction():
        subscription = Subscription.get_by_id(subscription_id)
        if subscription.provisioned_at is not None:
            return False
        credential = Credential.get(Credential.customer == subscription.customer_id)
        subscription.provisioned_at = now
        subscription.save()
        events.emit("user.provisioned", {"subscription_id": subscription.id, "username": credential.username,
                                         "via": "radius"}, now)
        return True


def auto_login(payment_id: int, now: datetime) -> None:
    """Log the paying device in through the router API (router work to come; portal does it now)."""
    payment = Payment.get_by_id(payment_id)
    log.debug("auto-login for payment %s left to the portal page (mac known: %s)", payment.id, bool(payment.mac))
