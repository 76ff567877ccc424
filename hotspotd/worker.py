"""The worker role: the huey consumer of the site's queue, plus the reconciler's ticker.

The consumer runs the tasks; the ticker runs a reconcile pass every
`[queue] reconcile_interval` seconds so unfinished work is found even when the queue
lost it. SIGTERM stops both gracefully (tasks in flight get up to 4 s): huey's consumer
owns the signal handling of this process.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from . import tasks
from .counters import Publisher
from .role import Role

log = logging.getLogger(__name__)

WORKER_NICENESS = 5


class WorkerRole(Role):
    name = "worker"

    def start(self) -> None:
        # Background work yields the CPU to the roles that answer people and routers: on a
        # two-core box, a burst of callbacks is answered first and applied right after.
        os.nice(WORKER_NICENESS)
        queue = self.runtime.queue
        self.consumer = queue.consumer(
            workers=self.config.queue.workers, worker_type="thread", periodic=False,
            initial_delay=0.05, backoff=1.2, max_delay=0.5, scheduler_interval=1,
            graceful_signal="TERM", shutdown_timeout=4, check_worker_health=True,
        )
        queue.run(tasks.reconcile)  # catch up at once after a restart
        self.ticker = threading.Thread(target=self._reconcile_forever, name="reconciler", daemon=True)
        self.ticker.start()
        self.publisher = Publisher("worker", queue.counters.snapshot, self.stopping)  # task outcomes for /metrics
        self.publisher.start()

    def install_signal_handlers(self) -> None:
        """huey's consumer installs its own (SIGTERM: finish what is running, then stop)."""

    def _reconcile_forever(self) -> None:
        queue, interval = self.runtime.queue, self.config.queue.reconcile_interval
        while not self.stopping.wait(interval):
            queue.run(tasks.reconcile)  # inline: must work even when the queue does not

    def serve(self) -> None:
        log.info("worker consuming %s with %d threads", self.config.queue_db_path, self.config.queue.workers)
        try:
            self.consumer.run()
        finally:
            self.stopping.set()

    def stop(self) -> None:
        self.stopping.set()
        self.consumer._handle_signal(signal.SIGTERM, None)  # what huey's own SIGTERM handler does: set its flags
