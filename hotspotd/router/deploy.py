"""Deploy: bring a router to a working hotspot on hotspotd, one step at a time.

The steps are the entries of `configuration.describe`; each is idempotent (a second run
changes nothing) and reports `router.deploy.progress` with its name and what it did. A
step that fails ends the run with `router.deploy.failed` naming the step and the router's
words; the next run resumes at that step (the steps done before are skipped).
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
from .api import RouterApi, same
from .configuration import Entry, describe
from .records import get_router, target

log = logging.getLogger(__name__)


def _differs(item: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items() if not same(item.get(k, ""), v)}


def apply_entry(api: RouterApi, entry: Entry) -> str:
    """Make the router hold `entry`; returns what was done (`unchanged` when nothing)."""
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
    if not found:
        api.add(entry.path, {**entry.find, **entry.values})
        return "added"
    done = []
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


def run(session: Callable, router_ref: int | str, config: Config, *,
        report: Callable[[str], None] = lambda line: None, now: Callable[[], datetime] = utcnow) -> bool:
    """Deploy to a router; True when every step succeeded. `report` gets a line per step."""
    router = get_router(router_ref)
    try:
        entries = describe(router, config)
    except HotspotdError as exc:  # e.g. no address for the RADIUS entry: say so, as for a step
        with write_transaction():
            events.emit("router.deploy.failed", {"router_id": router.id, "router": router.name,
                                                 "step": "configuration", "error": str(exc)}, now())
        report(f"failed at configuration: {exc}")
        return False
    state = router.deploy_state or {}
    skip = set(state.get("done", ())) if state.get("failed") else set()
    base = {"router_id": router.id, "router": router.name}
    started = {**base, "steps": [e.step for e in entries]}
    if skip:
        started["resumed_from"] = state["failed"]
    done = [e.step for e in entries if e.step in skip]
    _write(router.id, "started", started, now(), deploy_state={"done": done, "running": True})
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
                                                "of": len(entries)}, now(), deploy_state={"done": done, "running": True})
    except HotspotdError as exc:
        at = now()
        with write_transaction():
            Router.update(deploy_state={"done": done, "failed": current, "error": str(exc)[:500]}).where(
                Router.id == router.id).execute()
            events.emit("router.deploy.failed", {**base, "step": current, "error": str(exc)}, at)
            HealthLog.create(at=at, component="router", level="error",
                             message=f"deploy to {router.name} failed at {current}: {exc}"[:1000])
        report(f"failed at {current}: {exc}")
        return False
    at = now()
    _write(router.id, "completed", {**base, "steps": len(entries)}, at,
           deploy_state={"done": done, "completed": True}, deployed_at=at)
    report("completed")
    return True
