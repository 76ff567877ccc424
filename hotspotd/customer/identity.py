"""Who is asking: the device behind a portal request, from the network, not from what the
request says.

The request's own address is asked of the site's routers (`hotspotd.router.hosts`: every
router's hotspot host table at once, briefly remembered): a router that sees a device
there names its MAC. Failing that (a router without API access, or the API down), the
open RADIUS session at that address names it (the router reported it in accounting).
Either way the device is *verified*. Otherwise the request's `mac`/`ip` (MikroTik's
login-page variables, which the browser can edit) are kept as hints, unverified.

A claim the router contradicts (another device's MAC in the request) is refused and
counted (`device.claim_refused`, a bounded sample). A request that comes from a router's
own address (its masquerade, or its web proxy for an HTTP walled garden) says nothing
about the device: it is unverified, and when many devices arrive that way the health log
says so once an hour, with the fix (`hotspotd router deploy` adds the IP walled garden
and the NAT exemption that let customers reach the box with their own addresses).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Callable

from .. import events
from ..devices import CLAIM_REFUSED, Asker, claimed, verified
from ..errors import Forbidden, HotspotdError
from ..router.hosts import HostFinder, HostLookup
from ..store import sampling
from ..store.db import db, storage_errors, utcnow, write_transaction
from ..store.models import HealthLog

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

log = logging.getLogger(__name__)

# Devices seen through one router's address before the operator is told (once an hour).
CROWD = 3
CROWD_WINDOW = 3600.0
VIA_ROUTER = ("customers reach hotspotd through router {router}'s own address ({devices} devices in the last "
              "hour), so the portal cannot tell them apart: run `hotspotd router deploy {router}` (it lets them "
              "reach the box with their own addresses: an IP walled-garden entry and a NAT exemption)")

# The open RADIUS session at an address: the device the router reported there.
_SESSION_AT = ('SELECT s."mac", s."ip", r."name" FROM "session" s JOIN "router" r ON r."id" = s."router_id" '
               'WHERE s."ip" = ? AND s."status" = \'open\' AND s."mac" IS NOT NULL '
               'ORDER BY s."started_at" DESC LIMIT 1')


class Crowd:
    """Distinct devices claimed through each router's own address, per hour (in memory)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: dict[str, tuple[float, set[str]]] = {}
        self._told: dict[str, float] = {}
        self._lock = threading.Lock()

    def note(self, router: str, device: str | None) -> int | None:
        """Count `device`; the number of devices when the operator should be told now."""
        now = self._clock()
        with self._lock:
            since, devices = self._seen.get(router, (now, set()))
            if now - since > CROWD_WINDOW:
                since, devices = now, set()
            if device and len(devices) < 10_000:
                devices.add(device)
            self._seen[router] = (since, devices)
            if len(devices) >= CROWD and now - self._told.get(router, -CROWD_WINDOW * 2) >= CROWD_WINDOW:
                self._told[router] = now
                return len(devices)
        return None


class Identity:
    """Resolves who is asking; one per portal process (it owns the host lookups' threads)."""

    def __init__(self, runtime: Runtime, *, finder: HostFinder | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.rt = runtime
        self.clock = clock
        self.finder = finder or HostFinder.for_runtime(runtime)
        self.crowd = Crowd()

    def close(self) -> None:
        self.finder.close()

    def resolve(self, address: str | None, *, mac: str | None = None, ip: str | None = None,
                fresh: bool = False) -> Asker:
        """Who is behind a request from `address` that claims (`mac`, `ip`). Forbidden when
        a router contradicts the claim. `fresh`: ask the routers now, not from memory
        (before telling a customer they are online)."""
        hint = claimed(mac, ip, address)  # an ill-formed MAC is refused here
        if not address:
            return hint
        lookup = self._lookup(address, fresh)
        if lookup is not None and lookup.found:
            found = lookup.device
            asker = verified(found.mac, found.address or address, address=address, router=found.router)
            addresses = {found.address, found.to_address, address}
        elif lookup is not None and lookup.router_address:
            self._via_router(lookup.router_address, hint)
            return Asker(address=address, mac=hint.mac, ip=hint.ip, via_router=lookup.router_address)
        else:
            with storage_errors("who is asking"):
                row = db.execute_sql(_SESSION_AT, (address,)).fetchone()
            if row is None:
                return hint
            asker = verified(row[0], row[1], address=address, how="accounting", router=row[2])
            addresses = {row[1], address}
        if (hint.mac and hint.mac != asker.mac) or (ip and ip not in addresses):
            self._refuse(asker, hint)
        return asker

    def _lookup(self, address: str, fresh: bool) -> HostLookup | None:
        try:
            return self.finder.lookup(address, fresh=fresh)
        except HotspotdError as exc:  # not an address a router could know
            log.info("no host lookup for %s: %s", address, exc)
            return None

    def _refuse(self, asker: Asker, hint: Asker) -> None:
        now = self.clock()
        log.info("refused a claim from %s: the router says %s, the request %s", asker.address, asker.mac, hint.mac)
        try:
            with write_transaction():
                if sampling.admit(sampling.DEVICE_CLAIM, now, source=asker.address).keep:
                    events.emit("device.claim_refused", {"address": asker.address, "mac": asker.mac,
                                                         "claimed_mac": hint.mac, "claimed_ip": hint.ip,
                                                         "router": asker.router}, now)
        except Exception as exc:  # the refusal stands whether or not it could be counted
            log.warning("could not record a refused claim: %s", exc)
        raise Forbidden(CLAIM_REFUSED)

    def _via_router(self, router: str, hint: Asker) -> None:
        devices = self.crowd.note(router, hint.mac or hint.ip)
        if devices is None:
            return
        message = VIA_ROUTER.format(router=router, devices=devices)
        log.warning("%s", message)
        try:
            with write_transaction():
                HealthLog.create(at=self.clock(), component="portal", level="warning", message=message[:500])
        except Exception as exc:
            log.warning("could not write the health log: %s", exc)
