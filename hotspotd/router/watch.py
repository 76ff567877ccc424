"""The worker's periodic router work: probe every `[routers] probe_interval`, read live
sessions every `sessions_interval`, reconcile every `reconcile_interval`.

Each router's job runs in a thread of its own pool, apart from the task queue: a router
that answers slowly, or not at all, holds up only its own next job (a job still running
is not started again), never payments, RADIUS or pages, nor the other routers.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..errors import HotspotdError
from ..store.models import Router
from . import live, probe, reconcile
from .records import RouterMode

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Watched:
    """What one pass of the watch did, and when (on the clock of `now`) it wants the next."""

    started: list[tuple[str, str]]  # (job, router name): the jobs started in this pass
    next_at: float


class RouterWatch:
    """`tick(now)` starts the router jobs due at `now` (monotonic seconds) and returns when
    the next are due; the worker's thread calls it and sleeps in between."""

    def __init__(self, rt: Runtime, *, on_online: Callable[[Router], None] = lambda router: None,
                 workers: int = 32) -> None:
        self.rt = rt
        self.on_online = on_online
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="router-watch")
        self.running: dict[tuple[str, int], Future] = {}
        self.next_at: dict[str, float] = {}  # per job; set by the first pass
        self._lock = threading.Lock()

    def tick(self, now: float) -> Watched:
        settings = self.rt.config.routers
        intervals = {"probe": settings.probe_interval, "sessions": settings.sessions_interval,
                     "reconcile": settings.reconcile_interval}
        if not self.next_at:
            # probe and read sessions at once; the first reconciliation waits one interval (what
            # a restart left unfinished is sent by the queue's reconciler and by catch-up)
            self.next_at = {"probe": now, "sessions": now, "reconcile": now + settings.reconcile_interval}
        due = [kind for kind, at in self.next_at.items() if now >= at]
        started: list[tuple[str, str]] = []
        if due:
            routers = list(Router.select().order_by(Router.id))
            for kind in due:
                self.next_at[kind] = now + intervals[kind]
                for router in routers:
                    if kind != "probe" and router.status == "offline":
                        continue  # its probe says when it is back
                    if self._submit(kind, router):
                        started.append((kind, router.name))
        return Watched(started, min(self.next_at.values()))

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until the jobs started so far have ended; False if some still run after `timeout` s."""
        with self._lock:
            running = list(self.running.values())
        return not wait(running, timeout).not_done

    def _submit(self, kind: str, router: Router) -> bool:
        key = (kind, router.id)
        with self._lock:
            running = self.running.get(key)
            if running is not None and not running.done():
                return False
            self.running[key] = self.pool.submit(self._job, kind, router)
            return True

    def _job(self, kind: str, router: Router) -> None:
        session = self.rt.routers.session
        try:
            if kind == "probe":
                result = probe.probe_one(session, router, offline_after=self.rt.config.routers.offline_after)
                if result.changed and result.status == "online":
                    self.on_online(router)
            elif kind == "sessions":
                live.refresh(session, router, self.rt.site_clock.decision_now())
            elif kind == "reconcile" and (router.mode == RouterMode.API or router.deployed_at is not None):
                reconcile.run(session, router, self.rt.config, self.rt.site_clock.decision_now())
        except HotspotdError as exc:
            log.info("%s of router %s: %s", kind, router.name, exc)
        except Exception:
            log.exception("%s of router %s failed", kind, router.name)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
