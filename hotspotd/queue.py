"""The task queue: one huey instance over its own SQLite file, and how work is sent to it.

There is exactly one huey instance, `huey`, and every task is defined on it in
`hotspotd.tasks`; the worker role consumes that same instance. A task therefore cannot be
sent to a queue no worker reads. Until `configure()` points it at the queue file, the
instance refuses work loudly instead of writing to some default file.

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
from typing import Any, Callable

from huey import Huey
from huey.storage import BaseStorage, SqliteStorage

from . import events
from .errors import QueueUnavailable
from .store.db import utcnow, write_transaction
from .store.models import FailedTask, Setting

log = logging.getLogger(__name__)

PAYMENT_RETRY = (10, 30, 60)
PROVISIONING_RETRY = (5, 15, 30, 60, 120)
MODE_KEY = "queue.mode"
MODE_CACHE_SECONDS = 2.0


class UnconfiguredStorage(BaseStorage):
    """Storage of the huey instance before `configure()`: every use is an error."""

    def __getattribute__(self, name: str) -> Any:
        if name in ("enqueue", "dequeue", "add_to_schedule", "read_schedule", "queue_size",
                    "enqueued_items", "schedule_size", "scheduled_items", "put_data", "peek_data",
                    "pop_data", "has_data_for_key", "put_if_empty", "flush_queue", "flush_schedule",
                    "flush_results", "result_store_size", "result_items", "flush_all"):
            raise QueueUnavailable("the task queue is not configured (queue.configure(config) was not called)")
        return super().__getattribute__(name)


huey = Huey("hotspotd", storage_class=UnconfiguredStorage, results=False, utc=True)

_tasks: dict[str, "Task"] = {}
_default_mode = "async"
_mode_cache: tuple[float, str] | None = None
_mode_lock = threading.Lock()


def configure(queue_db_path, *, default_mode: str = "async", fsync: bool = True) -> Huey:
    """Point the one huey instance at its SQLite file (the same file in every role)."""
    global _default_mode, _mode_cache
    huey.storage = SqliteStorage("hotspotd", filename=str(queue_db_path), fsync=fsync, timeout=10)
    _default_mode = default_mode
    _mode_cache = None
    return huey


# -- run-time mode (async | immediate), stored so an operator can switch without a restart

def current_mode(now: float | None = None) -> str:
    global _mode_cache
    now = time.monotonic() if now is None else now
    cached = _mode_cache
    if cached and now - cached[0] < MODE_CACHE_SECONDS:
        return cached[1]
    try:
        row = Setting.get_or_none(Setting.key == MODE_KEY)
        mode = row.value if row and row.value in ("async", "immediate") else _default_mode
    except Exception:  # a locked or broken database must not stop work being sent
        mode = cached[1] if cached else _default_mode
    with _mode_lock:
        _mode_cache = (now, mode)
    return mode


def set_mode(mode: str, *, by: str = "operator") -> None:
    global _mode_cache
    if mode not in ("async", "immediate"):
        raise ValueError("mode must be async or immediate")
    now = utcnow()
    with write_transaction():
        Setting.insert(key=MODE_KEY, value=mode, updated_at=now).on_conflict_replace().execute()
        events.emit("system.mode_changed", {"queue_mode": mode, "by": by}, now)
    _mode_cache = None


# -- tasks with counted retries

# Tasks that mostly write the app database run one at a time in a process. Several
# worker threads would otherwise pass the write lock to each other at once (a Python lock
# hands over instantly) and starve the portal, which waits for it from another process.
# Re-entrant: a serial task that dispatches another runs it inline in immediate mode.
_serial = threading.RLock()


@dataclass
class Task:
    """A task bound to `huey`: `wrapper` enqueues, `run` executes with retry bookkeeping."""

    name: str
    func: Callable[..., Any]
    retry: tuple[float, ...]
    serial: bool = False
    wrapper: Any = None

    def run(self, *args: Any, _attempt: int = 0) -> Any:
        try:
            if self.serial:
                with _serial:
                    return self.func(*args)
            return self.func(*args)
        except Exception as exc:
            if _attempt < len(self.retry):
                delay = self.retry[_attempt]
                log.warning("task %s%r failed (attempt %d), retrying in %ss: %s", self.name, args, _attempt + 1, delay, exc)
                try:
                    self.wrapper.schedule(args=args, kwargs={"_attempt": _attempt + 1}, delay=delay)
                    return None
                except Exception:
                    log.exception("cannot schedule a retry of %s; recording it as failed", self.name)
            _record_failure(self.name, args, exc, attempts=_attempt + 1)
            return None


def task(*, retry: tuple[float, ...] = (), serial: bool = False) -> Callable[[Callable[..., Any]], Task]:
    """Define a task on `huey` with the given retry delays (seconds); `serial` tasks run
    one at a time per process (those that mostly write the database)."""

    def define(func: Callable[..., Any]) -> Task:
        bound = Task(func.__name__, func, tuple(retry), serial)
        bound.wrapper = huey.task(name=func.__name__)(bound.run)
        _tasks[bound.name] = bound
        return bound

    return define


def dispatch(bound: Task, *args: Any) -> None:
    """Send work to the queue; never raises and never leaves the customer waiting."""
    if current_mode() == "immediate":
        bound.run(*args)
        return
    try:
        bound.wrapper(*args)
    except Exception as exc:
        log.error("queue unavailable, running %s inline: %s", bound.name, exc)
        _critical(f"task queue unavailable; ran {bound.name} inline: {exc}"[:300])
        bound.run(*args)


def _critical(message: str) -> None:
    try:
        with write_transaction():
            events.emit("system.critical", {"component": "queue", "message": message}, utcnow())
    except Exception:
        log.exception("cannot record system.critical event")


def _record_failure(name: str, args: tuple, exc: BaseException, *, attempts: int) -> None:
    log.error("task %s%r failed for good after %d attempts: %s", name, args, attempts, exc)
    try:
        with write_transaction():
            FailedTask.create(task=name, args=list(args), error=f"{type(exc).__name__}: {exc}"[:1000],
                              attempts=attempts, failed_at=utcnow())
    except Exception:
        log.exception("cannot record failed task %s", name)


# -- operator views

def registered() -> dict[str, Task]:
    from . import tasks  # noqa: F401  (defining the tasks registers them)
    return dict(_tasks)


def status() -> dict[str, dict[str, int]]:
    """Queue depth per task: ready to run and scheduled (retries, delays)."""
    counts = {name: {"queued": 0, "scheduled": 0} for name in registered()}
    for item in huey.pending():
        counts.setdefault(item.name, {"queued": 0, "scheduled": 0})["queued"] += 1
    for item in huey.scheduled():
        counts.setdefault(item.name, {"queued": 0, "scheduled": 0})["scheduled"] += 1
    counts["failed"] = {"queued": FailedTask.select().where(FailedTask.retried_at.is_null()).count(), "scheduled": 0}
    return counts


def retry_failed(failed_id: int | None = None) -> list[int]:
    """Send failed tasks again (one, or all not yet retried); returns their ids."""
    query = FailedTask.select().where(FailedTask.retried_at.is_null())
    if failed_id is not None:
        query = FailedTask.select().where(FailedTask.id == failed_id)
    tasks_by_name = registered()
    retried = []
    for failed in query:
        bound = tasks_by_name.get(failed.task)
        if bound is None:
            continue
        dispatch(bound, *failed.args)
        with write_transaction():
            FailedTask.update(retried_at=utcnow()).where(FailedTask.id == failed.id).execute()
        retried.append(failed.id)
    return retried
