"""One sync pass: pull the configuration central owns, then push the outbox until nothing
waits, then note how it went (docs/sync.md, the box's side).

The worker runs a pass when one is due (`[central] interval`, or the backoff after a
failure); `hotspotd sync now` runs one at once. A lock file keeps two passes on one box
from running at the same time. Nothing here blocks selling or authentication: the pass
writes in short transactions, one batch at a time.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..config import Config
from ..errors import HotspotdError, UpstreamError
from ..store.db import utcnow
from ..store.models import Router, iso
from . import apply, outbox, protocol, state
from .client import CentralClient

log = logging.getLogger(__name__)


@dataclass
class PassResult:
    ok: bool = True
    delivered: int = 0  # events central acknowledged in this pass
    batches: int = 0
    bytes_sent: int = 0
    applied: int = 0  # configuration changes applied
    waiting: int = 0  # events still waiting afterwards
    error: str | None = None
    busy: bool = False  # another pass held the lock


class PassLock:
    """An exclusive lock on a file in the state folder (released if the process dies)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0) -> bool:
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(self._fd)
                    self._fd = None
                    return False
                time.sleep(0.1)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


def box_health() -> dict[str, Any]:
    """What central shows about this box besides its events (sessions, routers, queue)."""
    from ..console.reports import site_counts

    counts = site_counts()
    return {"sessions_open": counts["sessions_open"], "subscriptions_active": counts["subscriptions_active"],
            "routers_online": Router.select().where(Router.status == "online").count(),
            "routers_total": Router.select().count(), "failed_tasks": counts["failed_tasks"],
            "software": __version__}


def pull(config: Config, client: CentralClient, now: Callable[[], datetime]) -> int:
    """Pull and apply configuration changes until central has no more; how many applied."""
    applied = 0
    while True:
        answer = client.pull(apply.config_version())
        applied += apply.apply_changes(config, answer["changes"], now())
        if not answer.get("more") or not answer["changes"]:
            return applied


def push(client: CentralClient, health: dict[str, Any], now: Callable[[], datetime], result: PassResult,
         should_stop: Callable[[], bool]) -> None:
    """Push batches until nothing waits (at least one push: an empty one, when nothing
    waits, still reports the box's health)."""
    sync = state.load()
    after, full_phones = sync.cursor, outbox.full_phone_numbers()
    while True:
        rows = outbox.read_batch(after)
        last = rows[-1][0] if rows else after
        envelope = {"protocol": protocol.PROTOCOL, "outbox": sync.outbox, "sent_at": iso(now()),
                    "config_version": apply.config_version(), "waiting_after": max(0, outbox.highest() - last),
                    "status": {**health, "oldest_waiting_at": rows[0][2] if rows else None}}
        body = protocol.encode_raw(envelope, outbox.wire_events(rows, full_phones=full_phones))
        ack = client.push(body)
        result.batches += 1
        result.bytes_sent += len(body)
        if not rows:
            return
        moved_to = outbox.acknowledge(ack["acknowledged"], last, events=len(rows), sent_bytes=len(body))
        result.delivered += sum(1 for row in rows if after < row[0] <= moved_to)
        if moved_to < last:
            raise UpstreamError(f"central acknowledged events up to {ack['acknowledged']} only, {last} were sent")
        after = moved_to
        if len(rows) < protocol.BATCH_EVENTS or should_stop():  # a short batch: nothing more was waiting
            return


def run_pass(config: Config, client: CentralClient, *, now: Callable[[], datetime] = utcnow,
             extra_health: dict[str, Any] | None = None, should_stop: Callable[[], bool] = lambda: False,
             wait_for_lock: float = 0.0) -> PassResult:
    """One pass (see the module's docstring). Never raises for a central that is down or
    refusing: the result and the `sync_state` row say what happened."""
    lock = PassLock(config.state_dir / "sync.lock")
    if not lock.acquire(wait_for_lock):
        return PassResult(ok=False, busy=True, error="another sync pass is running")
    result = PassResult()
    started = time.monotonic()
    try:
        problem = None
        try:
            result.applied = pull(config, client, now)
        except UpstreamError:
            raise
        except HotspotdError as exc:  # a change this box cannot apply: stop there, still push
            problem = str(exc)
        health = {**box_health(), **(extra_health or {})}
        push(client, health, now, result, should_stop)
        if not problem and state.announce_completed(now(), delivered=result.delivered, applied=result.applied):
            push(client, health, now, result, should_stop)  # the sync.completed just written
        if problem:
            raise HotspotdError(problem)
        state.record_success(now(), config.central.interval)
    except HotspotdError as exc:
        result.ok, result.error = False, str(exc)
        delay = state.record_failure(now(), result.error, config.central.max_backoff)
        log.warning("sync with %s failed: %s (next try in %.0f s)", config.central.url, exc, delay)
    except Exception as exc:  # a bug must not stop the worker's ticker; it is kept as the last error
        log.exception("sync pass failed")
        result.ok, result.error = False, f"{type(exc).__name__}: {exc}"
        state.record_failure(now(), result.error, config.central.max_backoff)
    finally:
        lock.release()
    result.waiting = outbox.waiting(outbox.cursor())
    if result.delivered or result.applied or not result.ok:
        log.info("sync: %d events in %d batches (%d bytes), %d configuration changes, %d waiting, %.2f s%s",
                 result.delivered, result.batches, result.bytes_sent, result.applied, result.waiting,
                 time.monotonic() - started, "" if result.ok else f"; error: {result.error}")
    return result
