"""The worker role: the huey consumer of the site's queue, plus the threads of periodic work.

The consumer runs the tasks. One ticker runs, each at its own interval:

    reconcile       [queue] reconcile_interval  inline: must work even when the queue does not
    subscribers_month_end  the same interval    inline: home subscribers suspended, reminders due
    check_alerts    [alerts] check_interval     inline: a few reads; sending goes to the queue
    apply_retention [retention] interval        sent to the queue (deletes in short chunks)
    nightly_backup  when one is due             sent to the queue

Router work (probe, live sessions, router reconciliation: `router.watch`) runs in a thread
of its own, never in the queue's; with `[central] url` set, another thread runs a central
sync pass whenever one is due (`[central] interval`, or the backoff with jitter after a
failure). SIGTERM stops it all gracefully (tasks in flight get up to 4 s). Once the
consumer runs it handles the signals itself; before that, a signal sets the same flags.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass

from ..operations import backup
from .. import sync
from . import tasks
from ..config import Config
from .counters import Publisher
from .queue import Task
from .role import Role
from .runtime import Runtime
from ..store.db import utcnow

log = logging.getLogger(__name__)

WORKER_NICENESS = 5
BACKUP_CHECK_INTERVAL = 300.0
RETENTION_FIRST_DELAY = 120.0  # not in the same minute as the catch-up after a restart
SYNC_TICK = 1.0  # seconds between looks at whether a sync pass is due


@dataclass
class Periodic:
    task: Task
    every: float
    inline: bool = False
    due_at: float = 0.0


class WorkerRole(Role):
    name = "worker"

    def __init__(self, config: Config, runtime: Runtime | None = None, *, worker_type: str = "thread",
                 niceness: int = WORKER_NICENESS) -> None:
        super().__init__(config, runtime)
        # Inside the back office (`cli.backoffice`): "greenlet" workers, since gevent has
        # patched threading, and no niceness, which would slow the console down with them.
        self.worker_type = worker_type
        self.niceness = niceness

    def start(self) -> None:
        # Background work yields the CPU to the roles that answer people and routers: on a
        # two-core box, a burst of callbacks is answered first and applied right after.
        if self.niceness:
            os.nice(self.niceness)
        tasks.load_worker_modules(self.config)
        queue = self.runtime.queue
        self.consumer = queue.consumer(
            workers=self.config.queue.workers, worker_type=self.worker_type, periodic=False,
            initial_delay=0.05, backoff=1.2, max_delay=0.5, scheduler_interval=1,
            graceful_signal="TERM", shutdown_timeout=4, check_worker_health=True,
        )
        queue.run(tasks.reconcile)  # catch up at once after a restart
        self.ticker = threading.Thread(target=self._tick_forever, name="ticker", daemon=True)
        self.ticker.start()
        self.publisher = Publisher("worker", queue.counters.snapshot, self.stopping)  # task outcomes for /metrics
        self.publisher.start()
        if self.config.central.url:
            self.sync_ticker = threading.Thread(target=self._sync_forever, name="central-sync", daemon=True)
            self.sync_ticker.start()
        from ..router.watch import RouterWatch

        self.watch = RouterWatch(self.runtime, on_online=self._router_back)
        self.router_ticker = threading.Thread(target=self._watch_routers, name="router-watch", daemon=True)
        self.router_ticker.start()

    def periodic(self) -> list[Periodic]:
        config, now = self.config, time.monotonic()
        return [
            Periodic(tasks.reconcile, config.queue.reconcile_interval, inline=True,
                     due_at=now + config.queue.reconcile_interval),
            Periodic(tasks.subscribers_month_end, config.queue.reconcile_interval, inline=True,
                     due_at=now + min(config.queue.reconcile_interval, 5.0)),
            Periodic(tasks.check_alerts, config.alerts.check_interval, inline=True,
                     due_at=now + min(config.alerts.check_interval, 10.0)),
            Periodic(tasks.apply_retention, config.retention.interval, due_at=now + RETENTION_FIRST_DELAY),
            Periodic(tasks.nightly_backup, BACKUP_CHECK_INTERVAL, due_at=now + 30.0),
        ]

    def _tick_forever(self) -> None:
        queue, jobs = self.runtime.queue, self.periodic()
        while not self.stopping.wait(max(0.0, min(job.due_at for job in jobs) - time.monotonic())):
            for job in jobs:
                now = time.monotonic()
                if now < job.due_at:
                    continue
                job.due_at = now + max(job.every, 1.0)
                if job.task is tasks.nightly_backup and not backup.nightly_due(self.config, utcnow()):
                    continue
                try:
                    if job.inline:
                        queue.run(job.task)
                    else:
                        queue.dispatch(job.task)
                except Exception:  # the ticker must outlive any one pass
                    log.exception("periodic %s failed", job.task.name)

    def _watch_routers(self) -> None:
        while not self.stopping.wait(0.5):
            try:
                self.watch.tick()
            except Exception:
                log.exception("router watch failed; trying again")
        self.watch.close()

    def _router_back(self, router) -> None:
        """A router came back online: what waited for it goes now, not at the next retry."""
        queue = self.runtime.queue
        queue.dispatch(tasks.catch_up_router, router.id)

    def _sync_forever(self) -> None:
        queue = self.runtime.queue
        while not self.stopping.wait(SYNC_TICK):
            try:
                if sync.due(utcnow()):
                    queue.run(tasks.sync_central)  # inline, in this thread: it waits on the network
            except Exception:  # a locked database now: look again next tick
                log.exception("central sync ticker")

    def serve(self) -> None:
        if self.stopping.is_set():  # a signal came while starting
            return
        log.info("worker consuming %s with %d %ss", self.config.queue_db_path, self.config.queue.workers, self.worker_type)
        try:
            self.consumer.run()  # installs huey's own handlers (SIGTERM: finish what runs, then stop)
        finally:
            self.stopping.set()

    def stop(self) -> None:
        self.stopping.set()
        consumer = getattr(self, "consumer", None)
        if consumer is not None:
            consumer._handle_signal(signal.SIGTERM, None)  # what huey's own SIGTERM handler does: set its flags
