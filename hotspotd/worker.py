"""The worker role: the huey consumer, plus the reconciler's ticker.

The consumer runs the tasks; the ticker runs a reconcile pass every
`[queue] reconcile_interval` seconds so unfinished work is found even when the queue
lost it. SIGTERM stops both gracefully (tasks in flight get up to 4 s).
"""

from __future__ import annotations

import logging
import os
import threading

from . import queue, runtime, tasks
from .config import Config
from .store import open_store

log = logging.getLogger(__name__)

WORKER_NICENESS = 5


def _reconcile_forever(interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        tasks.reconcile.run()  # inline: must work even when the queue does not


def run(config: Config) -> int:
    # Background work yields the CPU to the roles that answer people and routers: on a
    # two-core box, a burst of callbacks is answered first and applied right after.
    os.nice(WORKER_NICENESS)
    open_store(config)
    runtime.configure(config)
    queue.configure(config.queue_db_path, default_mode=config.queue.mode,
                    fsync=config.store.synchronous == "full")
    consumer = queue.huey.create_consumer(
        workers=config.queue.workers, worker_type="thread", periodic=False,
        initial_delay=0.05, backoff=1.2, max_delay=0.5, scheduler_interval=1,
        graceful_signal="TERM", shutdown_timeout=4, check_worker_health=True,
    )
    stop = threading.Event()
    tasks.reconcile.run()  # catch up at once after a restart
    ticker = threading.Thread(target=_reconcile_forever, args=(config.queue.reconcile_interval, stop),
                              name="reconciler", daemon=True)
    ticker.start()
    log.info("worker consuming %s with %d threads", config.queue_db_path, config.queue.workers)
    try:
        consumer.run()
    finally:
        stop.set()
    return 0
