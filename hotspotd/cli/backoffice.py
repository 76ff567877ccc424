"""The back office: the operator's console and the worker in one gevent process (here, with
the command line, as the one place that puts roles together to start them).

`hotspotd run --role admin,worker` runs this; `hotspotd run` and the installed systemd
units do too, so a site is three processes (portal, back office, radius) instead of four.
A Python process costs a box 30-40 MB whatever it does; the console and the worker share
one interpreter, one set of libraries and one store connection here.

What it costs, and why that is the isolation to give up: both halves are the operator's
side. The customers' side (the portal, which a hostile LAN can flood) and the routers'
side (RADIUS, which must answer whatever else happens) stay in processes of their own.
In here the worker's tasks run as greenlets beside the console's requests: a task waiting
on a router, Daraja or the central server yields to the console, and the long C calls
(the nightly backup) go to a real thread (`hotspotd.plumbing.offload`). What does not yield (a
task's SQLite writes, a lock another process holds) holds up the console for that long:
measured under a burst of 1,000 payments, events reach the console's websockets at p99
~70-140 ms instead of ~50 ms apart (bench/admin_bench.py). The worker half is not niced
here as it is alone (niceness would slow the console with it). `--role admin` and
`--role worker` still run either half alone.

Stopping: SIGTERM or SIGINT stops both halves at once (the console closes its sockets
while huey gives tasks in flight their few seconds); if the consumer ends on its own, the
console stops with it and the process exits for systemd to restart.
"""

from __future__ import annotations

import logging

from ..config import Config
from ..plumbing.role import STOP_SIGNALS, Role
from ..web.admin import AdminRole
from ..plumbing.worker import WorkerRole

log = logging.getLogger(__name__)

NAME = "admin,worker"


class BackOffice(Role):
    name = NAME

    def __init__(self, config: Config) -> None:
        super().__init__(config)  # opens the one runtime both halves share
        # The worker publishes the queue's counters; the console publishing the same ones would count them twice.
        self.admin = AdminRole(config, self.runtime, publish_counters=False)
        self.worker = WorkerRole(config, self.runtime, worker_type="greenlet", niceness=0)

    def _record_start(self) -> None:
        # The health log knows the roles by their own names (alerts count restarts per role).
        self.admin._record_start()
        self.worker._record_start()

    def install_signal_handlers(self) -> None:
        import gevent

        for signum in STOP_SIGNALS:
            gevent.signal_handler(signum, self.stop)

    def start(self) -> None:
        self.admin.start()
        self.worker.start()  # installs no signal handlers: ours stop both halves at once

    def serve(self) -> None:
        import gevent

        consumer = gevent.spawn(self.worker.serve)
        consumer.link(lambda _: self.stop())  # the consumer ended on its own: the console stops too
        self.admin.serve()  # until stop()
        consumer.join()  # huey's graceful shutdown (tasks in flight get their seconds) runs to its end

    def stop(self) -> None:
        if self.stopping.is_set():
            return
        log.info("back office stopping")
        self.stopping.set()
        self.admin.stop()
        self.worker.stop()
