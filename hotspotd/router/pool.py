"""The API connections of one process, per router, reused where safe.

A connection is used by one caller at a time (`session()` leases it) and goes back to
the idle list when the caller is done without error; a connection that failed, or sat
idle longer than `idle_seconds`, is closed. At most `per_router` connections are open to
one router. A router that went silent (a timeout) is not dialled again for `quiet_seconds`:
callers fail at once instead of each waiting out the timeout, so one silent router costs
one task its timeout and nothing else. `close()` closes everything (the Runtime calls it).
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from .api import RouterApi, RouterCommandRefused, RouterUnreachable, Target

log = logging.getLogger(__name__)

Connector = Callable[[Target], RouterApi]


class RouterClients:
    def __init__(self, connect: Connector, *, per_router: int = 4, idle_seconds: float = 30.0,
                 quiet_seconds: float = 20.0, wait_seconds: float = 30.0) -> None:
        self._connect = connect
        self.per_router = per_router
        self.idle_seconds = idle_seconds
        self.quiet_seconds = quiet_seconds
        self.wait_seconds = wait_seconds
        self.opened = 0  # connections opened (logins), for benchmarks and tests
        self._idle: dict[tuple, list[tuple[float, RouterApi]]] = {}
        self._busy: dict[tuple, int] = {}
        self._quiet_until: dict[int, float] = {}
        self._cond = threading.Condition()
        self._closed = False

    @contextmanager
    def session(self, target: Target) -> Iterator[RouterApi]:
        """A logged-in connection to `target` for the duration of the block."""
        api = self._lease(target)
        ok = False
        try:
            yield api
            ok = True
        except RouterCommandRefused:
            ok = True  # the router said no; the connection is as good as before
            raise
        except RouterUnreachable as exc:
            if "no answer in time" in str(exc):
                self.mark_quiet(target)
            raise
        finally:
            self._release(target, api, ok and not getattr(api, "broken", False))

    def mark_quiet(self, target: Target) -> None:
        with self._cond:
            self._quiet_until[target.router_id] = time.monotonic() + self.quiet_seconds

    def _lease(self, target: Target) -> RouterApi:
        key = target.key
        deadline = time.monotonic() + self.wait_seconds
        with self._cond:
            while True:
                if self._closed:
                    raise RouterUnreachable("router connections are closed (shutting down)")
                quiet = self._quiet_until.get(target.router_id, 0.0) - time.monotonic()
                if quiet > 0:
                    raise RouterUnreachable(f"{target.name} did not answer in time a moment ago; "
                                            f"not dialling it again for {quiet:.0f} s")
                self._expire(key)
                idle = self._idle.get(key)
                if idle:
                    _, api = idle.pop()
                    self._busy[key] = self._busy.get(key, 0) + 1
                    return api
                if self._busy.get(key, 0) < self.per_router:
                    self._busy[key] = self._busy.get(key, 0) + 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RouterUnreachable(f"{target.name}: every connection is busy")
                self._cond.wait(left)
        try:
            api = self._connect(target)
        except BaseException as exc:
            if isinstance(exc, RouterUnreachable) and "no answer in time" in str(exc):
                self.mark_quiet(target)
            with self._cond:
                self._busy[key] -= 1
                self._cond.notify()
            raise
        with self._cond:
            self.opened += 1
        return api

    def _release(self, target: Target, api: RouterApi, reusable: bool) -> None:
        key = target.key
        with self._cond:
            self._busy[key] -= 1
            if reusable and not self._closed:
                self._idle.setdefault(key, []).append((time.monotonic(), api))
                api = None
            self._cond.notify()
        if api is not None:
            api.close()

    def _expire(self, key: tuple) -> None:
        """Close connections idle too long (called with the lock held)."""
        idle = self._idle.get(key)
        if not idle:
            return
        cutoff = time.monotonic() - self.idle_seconds
        keep = [(at, api) for at, api in idle if at >= cutoff]
        for at, api in idle:
            if at < cutoff:
                api.close()
        self._idle[key] = keep

    def forget(self, router_id: int) -> None:
        """Close idle connections to a router (it was edited or removed)."""
        with self._cond:
            stale = [key for key in self._idle if key[0] == router_id]
            closing = [api for key in stale for _, api in self._idle.pop(key)]
            self._quiet_until.pop(router_id, None)
        for api in closing:
            api.close()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            closing = [api for idle in self._idle.values() for _, api in idle]
            self._idle.clear()
            self._cond.notify_all()
        for api in closing:
            api.close()
