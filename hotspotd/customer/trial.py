"""The free trial (off by default): `[portal] trial_minutes` of access, once per device per
day in the site's time zone, so a customer can reach M-Pesa's or the bank's pages to top up.

hotspotd enforces it, not only the router: a device a router confirmed (its MAC: a MAC
the request only claims could be made up anew for every trial) gets one `trial` row per
local day (a unique index), and the trial is an ordinary subscription of a hidden package
("Free trial", price 0, never for sale) on an account bound to that device alone, so RADIUS
accepts its login from no other device, gives it a Session-Timeout, the sweep cuts it off
at its end, and the same device asking again that day is refused. A device reloading the
page while its trial runs gets the same credentials back.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable
from zoneinfo import ZoneInfo

from .. import devices
from ..billing import grants, packages, subscriptions
from ..billing.bindings import BoundBy
from ..devices import Asker
from ..errors import Conflict, NotFound
from ..plumbing import tasks
from .checkout import access_view
from ..store.db import storage_errors, utcnow, write_transaction
from ..store.models import Package, Setting, Subscription, Trial as TrialRow

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

PACKAGE_KEY = "trial.package_id"
PACKAGE_NAME = "Free trial"
OFF = "There is no free trial at this hotspot"
USED = "You have had today's free trial. It comes back tomorrow."


class Trial:
    """The free-trial use case of one portal process."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.rt = runtime
        self.clock = clock

    @property
    def minutes(self) -> int:
        return max(0, self.rt.config.portal.trial_minutes)

    def start(self, *, device: Asker) -> dict[str, Any]:
        """Access for the asking device now (a device a router confirms): {username,
        password, expires_at, minutes, ...}."""
        self.rt.site_clock.require_believable()  # selling waits for a believable clock (plumbing.clock)
        if not self.minutes:
            raise NotFound(OFF)
        mac = device.confirmed().mac
        now = self.clock()
        day = now.astimezone(ZoneInfo(self.rt.config.site.timezone)).date().isoformat()
        granted = None
        with storage_errors("trial"):
            devices.refuse_blocked(mac)
        with storage_errors("trial"), write_transaction():
            taken = TrialRow.get_or_none((TrialRow.device == mac) & (TrialRow.day == day))
            if taken is not None:
                running = Subscription.get_or_none(Subscription.id == taken.subscription_id)
                if running is None or running.ends_at <= now:
                    raise Conflict(USED)
                customer_id = running.customer_id
            else:
                row = TrialRow.create(device=mac, day=day, ip=device.ip, created_at=now)
                customer_id = subscriptions.new_customer(None, now)
                grant, granted = grants.grant(customer_id, self._package(now), now, device=device, how=BoundBy.TRIAL,
                                              source={"trial_id": row.id})
                TrialRow.update(subscription=grant.subscription_id).where(TrialRow.id == row.id).execute()
            username, password = subscriptions.credential_for(customer_id, now)
            view = access_view(customer_id, now) or {}
        if granted is not None:
            tasks.after_grant(self.rt, [granted])
        return {**view, "username": username, "password": password, "minutes": self.minutes}

    def _package(self, now: datetime) -> Package:
        """The hidden trial package, made on first use and kept in step with the config."""
        duration, rate = self.minutes * 60, packages.parse_rate(self.rt.config.portal.trial_rate)
        stored = Setting.get_or_none(Setting.key == PACKAGE_KEY)
        package = Package.get_or_none(Package.id == stored.value) if stored else None
        if package is None:
            package = Package.create(name=PACKAGE_NAME, price=0, duration_s=duration, rate_limit=rate,
                                     devices=1, active=False, created_at=now)
            Setting.insert(key=PACKAGE_KEY, value=package.id, updated_at=now).on_conflict_replace().execute()
        elif (package.duration_s, package.rate_limit) != (duration, rate):
            Package.update(duration_s=duration, rate_limit=rate).where(Package.id == package.id).execute()
            package.duration_s, package.rate_limit = duration, rate
        return package
