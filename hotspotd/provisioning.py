"""Making a router know about a subscription.

With RADIUS the router asks hotspotd at login, so there is nothing to push: provisioning
records that the subscription is ready and says so. Pushing hotspot users and logging a
device in through the RouterOS API arrive with the router work; until then `auto_login`
leaves the login to the portal page (MikroTik's link-login-only form).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Sequence

from . import events
from .store.db import db, write_transaction
from .store.models import to_db_time

log = logging.getLogger(__name__)

_MARK = 'UPDATE "subscription" SET "provisioned_at" = ? WHERE "id" = ? AND "provisioned_at" IS NULL'
_USERNAME = ('SELECT c."username" FROM "subscription" s JOIN "credential" c ON c."customer_id" = s."customer_id" '
             'WHERE s."id" = ?')


def provision(subscription_ids: Sequence[int], now: datetime) -> list[int]:
    """Mark subscriptions ready at the routers; idempotent. Returns those marked now."""
    done = []
    with write_transaction():
        for subscription_id in subscription_ids:
            if db.execute_sql(_MARK, (to_db_time(now), subscription_id)).rowcount:
                row = db.execute_sql(_USERNAME, (subscription_id,)).fetchone()
                events.emit("user.provisioned", {"subscription_id": subscription_id,
                                                 "username": row[0] if row else None, "via": "radius"}, now)
                done.append(subscription_id)
    return done


def auto_login(payment_ids: Sequence[int], now: datetime) -> None:
    """Log paying devices in through the router API (router work to come; the portal does it now)."""
    log.debug("auto-login of %d payment(s) left to the portal page", len(payment_ids))
