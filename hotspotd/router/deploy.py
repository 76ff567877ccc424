"""Deploy: bring a router to a working hotspot on hotspotd, one step at a time.

The steps are the entries of `services.describe_service` (the hotspot's are
`configuration.describe`; PPPoE's and DHCP's are in `services`); each is idempotent (a second run
changes nothing) and reports `router.deploy.progress` with its name and what it did. A
step that fails ends the run with `router.deploy.failed` naming the step and the router's
words; the next run resumes at that step (the steps done before are skipped). Checks
(`require`: device-mode allows the hotspot) come first and run every time: when one
fails nothing has been changed, and the failure says what the operator must do.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from .. import events
from ..config import Config
from ..errors import HotspotdError
from ..store.db import utcnow, write_transaction
from ..store.models import HealthLog, Router
from .api import RouterApi, RouterCommandRefused, same
from .configuration import Entry
from .records import get_router, target
from .services import HOTSPOT, PPPOE, describe_service, secrets_shadowing

log = logging.getLogger(__name__)


class RouterNotReady(HotspotdError):
    """The router lacks something deploy cannot change (device-mode); the message says what
    the operator must do. Nothing was changed."""


def _differs(item: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items() if not same(item.get(k, ""), v)}


def _check(api: RouterApi, entry: Entry) -> str:
    try:
        item = (api.print(entry.path) or [{}])[0]
    except RouterCommandRefused as exc:
        if "no such command" in exc.message:  # device-mode came with RouterOS 7.17: all allowed before
            return f"{entry.path} is not on this RouterOS (before 7.17): nothing to check"
        raise
    if _differs(item, entry.values):
        now = ", ".join(f"{key}={item.get(key, '?')}" for key in ("mode", *entry.values))
        raise RouterNotReady(f"{entry.refusal} (The router says: {now}.)")
    allowed = ", ".join(f"{key}={value}" for key, value in entry.values.items())
    return f"mode {item.get('mode', '?')}: {allowed}" if "mode" in item else f"{allowed}: yes"


def _place(api: RouterApi, entry: Entry, found: list[dict[str, str]]) -> tuple[str | None, bool]:
    """(the .id to place hotspotd's item before, whether the one found is already there)."""
    rows = api.print(entry.path)
    first = next((row for row in rows if not _differs(row, entry.before or {}) and _differs(row, entry.find)), None)
    if first is None:
        return None, True  # nothing to be before: anywhere will do
    order = [row.get(".id") for row in rows]
    in_place = bool(found) and order.index(found[0][".id"]) < order.index(first[".id"])
    return first[".id"], in_place


def apply_entry(api: RouterApi, entry: Entry) -> str:
    """Make the router hold `entry`; returns what was done (`unchanged` when nothing)."""
    if entry.scope == "require":
        return _check(api, entry)
    if entry.scope == "absent":
        found = api.print(entry.path, where=entry.find)
        if found:
            api.remove(entry.path, *(item[".id"] for item in found))
            return f"removed {len(found)}"
        return "unchanged"
    if entry.scope == "single":
        item = (api.print(entry.path) or [{}])[0]
        diff = _differs(item, entry.values)
        if diff:
            api.set(entry.path, None, diff)
            return "set " + ", ".join(sorted(diff))
        return "unchanged"
    if entry.scope == "every":
        changed = 0
        for item in api.print(entry.path):
            diff = _differs(item, entry.values)
            if diff:
                api.set(entry.path, item[".id"], diff)
                changed += 1
        return f"set on {changed} item(s)" if changed else "unchanged"
    found = api.print(entry.path, where=entry.find)
    done = []
    if entry.before is not None:
        before, in_place = _place(api, entry, found)
        if not in_place:  # an API add places; to move ours, take it out and put it back in place
            api.remove(entry.path, *(item[".id"] for item in found))
            api.add(entry.path, {**entry.find, **entry.values, "place-before": before})
            return f"{'moved' if found else 'added'} before {before}"
    if not found:
        api.add(entry.path, {**entry.find, **entry.values})
        return "added"
    if len(found) > 1:
        api.remove(entry.path, *(item[".id"] for item in found[1:]))
        done.append(f"removed {len(found) - 1} duplicate(s)")
    diff = _differs(found[0], entry.values)
    if diff:
        api.set(entry.path, found[0][".id"], diff)
        done.append("set " + ", ".join(sorted(diff)))
    return "; ".join(done) or "unchanged"


def _write(router_id: int, kind: str, data: dict, now: datetime, **columns) -> None:
    with write_transaction():
        if columns:
            Router.update(columns).where(Router.id == router_id).execute()
        events.emit(f"router.deploy.{kind}", data, now)


def _subscriber_names() -> set[str]:
    from ..store.models import Subscriber

    return {name for (name,) in Subscriber.select(Subscriber.username).tuples()}


def run(session: Callable, router_ref: int | str, config: Config, *,
        report: Callable[[str], None] = lambda line: None, now: Callable[[], datetime] = utcnow,
        service: str = HOTSPOT, interface: str | None = None, network: str | None = None) -> bool:
    """Deploy `service` (hotspot, pppoe, dhcp) to a router; True when every step succeeded.
    `report` gets a line per step. A run that resumes a failed one of the same service skips
    the steps done then; `interface` and `network` default to that run's."""
    router = get_router(router_ref)
    state = router.deploy_state or {}
    resuming = bool(state.get("failed")) and state.get("service", HOTSPOT) == service
    if resuming:
        interface, network = interface or state.get("interface"), network or state.get("network")
    base = {"router_id": router.id, "router": router.name}
    if service != HOTSPOT:
        base["service"] = service
    try:
        entries = describe_service(router, config, service, interface=interface, network=network)
    except HotspotdError as exc:  # e.g. no address for the RADIUS entry: say so, as for a step
        with write_transaction():
            events.emit("router.deploy.failed", {**base, "step": "configuration", "error": str(exc)}, now())
        report(f"failed at configuration: {exc}")
        return False
    kept = {"service": service, "interface": interface, "network": network}
    checks = {e.step for e in entries if e.scope == "require"}  # run every time, never skipped
    skip = set(state.get("done", ())) - checks if resuming else set()
    started = {**base, "steps": [e.step for e in entries]}
    if skip:
        started["resumed_from"] = state["failed"]
    done = [e.step for e in entries if e.step in skip]
    _write(router.id, "started", started, now(), deploy_state={"done": done, "running": True, **kept})
    report(f"deploying to {router.name}" + (f", resuming at {state['failed']}" if skip else ""))
    current = "connect"  # logging in is where a run fails before its first step
    try:
        with session(target(router)) as api:
            for index, entry in enumerate(entries, 1):
                current = entry.step
                if entry.step in skip:
                    report(f"  {entry.step}: done in the previous run")
                    continue
                result = apply_entry(api, entry)
                done.append(entry.step)
                report(f"  {entry.step}: {result}")
                _write(router.id, "progress", {**base, "step": entry.step, "result": result, "index": index,
                                                "of": len(entries)}, now(),
                       deploy_state={"done": done, "running": True, **kept})
            current = "ppp-secrets"
            shadowed = secrets_shadowing(api, _subscriber_names()) if service == PPPOE else []
    except HotspotdError as exc:
        at = now()
        with write_transaction():
            Router.update(deploy_state={"done": done, "failed": current, "error": str(exc)[:1000], **kept}).where(
                Router.id == router.id).execute()
            events.emit("router.deploy.failed", {**base, "step": current, "error": str(exc)}, at)
            HealthLog.create(at=at, component="router", level="error",
                             message=f"deploy to {router.name} failed at {current}: {exc}"[:1000])
        report(f"failed at {current}: {exc}")
        return False
    at = now()
    services = ",".join(sorted({*filter(None, (router.services or "").split(",")), service}))
    completed = {**base, "steps": len(entries), **({"shadowed": shadowed} if shadowed else {})}
    with write_transaction():
        if shadowed:  # the router answers these names itself: hotspotd never hears of them
            HealthLog.create(at=at, component="router", level="warning", message=(
                f"{router.name} has local /ppp/secret entries named like subscribers, which win over RADIUS: "
                f"{', '.join(shadowed)}"[:1000]))
    for name in shadowed:
        report(f"  warning: /ppp/secret {name} on the router shadows the subscriber of that name (remove it)")
    _write(router.id, "completed", completed, at,
           deploy_state={"done": done, "completed": True, **kept}, deployed_at=at, services=services)
    report("completed")
    return True
