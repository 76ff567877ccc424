"""The task queue: a huey instance over its own SQLite file, and how work is sent to it.

A `Task` is a plain description (name, function, retry delays); `hotspotd.plumbing.tasks` defines
them. Each role's `Queue` binds every task to its own huey instance on one file, so the
portal's enqueue and the worker's consumer always agree, and a task cannot be sent to a
queue no worker reads. Task functions receive the role's runtime first (its config,
clients and this queue), so nothing is found through module globals.

Retries are counted here, not by huey (its RetryTask does not consume `retries`): a
failing task reschedules itself with the next delay, and when the delays run out it is
recorded in `failed_task` for `queue failed` / `queue retry`.

`dispatch()` never raises: in `immediate` mode, or when the queue cannot take the task,
the work runs inline, and a broken queue writes a `system.critical` event.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from os import PathLike
from pathlib import Path
from typing import Any, Callable, Iterable

from huey import Huey
from huey.storage import SqliteStorage

from .. import events
from .counters import Counters
from ..store.db import db, utcnow, write_transaction
from ..store.files import private_database
from ..store.models import FailedTask, Setting, from_db_time, to_db_time

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "worker.reconciled_at"
PAYMENT_RETRY = (10, 30, 60)
PROVISIONING_RETRY = (5, 15, 30, 60, 120)
MODE_KEY = "queue.mode"
MODE_CACHE_SECONDS = 2.0


class QueueMode(StrEnum):
    ASYNC = "async"  # tasks run in the worker
    IMMEDIATE = "immediate"  # tasks run inline, in the process that sends them


@dataclass(frozen=True)
class Task:
    """A kind of background work: `func(runtime, *args)`, retried after `retry` seconds.
    `serial` tasks run one at a time in a process (those that mostly write the database)."""

    name: str
    func: Callable[..., Any]
    retry: tuple[float, ...] = ()
    serial: bool = False


def task(*, retry: tuple[float, ...] = (), serial: bool = False) -> Callable[[Callable[..., Any]], Task]:
    """Describe a task; retries and serialisation are visible where it is defined."""

    def define(func: Callable[..., Any]) -> Task:
        return Task(func.__name__, func, tuple(retry), serial)

    return define


class Queue:
    """One role's view of the task queue: huey over `path`, with `tasks` bound to it.

    `context` is what task functions get as their first argument (the role's runtime).
    """

    def __init__(self, path: str | PathLike, tasks: Iterable[Task], context: Any, *,
                 default_mode: str = QueueMode.ASYNC, fsync: bool = True) -> None:
        self.path = str(path)
        if Path(self.path).parent.is_dir():  # a missing folder is `init`'s to make: huey refuses to start
            private_database(self.path)  # huey's SQLite file holds task arguments: 0640 like the app database
        self.context = context
        self.default_mode = QueueMode(default_mode)
        self.huey = Huey("hotspotd", storage_class=SqliteStorage, filename=self.path, fsync=fsync, timeout=10,
                         results=False, utc=True)
        self._tasks: dict[str, Task] = {}
        self._enqueue: dict[str, Any] = {}
        self._mode_cache: tuple[float, QueueMode] | None = None
        # Outcomes per task ("task", "name:done|retried|failed") and tasks running now
        # ("task_running"), published by the roles for /metrics (hotspotd.plumbing.counters).
        self.counters = Counters()
        # Tasks that mostly write the app database run one at a time in a process. Several
        # worker threads would otherwise pass the write lock to each other at once (a Python
        # lock hands over instantly) and starve the portal, which waits for it from another
        # process. Re-entrant: a serial task that dispatches another runs it inline in
        # immediate mode.
        self._serial = threading.RLock()
        for each in tasks:
            self._bind(each)

    def _bind(self, bound: Task) -> None:
        def run(*args: Any, _attempt: int = 0) -> Any:
            return self.run(bound, *args, _attempt=_attempt)

        # huey finds a task by module and name: hotspotd.queue.<name>, in every role. The module
        # is the one this file had before it moved to plumbing/, so that tasks queued by an
        # older version are still found after an upgrade.
        run.__name__ = run.__qualname__ = bound.name
        run.__module__ = "hotspotd.queue"
        self._tasks[bound.name] = bound
        self._enqueue[bound.name] = self.huey.task(name=bound.name)(run)

    @property
    def tasks(self) -> dict[str, Task]:
        return dict(self._tasks)

    def create_storage(self) -> None:
        """Make the queue file and its tables (for `init`)."""
        self.huey.storage.queue_size()

    # -- running and sending work

    def run(self, bound: Task, *args: Any, _attempt: int = 0) -> Any:
        """Run `bound` here and now, with retry bookkeeping; never raises."""
        self.counters.add("task_running", bound.name)
        try:
            if bound.serial:
                with self._serial:
                    result = bound.func(self.context, *args)
            else:
                result = bound.func(self.context, *args)
            self.counters.add("task", f"{bound.name}:done")
            return result
        except Exception as exc:
            self.counters.add("task", f"{bound.name}:retried" if _attempt < len(bound.retry) else f"{bound.name}:failed")
            if _attempt < len(bound.retry):
                delay = bound.retry[_attempt]
                log.warning("task %s%r failed (attempt %d), retrying in %ss: %s", bound.name, args, _attempt + 1,
                            delay, exc)
                try:
                    self._enqueue[bound.name].schedule(args=args, kwargs={"_attempt": _attempt + 1}, delay=delay)
                    return None
                except Exception:
                    log.exception("cannot schedule a retry of %s; recording it as failed", bound.name)
            self._record_failure(bound.name, args, exc, attempts=_attempt + 1)
            return None
        finally:
            self.counters.add("task_running", bound.name, -1)
            # Under gevent (the back office) nothing yields between one task and the next: this
            # lets the console's requests and a worker waiting for the serial lock go first.
            time.sleep(0)

    def dispatch(self, bound: Task, *args: Any) -> None:
        """Send work to the queue; never raises and never leaves the customer waiting."""
        if self.mode() == QueueMode.IMMEDIATE:
            self.run(bound, *args)
            return
        try:
            self._enqueue[bound.name](*args)
        except Exception as exc:
            log.error("queue unavailable, running %s inline: %s", bound.name, exc)
            self._critical(f"task queue unavailable; ran {bound.name} inline: {exc}"[:300])
            self.run(bound, *args)

    def consumer(self, **settings: Any):
        """A huey consumer of this queue (the worker role runs it)."""
        return self.huey.create_consumer(**settings)

    # -- run-time mode (async | immediate), stored so an operator can switch without a restart

    def mode(self, now: float | None = None) -> QueueMode:
        now = time.monotonic() if now is None else now
        cached = self._mode_cache
        if cached and now - cached[0] < MODE_CACHE_SECONDS:
            return cached[1]
        try:
            row = Setting.get_or_none(Setting.key == MODE_KEY)
            mode = QueueMode(row.value) if row and row.value in tuple(QueueMode) else self.default_mode
        except Exception:  # a locked or broken database must not stop work being sent
            mode = cached[1] if cached else self.default_mode
        self._mode_cache = (now, mode)
        return mode

    def set_mode(self, mode: str, *, by: str = "operator") -> None:
        if mode not in tuple(QueueMode):
            raise ValueError("mode must be async or immediate")
        now = utcnow()
        with write_transaction():
            Setting.insert(key=MODE_KEY, value=mode, updated_at=now).on_conflict_replace().execute()
            events.emit("system.mode_changed", {"queue_mode": mode, "by": by}, now)
        self._mode_cache = None

    # -- the worker's heartbeat, kept in the queue's own file (no write to the app database)

    def note_reconciled(self, now: datetime) -> None:
        """The reconciler finished a pass at `now` (`doctor` reads it)."""
        try:
            self.huey.put(HEARTBEAT_KEY, to_db_time(now))
        except Exception as exc:
            log.warning("cannot note the reconciler's pass in the queue: %s", exc)

    def last_reconciled(self) -> datetime | None:
        """When the worker's reconciler last finished a pass (None: never, or unreadable)."""
        value = self.huey.get(HEARTBEAT_KEY, peek=True)
        return from_db_time(value) if value else None

    # -- operator views

    def status(self) -> dict[str, dict[str, int]]:
        """Queue depth per task: ready to run and scheduled (retries, delays)."""
        counts = {name: {"queued": 0, "scheduled": 0} for name in self._tasks}
        for item in self.huey.pending():
            counts.setdefault(item.name, {"queued": 0, "scheduled": 0})["queued"] += 1
        for item in self.huey.scheduled():
            counts.setdefault(item.name, {"queued": 0, "scheduled": 0})["scheduled"] += 1
        counts["failed"] = {"queued": FailedTask.select().where(FailedTask.retried_at.is_null()).count(),
                            "scheduled": 0}
        return counts

    def retry_failed(self, failed_id: int | None = None) -> list[int]:
        """Send failed tasks again (one, or all not yet retried); returns their ids."""
        query = FailedTask.select().where(FailedTask.retried_at.is_null())
        if failed_id is not None:
            query = FailedTask.select().where(FailedTask.id == failed_id)
        retried = []
        for failed in query:
            bound = self._tasks.get(failed.task)
            if bound is None:
                continue
            self.dispatch(bound, *failed.args)
            with write_transaction():
                FailedTask.update(retried_at=utcnow()).where(FailedTask.id == failed.id).execute()
            retried.append(failed.id)
        return retried

    # -- recording trouble

    @staticmethod
    def _critical(message: str) -> None:
        try:
            with write_transaction():
                events.emit("system.critical", {"component": "queue", "message": message}, utcnow())
        except Exception:
            log.exception("cannot record system.critical event")

    @staticmethod
    def _record_failure(name: str, args: tuple, exc: BaseException, *, attempts: int) -> None:
        log.error("task %s%r failed for good after %d attempts: %s", name, args, attempts, exc)
        error, now = f"{type(exc).__name__}: {exc}"[:1000], utcnow()
        try:
            with write_transaction():
                # The same work failing again (a periodic task every minute) is one row, not thousands.
                again = db.execute_sql(
                    'UPDATE "failed_task" SET "error" = ?, "attempts" = "attempts" + ?, "failed_at" = ? '
                    'WHERE "task" = ? AND "args" = ? AND "retried_at" IS NULL',
                    (error, attempts, to_db_time(now), name, FailedTask.args.db_value(list(args)))).rowcount
                if not again:
                    FailedTask.create(task=name, args=list(args), error=error, attempts=attempts, failed_at=now)
        except Exception:
            log.exception("cannot record failed task %s", name)
