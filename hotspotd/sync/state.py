"""How sync is doing on this box (the one `sync_state` row): successes, failures, the
backoff, and the status an operator reads (`sync status`, /metrics, the admin page)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from .. import events
from ..config import Config
from ..store.db import utcnow, write_transaction
from ..store.models import SyncState, iso
from . import outbox

FIRST_RETRY = 15.0  # seconds; then 30, 60, ... up to [central] max_backoff


def load() -> SyncState:
    return SyncState.get_by_id(1)


def backoff(failures: int, max_backoff: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after `failures` failed passes in a row: doubling from 15 s up to
    `max_backoff`, each with jitter (between half and all of it) so that sites coming
    back after a central outage do not all knock at once."""
    delay = min(max_backoff, FIRST_RETRY * 2 ** max(0, failures - 1))
    return delay * (0.5 + 0.5 * rand())


def due(now: datetime) -> bool:
    """Whether the worker should run a pass now."""
    state = load()
    return state.next_attempt_at is None or state.next_attempt_at <= now


@dataclass(frozen=True)
class Looked:
    """One look of the worker's sync loop: whether it ran a pass, and when the next is due
    (None: at once)."""

    ran: bool
    next_at: datetime | None


def tick(now: datetime, run_pass: Callable[[], object]) -> Looked:
    """One look of the worker's sync loop at `now`: `run_pass()` when a pass is due (the
    pass records its outcome, which sets the next: `[central] interval` after a success,
    the backoff after a failure)."""
    ran = due(now)
    if ran:
        run_pass()
    return Looked(ran, load().next_attempt_at)


def announce_completed(now: datetime, *, delivered: int, applied: int) -> bool:
    """Write `sync.completed` when a pass delivered events or applied configuration, or
    ended a run of failures (the caller pushes it before it records the success)."""
    with write_transaction():
        state = load()
        if not (delivered or applied or state.failures):
            return False
        events.emit("sync.completed", {"events": delivered, "config_applied": applied,
                                       "config_version": state.config_version}, now)
        return True


def record_success(now: datetime, interval: float) -> None:
    with write_transaction():
        SyncState.update(last_attempt_at=now, last_success_at=now, failures=0, last_error=None,
                         next_attempt_at=now + timedelta(seconds=interval)).where(SyncState.id == 1).execute()


def record_failure(now: datetime, error: str, max_backoff: float, rand: Callable[[], float] = random.random) -> float:
    """A pass that failed: keep the error, wait longer before the next; `sync.failed` on
    the first failure after a success. Returns the wait in seconds."""
    with write_transaction():
        state = load()
        failures = state.failures + 1
        delay = backoff(failures, max_backoff, rand)
        if state.failures == 0:
            events.emit("sync.failed", {"error": error[:300], "waiting": outbox.waiting(state.cursor)}, now)
        SyncState.update(last_attempt_at=now, last_error=error[:500], last_error_at=now, failures=failures,
                         next_attempt_at=now + timedelta(seconds=delay)).where(SyncState.id == 1).execute()
    return delay


def request_now() -> None:
    """Make the worker's next look run a pass (after a configuration change, say)."""
    with write_transaction():
        SyncState.update(next_attempt_at=None).where(SyncState.id == 1).execute()


def status(config: Config | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Sync as an operator sees it: {last_success, waiting, last_error, oldest_waiting, ...}."""
    now = now or utcnow()
    state = load()
    oldest = outbox.oldest_waiting(state.cursor)

    def t(value: datetime | None) -> str | None:
        return iso(value) if value else None

    return {
        "enabled": bool(config.central.url) if config is not None else None,
        "url": config.central.url if config is not None else None,
        "site_id": config.central.site_id if config is not None else None,
        "last_success": t(state.last_success_at), "last_attempt": t(state.last_attempt_at),
        "last_error": state.last_error, "last_error_at": t(state.last_error_at),
        "waiting": outbox.waiting(state.cursor), "oldest_waiting": t(oldest),
        "oldest_waiting_age_s": None if oldest is None else max(0.0, round((now - oldest).total_seconds(), 1)),
        "failures": state.failures, "next_attempt": t(state.next_attempt_at),
        "cursor": state.cursor, "config_version": state.config_version,
        "events_sent": state.events_sent, "bytes_sent": state.bytes_sent, "outbox": state.outbox,
    }
