"""Periodic work as passes: a `tick(now)` does one pass and says when it wants the next,
and a loop only sleeps and calls it (`keep_ticking`).

Every loop of the worker has this shape: the ticker below (reconciler, alerts, retention,
the nightly backup), the router watch (`router.watch.RouterWatch.tick`) and central sync
(`sync.tick`). Tests call `tick` with the time of a fake clock, one pass at a time, as
huey's own tests drive its consumer (`worker.loop(now)`); no test waits for a wall clock.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from ..store.db import utcnow
from .queue import Queue, Task

log = logging.getLogger(__name__)


def keep_ticking(stopping: threading.Event, step: Callable[[], float], what: str, *,
                 after_error: float = 1.0) -> None:
    """Call `step()` until `stopping` is set, sleeping between calls for the seconds it
    returns. A pass that raises is logged and tried again `after_error` seconds later: the
    loop outlives any one pass."""
    pause = 0.0
    while not stopping.wait(max(0.0, pause)):
        try:
            pause = step()
        except Exception:
            log.exception("%s failed; trying again", what)
            pause = after_error


@dataclass
class Periodic:
    """A task the ticker runs every `every` seconds, the first time `first` seconds after its
    first pass: `inline` in the ticker's thread (work that must go on when the queue does
    not), otherwise sent to the queue. `when`, if given, is asked the wall time each time the
    task is due, and the task runs only if it says yes (the nightly backup's hour)."""

    task: Task
    every: float
    first: float
    inline: bool = False
    when: Callable[[datetime], bool] | None = None
    due_at: float | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Ticked:
    """What one pass of the ticker did, and when (on the clock of `now`) it wants the next."""

    ran: list[str]  # run inline
    sent: list[str]  # sent to the queue
    next_at: float


class Ticker:
    """The worker's periodic tasks (`jobs`) over `queue`. `tick(now)` takes monotonic
    seconds: an interval is not stretched or shortened when the wall clock is set;
    `wall` gives the date for the jobs that care about it (`Periodic.when`)."""

    def __init__(self, queue: Queue, jobs: list[Periodic], *, wall: Callable[[], datetime] = utcnow) -> None:
        if not jobs:
            raise ValueError("a ticker needs at least one job")
        self.queue = queue
        self.jobs = jobs
        self.wall = wall

    def tick(self, now: float) -> Ticked:
        """Run (or send) every job due at `now`. The first pass only sets the schedule."""
        ran: list[str] = []
        sent: list[str] = []
        for job in self.jobs:
            if job.due_at is None:
                job.due_at = now + job.first
            if now < job.due_at:
                continue
            job.due_at = now + max(job.every, 1.0)
            try:
                if job.when is not None and not job.when(self.wall()):
                    continue
                if job.inline:
                    self.queue.run(job.task)
                    ran.append(job.task.name)
                else:
                    self.queue.dispatch(job.task)
                    sent.append(job.task.name)
            except Exception:  # one job's trouble (a locked database) must not stop the others
                log.exception("periodic %s failed", job.task.name)
        return Ticked(ran, sent, min(job.due_at for job in self.jobs if job.due_at is not None))
