"""What needs a person now: each condition is a question asked of the store (or the disk)
at `now`, answered with the `Condition`s that hold. An alert is raised when a condition
starts to hold and cleared when it stops (`hotspotd.alerts.state`).

Conditions and their keys (one open alert per key):

    critical:<component>   system.critical events, until `critical_quiet_minutes` pass without one
    tasks.failed           tasks that used up their retries and wait for `queue retry`
    disk                   the state folder's disk has under `disk_free_percent` free
    restarts:<role>        a role started `restart_loop_count` times in `restart_loop_minutes`
    router:<id>            a router offline longer than `router_offline_minutes`
    sync                   central sync failing longer than `sync_failing_hours`
    clock.stepped          the wall clock stepped (`system.clock_stepped`) in the last CLOCK_STEP_MINUTES
    clock                  the clock has not been believable for CLOCK_WAIT seconds: selling waits
    sms                    texts to customers failing for `sms_failing_minutes`, none sent meanwhile
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ..config import Config
from ..plumbing.clock import Reading, span
from ..plumbing.processes import unit_of
from ..store.db import db
from ..store.models import from_db_time, to_db_time


@dataclass(frozen=True)
class Condition:
    key: str
    kind: str
    message: str  # what went wrong, for the raise
    clear_message: str  # what it looks like once it is over


@dataclass(frozen=True)
class SyncState:
    """What central sync says about itself (the sync work provides it).

    `last_success`: when the central server last acknowledged a pass (None: never).
    `last_error`: why the last pass failed, or None when it succeeded."""

    last_success: datetime | None
    last_error: str | None


SYNC_FAILING_SINCE = "alerts.sync_failing_since"
CLOCK_STEP_MINUTES = 60
CLOCK_WAIT = 300.0  # a box that just booted waits a minute or two for NTP; longer needs a person  # a setting: first seen failing, when it never succeeded


def critical(now: datetime, quiet_minutes: int) -> list[Condition]:
    since = to_db_time(now - timedelta(minutes=quiet_minutes))
    rows = db.execute_sql(
        'SELECT json_extract("data", \'$.component\'), COUNT(*), MAX("id") FROM "event" '
        'WHERE "type" = \'system.critical\' AND "at" >= ? GROUP BY 1 ORDER BY 1', (since,)).fetchall()
    found = []
    for component, count, last_id in rows:
        (data,) = db.execute_sql('SELECT "data" FROM "event" WHERE "id" = ?', (last_id,)).fetchone()
        message = json.loads(data).get("message", "")
        times = f" ({count} times in {quiet_minutes} min)" if count > 1 else ""
        found.append(Condition(f"critical:{component}", "system.critical",
                               f"{component}: {message}{times}",
                               f"{component}: no system.critical for {quiet_minutes} min"))
    return found


def failed_tasks() -> list[Condition]:
    rows = db.execute_sql('SELECT "task", COUNT(*) FROM "failed_task" WHERE "retried_at" IS NULL '
                          'GROUP BY "task" ORDER BY "task"').fetchall()
    if not rows:
        return []
    total = sum(count for _, count in rows)
    names = ", ".join(f"{task} x{count}" for task, count in rows)
    return [Condition("tasks.failed", "tasks.failed",
                      f"{total} {'task' if total == 1 else 'tasks'} failed for good ({names}): retry on the "
                      "console's System page once the cause is fixed (or `hotspotd queue retry --all`)",
                      "no failed tasks waiting")]


def disk_free_percent(path: Path) -> float:
    """Free space (for this user) on the disk holding `path`, in percent."""
    usage = shutil.disk_usage(path)
    return 100.0 * usage.free / usage.total if usage.total else 100.0


def disk(free_percent: float, threshold: int) -> list[Condition]:
    if free_percent >= threshold:
        return []
    return [Condition("disk", "disk.low", f"the state folder's disk has {free_percent:.0f}% free (under {threshold}%)",
                      "the state folder's disk has room again")]


def restart_loops(now: datetime, count: int, minutes: int) -> list[Condition]:
    since = to_db_time(now - timedelta(minutes=minutes))
    rows = db.execute_sql(
        'SELECT "component", COUNT(*) FROM "health_log" WHERE "at" >= ? AND "message" LIKE \'started (pid %\' '
        'GROUP BY "component" HAVING COUNT(*) >= ? ORDER BY "component"', (since, count)).fetchall()
    return [Condition(f"restarts:{role}", "role.restarting",
                      f"the {role} role started {starts} times in {minutes} min: it is crashing "
                      f"(journalctl -u {unit_of(role)})",
                      f"the {role} role runs again without restarting") for role, starts in rows]


def routers_offline(now: datetime, minutes: int) -> list[Condition]:
    since = to_db_time(now - timedelta(minutes=minutes))
    rows = db.execute_sql(
        'SELECT "id", "name", "last_seen_at" FROM "router" WHERE "status" = \'offline\' '
        'AND COALESCE("last_seen_at", "created_at") <= ? ORDER BY "id"', (since,)).fetchall()
    found = []
    for router_id, name, last_seen in rows:
        seen = f"last seen {from_db_time(last_seen):%Y-%m-%d %H:%M} UTC" if last_seen else "never seen"
        found.append(Condition(f"router:{router_id}", "router.offline",
                               f"router {name} offline for more than {minutes} min ({seen})",
                               f"router {name} is online again"))
    return found


def sync_failing(state: SyncState | None, failing_since: datetime | None, now: datetime,
                 hours: int) -> list[Condition]:
    """`failing_since` stands in for `last_success` when sync never succeeded."""
    if state is None or state.last_error is None:
        return []
    since = state.last_success or failing_since
    if since is None or now - since < timedelta(hours=hours):
        return []
    when = f"since {since:%Y-%m-%d %H:%M} UTC" if state.last_success else f"since {since:%Y-%m-%d %H:%M} UTC, never synced"
    return [Condition("sync", "sync.failing", f"central sync failing {when}: {state.last_error}"[:300],
                      "central sync works again")]


def clock_stepped(now: datetime, minutes: int = CLOCK_STEP_MINUTES) -> list[Condition]:
    since = to_db_time(now - timedelta(minutes=minutes))
    rows = db.execute_sql('SELECT "data" FROM "event" WHERE "type" = \'system.clock_stepped\' AND "at" >= ? '
                          'ORDER BY "id" DESC', (since,)).fetchall()
    if not rows:
        return []
    last = json.loads(rows[0][0])
    carried = (f"running periods moved with it ({last.get('subscriptions', 0)} subscriptions, "
               f"{last.get('sessions', 0)} sessions)" if last.get("frame") == "carried"
               else "nothing had been sold on the old time")
    times = f"; {len(rows)} steps in {minutes} min" if len(rows) > 1 else ""
    state = "" if last.get("believable") else f"; not believable now ({last.get('reason')}): selling waits"
    return [Condition("clock.stepped", "clock.stepped",
                      f"the clock stepped {span(last['step_s'])} ({last['from'][:16]} -> {last['to'][:16]} UTC): "
                      f"{carried}{times}{state}",
                      f"no clock step for {minutes} min")]


def clock_unbelievable(reading: Reading | None) -> list[Condition]:
    if reading is None or reading.believable or reading.unbelievable_for < CLOCK_WAIT:
        return []
    return [Condition("clock", "clock.unbelievable",
                      f"the clock is not believable ({reading.reason}): selling has waited "
                      f"{span(reading.unbelievable_for)[1:]}; logins go on",
                      "the clock is believable again: selling goes on")]


def sms_failing(now: datetime, minutes: int) -> list[Condition]:
    """Texts have failed to go out (the gateway refused them, or could not be reached) for
    `minutes`, and none was sent since the first of those failures (within the last day)."""
    since = to_db_time(now - timedelta(days=1))
    last_sent = db.execute_sql('SELECT MAX("sent_at") FROM "sms_message" WHERE "sent_at" >= ?', (since,)).fetchone()[0]
    first_failed, count, error = db.execute_sql(
        'SELECT MIN("failed_at"), COUNT(*), (SELECT "error" FROM "sms_message" WHERE "failed_at" IS NOT NULL '
        'AND "attempts" > 0 ORDER BY "failed_at" DESC LIMIT 1) FROM "sms_message" '
        'WHERE "failed_at" > ? AND "attempts" > 0', (max(last_sent or "", since),)).fetchone()
    if first_failed is None or from_db_time(first_failed) > now - timedelta(minutes=minutes):
        return []
    return [Condition("sms", "sms.failing",
                      f"texts to customers failing for {minutes} min or more ({count} text(s), none sent): "
                      f"{error or 'see the console SMS page'}"[:300], "texts to customers go out again")]


def evaluate(now: datetime, config: Config, *, sync_state: SyncState | None = None,
             sync_failing_since: datetime | None = None, free_percent: float | None = None,
             clock: Reading | None = None) -> list[Condition]:
    """Every condition that holds at `now`."""
    a = config.alerts
    free = disk_free_percent(config.state_dir) if free_percent is None else free_percent
    return [
        *critical(now, a.critical_quiet_minutes),
        *failed_tasks(),
        *disk(free, a.disk_free_percent),
        *restart_loops(now, a.restart_loop_count, a.restart_loop_minutes),
        *routers_offline(now, a.router_offline_minutes),
        *sync_failing(sync_state, sync_failing_since, now, a.sync_failing_hours),
        *clock_stepped(now),
        *clock_unbelievable(clock),
        *(sms_failing(now, a.sms_failing_minutes) if config.sms.provider else []),
    ]
