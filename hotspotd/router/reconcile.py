"""Reconciliation, per router: compare what the router holds with the store and fix it,
writing each change to the health log.

- RADIUS-mode routers that were deployed: the RADIUS entry and `/radius incoming` as
  deploy left them (an entry changed by hand is put back).
- API-mode routers: hotspot users that should not exist (removed, their sessions
  kicked), users missing (added), users and profiles out of date (corrected). Data used
  up is read from the router's counters into the store first, so a user at its cap goes.
The pure part (`plan`) decides from plain data; `run` talks to the router.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from ..config import Config
from ..store.db import write_transaction
from ..store.models import HealthLog, Router, Subscription
from .configuration import deployed_services, radius_entries
from .deploy import apply_entry
from .hotspot_users import (COMMENT_PREFIX, WantedUser, differences, ensure_profiles, managed_users, remove_user,
                            upsert_user, used_bytes)
from .records import RouterMode, target
from .wanted import wanted

log = logging.getLogger(__name__)

KEPT_STEPS = ("radius", "radius-incoming")


@dataclass
class Plan:
    remove: list[str] = field(default_factory=list)
    add: list[WantedUser] = field(default_factory=list)
    update: list[tuple[WantedUser, dict[str, str]]] = field(default_factory=list)


def plan(have: list[dict[str, str]], want: dict[str, WantedUser]) -> Plan:
    """What to change so the router's managed users are exactly `want`."""
    result = Plan()
    by_name = {row.get("name"): row for row in have}
    for name in sorted(by_name):
        if name not in want:
            result.remove.append(name)
    for name, user in sorted(want.items()):
        row = by_name.get(name)
        if row is None:
            result.add.append(user)
        elif differences(row, user.values()):
            result.update.append((user, row))
    return result


def _used_up(have: list[dict[str, str]], now: datetime) -> list[int]:
    """Copy the router's byte counters into the subscriptions they stand for; returns
    the subscriptions now at their cap."""
    capped = []
    with write_transaction():
        for row in have:
            comment = row.get("comment", "")
            if not comment[len(COMMENT_PREFIX):].isdigit():
                continue
            sub_id, used = int(comment[len(COMMENT_PREFIX):]), used_bytes(row)
            Subscription.update(bytes_used=used, updated_at=now).where(
                (Subscription.id == sub_id) & (Subscription.bytes_used < used)).execute()
            limit = int(row.get("limit-bytes-total") or 0) if str(row.get("limit-bytes-total") or "0").isdigit() else 0
            if limit and used >= limit:
                capped.append(sub_id)
    return capped


def run(session: Callable, router: Router, config: Config, now: datetime) -> list[str]:
    """Reconcile one router; returns the changes made (each also in the health log)."""
    changes: list[str] = []
    with session(target(router)) as api:
        if router.mode == RouterMode.RADIUS and router.deployed_at is not None:
            for entry in radius_entries(router, config, deployed_services(router)):
                if entry.step in KEPT_STEPS:
                    result = apply_entry(api, entry)
                    if result != "unchanged":
                        changes.append(f"{entry.step} differed from deploy (changed by hand?): {result}")
        if router.mode == RouterMode.API:
            have = managed_users(api)
            for sub_id in _used_up(have, now):
                changes.append(f"subscription {sub_id} used its data")
            want, profiles, _ = wanted(now)
            changes += ensure_profiles(api, profiles)
            todo = plan(have, want)
            for name in todo.remove:
                remove_user(api, name)
                changes.append(f"user {name} removed (no current subscription)")
            for user in todo.add:
                upsert_user(api, user)
                changes.append(f"user {user.name} added (missing)")
            for user, row in todo.update:
                upsert_user(api, user, row)
                changes.append(f"user {user.name} updated ({', '.join(sorted(differences(row, user.values())))})")
    if changes:
        with write_transaction():
            for change in changes:
                HealthLog.create(at=now, component="router", level="warning",
                                 message=f"reconcile {router.name}: {change}"[:1000])
        log.info("reconciled %s: %d change(s)", router.name, len(changes))
    return changes
