"""Probing routers: `/system/resource` says whether a router is up, and what it is.

A router is shown offline only after `[routers] offline_after` probes in a row have
failed (operators complain about healthy routers shown offline after one lost packet),
and online again after one success. A change of status writes `router.online` or
`router.offline` in the same transaction. Probes of many routers run in parallel, so a
round takes about one timeout however many routers are silent.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from .. import events
from ..errors import HotspotdError
from ..store.db import db, utcnow, write_transaction
from ..store.models import HealthLog, Router
from .api import RouterApi, Target, same
from .records import target

log = logging.getLogger(__name__)

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_uptime(text: str) -> int | None:
    """Seconds of a RouterOS uptime: `2d20h12m20s`, `1w2d3h4m5s`, `01:22:53` or `2d01:22:53`."""
    text = (text or "").strip()
    match = re.fullmatch(r"((?:\d+[wdhms])*)(?:(\d+):(\d{2}):(\d{2}))?", text)
    if not text or not match:
        return None
    units, hours, minutes, seconds = match.groups()
    total = sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([wdhms])", units or ""))
    if hours is not None:
        total += int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total


def _number(value: str | None) -> int | None:
    value = (value or "").strip().rstrip("%")
    return int(value) if value.isdigit() else None


@dataclass(frozen=True)
class Resource:
    version: str
    board: str
    uptime_s: int | None
    cpu_load: int | None
    free_memory: int | None


@dataclass(frozen=True)
class Hotspot:
    """What the probe reads of the router's hotspot (None: could not be read this time)."""

    login_hosts: tuple[str, ...] | None  # the hotspot's DNS name and its interfaces' addresses
    allowed: bool | None  # device-mode's hotspot flag; None before RouterOS 7.17


def read_hotspot(api: RouterApi) -> Hotspot:
    """Where the hotspot's login page is (MikroTik's `link-login-only` points there: its
    profile's `dns-name`, else the address of the interface a hotspot server runs on) and
    whether device-mode allows the hotspot at all. Each part is best effort."""
    hosts: tuple[str, ...] | None = None
    try:
        names = [row.get("dns-name", "") for row in api.print("/ip/hotspot/profile", proplist=("dns-name",))]
        interfaces = {row.get("interface", "") for row in api.print("/ip/hotspot", proplist=("interface",))}
        addresses = [row.get("address", "").split("/")[0] for row in api.print("/ip/address",
                                                                                proplist=("address", "interface"))
                     if row.get("interface") in interfaces]
        hosts = tuple(sorted({h.strip().lower() for h in names + addresses if h and h.strip()}))[:16]
    except HotspotdError as exc:
        log.debug("could not read the hotspot's login hosts: %s", exc)
    try:
        rows = api.print("/system/device-mode", proplist=("hotspot",))
        allowed = same(rows[0].get("hotspot", "true"), True) if rows else None
    except HotspotdError:  # RouterOS before 7.17 has no device-mode: everything is allowed
        allowed = None
    return Hotspot(hosts, allowed)


def read_resource(api: RouterApi) -> Resource:
    row = (api.print("/system/resource") or [{}])[0]
    return Resource(row.get("version", ""), row.get("board-name", ""), parse_uptime(row.get("uptime", "")),
                    _number(row.get("cpu-load")), _number(row.get("free-memory")))


@dataclass(frozen=True)
class ProbeResult:
    router_id: int
    name: str
    status: str
    resource: Resource | None = None
    error: str | None = None
    changed: bool = False


def record(router_id: int, resource: Resource | None, error: str | None, *, offline_after: int,
           now: datetime, hotspot: Hotspot | None = None) -> ProbeResult:
    """Write one probe's outcome; flip the status (and write its event) when due."""
    with write_transaction():
        router = Router.get_or_none(Router.id == router_id)
        if router is None:
            return ProbeResult(router_id, "?", "removed", error="router removed")
        if resource is not None:
            failures, status = 0, "online"
            Router.update(failures=0, status=status, last_seen_at=now, probed_at=now, last_error=None,
                          ros_version=resource.version, board=resource.board, uptime_s=resource.uptime_s,
                          cpu_load=resource.cpu_load, free_memory=resource.free_memory).where(
                Router.id == router_id).execute()
            if hotspot is not None:
                seen = {"hotspot_allowed": hotspot.allowed}
                if hotspot.login_hosts is not None:
                    seen["login_hosts"] = list(hotspot.login_hosts)
                Router.update(**seen).where(Router.id == router_id).execute()
        else:
            failures = router.failures + 1
            status = "offline" if failures >= offline_after else router.status
            Router.update(failures=failures, status=status, probed_at=now, last_error=(error or "")[:500]).where(
                Router.id == router_id).execute()
        changed = status != router.status
        if changed and status in ("online", "offline"):
            data = {"router_id": router_id, "router": router.name}
            if status == "online":
                data.update(version=resource.version, board=resource.board)
            else:
                data.update(error=error, failures=failures)
            events.emit(f"router.{status}", data, now)
            HealthLog.create(at=now, component="router", level="info" if status == "online" else "error",
                             message=f"router {router.name} is {status}" + (f": {error}" if error else ""))
    return ProbeResult(router_id, router.name, status, resource, error, changed)


def probe_one(session: Callable[[Target], object], router: Router, *, offline_after: int,
              now: Callable[[], datetime] = utcnow) -> ProbeResult:
    """Probe one router with a connection from `session` (the Runtime's pool)."""
    try:
        with session(target(router)) as api:
            resource = read_resource(api)
            hotspot = read_hotspot(api)
        return record(router.id, resource, None, offline_after=offline_after, now=now(), hotspot=hotspot)
    except HotspotdError as exc:
        log.info("probe of %s failed: %s", router.name, exc)
        return record(router.id, None, str(exc), offline_after=offline_after, now=now())


def probe_all(session: Callable[[Target], object], routers: list[Router], *, offline_after: int,
              now: Callable[[], datetime] = utcnow) -> list[ProbeResult]:
    """Probe every router at once (one thread each, up to 64); results in the routers' order."""
    if not routers:
        return []
    def one(router: Router) -> ProbeResult:
        try:
            return probe_one(session, router, offline_after=offline_after, now=now)
        finally:
            db.close()  # this thread's connection; the thread ends with the round

    with ThreadPoolExecutor(max_workers=min(64, len(routers)), thread_name_prefix="probe") as pool:
        return list(pool.map(one, routers))
