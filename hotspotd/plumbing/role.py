"""A role process as one object: it owns what the role shares (a `Runtime`), starts, says
when it is ready, serves until asked to stop, and closes what it opened.

Each role subclasses `Role` where its protocol lives (`web.portal.PortalRole`,
`web.admin.AdminRole`, `radius.server.RadiusRole`, `worker.WorkerRole`). Signal handlers
only call `stop()`, which sets a flag and wakes the serving loop; the loop does the work.
Tests start a role in a thread and wait for `ready`.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import ClassVar

from ..config import Config
from .runtime import Runtime
from ..store.db import utcnow, write_transaction
from ..store.models import HealthLog
from ..store.running import hold_shared

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Role:
    name: ClassVar[str] = "role"
    # The central receiver has a store of its own and no site database to open.
    opens_site_store: ClassVar[bool] = True

    def __init__(self, config: Config, runtime: Runtime | None = None) -> None:
        self.config = config
        # A role process holds the state folder's shared lock while it runs: `restore`
        # refuses meanwhile (tests that bring their own runtime run roles in threads).
        self._running_lock = hold_shared(config.state_dir) if runtime is None and self.opens_site_store else None
        self.runtime = runtime or (Runtime.open(config) if self.opens_site_store else Runtime(config))
        self.ready = threading.Event()
        self.stopping = threading.Event()

    # -- what a role implements

    def start(self) -> None:
        """Bind sockets and prepare; after this returns the role can serve."""

    def serve(self) -> int | None:
        """Serve until `stop()` is called (blocks); a non-zero result is the exit code."""
        self.stopping.wait()
        return None

    def stop(self) -> None:
        """Ask the role to stop; safe from a signal handler and from any thread."""
        self.stopping.set()

    def close(self) -> None:
        """Release what `start` and the runtime opened."""
        self.runtime.close()

    @property
    def records_start(self) -> bool:
        """Whether this process notes its start in the health log (one per role; the central
        receiver has no site health log)."""
        return self.opens_site_store

    # -- shared lifecycle

    def install_signal_handlers(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, lambda *_: self.stop())

    def run(self) -> int:
        """The role's process: start, serve until a signal, close. Returns the exit code."""
        if self.records_start:
            self._record_start()
        self.install_signal_handlers()
        if self.opens_site_store:
            self.runtime.site_clock.watch(self.stopping)  # steps noticed even when nobody asks the time
        self.start()
        try:
            self.ready.set()
            code = self.serve()
        finally:
            self.close()
        log.info("%s stopped", self.name)
        return code or 0

    def _record_start(self) -> None:
        """A line in the health log per start: the worker alerts on a role restarting in a loop."""
        try:
            with write_transaction():
                HealthLog.create(at=utcnow(), component=self.name, level="info", message=f"started (pid {os.getpid()})")
        except Exception as exc:  # a role must start even when it cannot say so
            log.warning("cannot note the %s role's start in the health log: %s", self.name, exc)

    def wait_ready(self, timeout: float = 30.0) -> None:
        if not self.ready.wait(timeout):
            raise TimeoutError(f"the {self.name} role was not ready within {timeout} s")
