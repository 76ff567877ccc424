"""The worker role: the huey consumer of the site's queue, plus the threads of periodic work.

The consumer runs the tasks. One ticker (`plumbing.ticker`) runs, each at its own interval:

    reconcile       [queue] reconcile_interval  inline: must work even when the queue does not
    subscribers_month_end  the same interval    inline: home subscribers suspended, reminders due
    check_alerts    [alerts] check_interval     inline: a few reads; sending goes to the queue
    ask_daraja_time every 30 s                  sent to the queue: Daraja's Date header, while the clock is not believable
    apply_retention [retention] interval        sent to the queue (deletes in short chunks)
    nightly_backup  when one is due             sent to the queue
    send_sms        every 30 s                  sent to the queue (the SMS outbox: retries, expiry)
    pull_transactions [mpesa] pull_interval     sent to the queue (Paybill reconciliation; with a paybill)

Router work (probe, live sessions, router reconciliation: `router.watch`) runs in a thread
of its own, never in the queue's; with `[central] url` set, another thread runs a central
sync pass whenever one is due (`[central] interval`, or the backoff with jitter after a
failure). Each of the three is a `tick(now)` called by a loop that only sleeps.

SIGTERM stops it all gracefully (tasks in flight get up to 4 s). The role's own signal
handlers only set `stopping`; the serving loop then stops huey's consumer through its
public `stop(graceful=True)`. The consumer's threads are started here rather than by
`consumer.run()`, which would put huey's signal handlers in place of the role's (in the
back office, in place of the gevent handlers that stop the console too).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable

from ..config import Config
from ..operations import backup
from .. import sync
from . import tasks
from .counters import Publisher
from .role import Role
from .runtime import Runtime
from .ticker import Periodic, Ticker, keep_ticking
from ..store.db import utcnow

log = logging.getLogger(__name__)

WORKER_NICENESS = 5
BACKUP_CHECK_INTERVAL = 300.0
RETENTION_FIRST_DELAY = 120.0  # not in the same minute as the catch-up after a restart
SYNC_LOOK = 1.0  # seconds at most between looks at whether a sync pass is due
HEALTH_CHECK_INTERVAL = 10.0  # seconds between looks at huey's worker threads (a dead one is replaced)
DARAJA_TIME_INTERVAL = 30.0  # seconds between looks at whether the clock wants Daraja's word
SMS_INTERVAL = 30.0  # retries and texts waiting for a number (new receipts are sent as they are queued)


def periodic(config: Config) -> list[Periodic]:
    """The worker's periodic tasks (the table in this module's docstring)."""
    return [
        Periodic(tasks.reconcile, config.queue.reconcile_interval, config.queue.reconcile_interval, inline=True),
        Periodic(tasks.subscribers_month_end, config.queue.reconcile_interval,
                 min(config.queue.reconcile_interval, 5.0), inline=True),
        Periodic(tasks.check_alerts, config.alerts.check_interval, min(config.alerts.check_interval, 10.0),
                 inline=True),
        Periodic(tasks.apply_retention, config.retention.interval, RETENTION_FIRST_DELAY),
        Periodic(tasks.nightly_backup, BACKUP_CHECK_INTERVAL, 30.0, when=lambda wall: backup.nightly_due(config, wall)),
        # queued: with the uplink down it waits out the client's timeout, which the ticker must not
        Periodic(tasks.ask_daraja_time, DARAJA_TIME_INTERVAL, 1.0),
        Periodic(tasks.send_sms, SMS_INTERVAL, 5.0),
        *([Periodic(tasks.pull_transactions, config.mpesa.pull_interval, min(config.mpesa.pull_interval, 20.0))]
          if config.mpesa.pull_interval > 0 and config.mpesa.paybill else []),
    ]


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
            shutdown_timeout=4, check_worker_health=True,
        )
        queue.run(tasks.reconcile)  # catch up at once after a restart
        self.ticker = Ticker(queue, periodic(self.config))
        self._loop("ticker", lambda: self.ticker.tick(time.monotonic()).next_at - time.monotonic(), "periodic work")
        self.publisher = Publisher("worker", queue.counters.snapshot, self.stopping)  # task outcomes for /metrics
        self.publisher.start()
        if self.config.central.url:
            self._loop("central-sync", self._sync_step, "central sync")
        from ..router.watch import RouterWatch

        self.watch = RouterWatch(self.runtime, on_online=self._router_back)
        self._loop("router-watch", lambda: self.watch.tick(time.monotonic()).next_at - time.monotonic(),
                   "router watch", then=self.watch.close)

    def _loop(self, name: str, step: Callable[[], float], what: str, *,
              then: Callable[[], None] | None = None) -> threading.Thread:
        """A thread that calls `step` until the role stops (`keep_ticking`), then `then`."""
        def run() -> None:
            keep_ticking(self.stopping, step, what)
            if then is not None:
                then()

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    def _sync_step(self) -> float:
        queue = self.runtime.queue
        # inline, in this thread: a pass waits on the network
        looked = sync.tick(utcnow(), lambda: queue.run(tasks.sync_central))
        if looked.next_at is None:
            return SYNC_LOOK
        return min(SYNC_LOOK, (looked.next_at - utcnow()).total_seconds())

    def _check_health(self) -> float:
        self.consumer.check_worker_health()  # a worker thread that died is replaced
        return HEALTH_CHECK_INTERVAL

    def _router_back(self, router) -> None:
        """A router came back online: what waited for it goes now, not at the next retry."""
        queue = self.runtime.queue
        queue.dispatch(tasks.catch_up_router, router.id)

    def serve(self) -> None:
        if self.stopping.is_set():  # a signal came while starting
            return
        consumer = self.consumer
        consumer.scheduler.start()
        for _, process in consumer.worker_threads:
            process.start()
        log.info("worker consuming %s with %d %ss", self.config.queue_db_path, self.config.queue.workers, self.worker_type)
        try:
            keep_ticking(self.stopping, self._check_health, "the queue's worker health check")
        finally:
            self.stopping.set()
            consumer.stop(graceful=True)  # tasks in flight get `shutdown_timeout` seconds
            self.runtime.queue.huey.notify_interrupted_tasks()
            log.info("worker stopped consuming")
