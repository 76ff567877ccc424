"""Enforcement: the sweep that finds sessions outliving their subscription, and delivery
of every requested disconnect (sweep, data used up, admin kick) to the routers.

Runs as one thread in one RADIUS process, so each Disconnect-Request is sent once.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Callable

from hotspotd import sessions
from hotspotd.router import router_views
from hotspotd.store.db import db, utcnow

from . import disconnect

log = logging.getLogger(__name__)

def enforce_once(sweep: bool, retry_after: float, clock: Callable[[], datetime] = utcnow) -> int:
    """One pass: the sweep when `sweep` is True, then one delivery round of due
    disconnects. Returns the number of Disconnect-Requests sent. `clock`: the time periods
    are judged by (the site clock's `decision_now`: a step is repaired before the sweep)."""
    now = clock()
    if sweep:
        marked = sessions.mark_overdue(now)
        if marked:
            log.info("sweep: %d session(s) outlive their package", len(marked))
    jobs = sessions.pending_disconnects(now)
    if not jobs:
        return 0
    for job, outcome, detail in disconnect.deliver(jobs, {router.id: router for router in router_views()}):
        log.info("disconnect session %s (%s): %s", job.acct_session_id, job.reason, outcome)
        sessions.disconnect_result(job.session_id, outcome, detail, clock(), retry_after)
    return len(jobs)


class Enforcer(threading.Thread):
    """Sweep every `sweep_interval` s; deliver due disconnects every second or at `wake`."""

    def __init__(self, sweep_interval: float, stop: threading.Event, wake: threading.Event,
                 clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(name="radius-enforcer", daemon=True)
        self.clock = clock
        self.sweep_interval = sweep_interval
        self.stop = stop
        self.wake = wake

    def run(self) -> None:
        next_sweep = 0.0
        while not self.stop.is_set():
            sweep = time.monotonic() >= next_sweep
            if sweep:
                next_sweep = time.monotonic() + self.sweep_interval
            try:
                enforce_once(sweep, retry_after=self.sweep_interval, clock=self.clock)
            except Exception:
                log.exception("enforcement pass failed; trying again")
            self.wake.wait(1.0)
            self.wake.clear()
        db.close()
