"""The `radius` role: authentication and accounting over UDP, and enforcement.

One process serves Access-Requests on its main thread from the in-memory access view,
accounting on a second thread (group commits), and, in the first process only, the
enforcement sweep and Disconnect-Requests on a third. `[radius] processes = N` runs N such
processes under the one supervisor (`hotspotd.plumbing.supervisor`); they bind the same ports with
SO_REUSEPORT and the kernel spreads routers' source ports across them. SIGTERM or SIGINT
stops everything within a few seconds.

A customer who paid a second ago must not be turned away because the view is a moment
old: before the role rejects a login as unknown, expired or used up, it looks at the store
again and decides afresh (`AuthLoop`). Those looks are spaced at least
`STALE_REFRESH_GAP` apart, so a flood of unknown users cannot become a flood of queries; a
request that arrives inside the gap waits for the next look instead of being rejected on
old data.
"""

from __future__ import annotations

import gc
import logging
import os
import select
import socket
import threading
import time
from datetime import datetime
from typing import Callable

from hotspotd.access import AccessView
from hotspotd.access_loader import ViewLoader, status_secret
from hotspotd.billing import bindings
from hotspotd.plumbing.counters import Publisher
from hotspotd.operations.retention import record_reader
from hotspotd.plumbing.role import Role
from hotspotd.store.db import utcnow
from hotspotd.plumbing.supervisor import role_command, supervise
from hotspotd.pppoe.access import PppPolicy, PppView
from hotspotd.pppoe.settings import CUT_OFF
from hotspotd.pppoe.view_loader import PppLoader

from .accounting import RECV_BUFFER, AccountingLoop, source_ip
from .handler import STALE, Handler
from .sweep import Enforcer

log = logging.getLogger(__name__)

AUTH_BATCH = 64
REFRESH_INTERVAL = 1.0  # seconds between routine looks at the store for changes to the view
STALE_REFRESH_GAP = 0.005  # at least this long between looks made for would-be rejects
STOP_GRACE = 4.0


def bind(host: str, port: int, reuse_port: bool) -> socket.socket:
    """A UDP socket on host:port with a receive buffer large enough for a login storm."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    except OSError:
        pass
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


class Views:
    """The hotspot's view and the home subscribers' (PPP) view, refreshed together. Their
    position in `radius_change` is the one behind: retention keeps what either has not read."""

    def __init__(self, *loaders) -> None:
        self.loaders = loaders

    def refresh(self) -> bool:
        return any([loader.refresh() for loader in self.loaders])  # a list: every one refreshes

    @property
    def last_change(self) -> int:
        return min(loader.last_change for loader in self.loaders)


def ppp_view(config, hotspot: AccessView) -> PppView:
    """The PPP view, with the site's `[pppoe]` choices; who is online and which devices are
    blocked are read from the hotspot's view (it holds every open session)."""
    pppoe = config.pppoe
    policy = PppPolicy(grace_s=pppoe.grace_hours * 3600.0, cut_off=pppoe.suspended == CUT_OFF,
                       suspended_rate=pppoe.suspended_rate,
                       suspended_session_timeout=pppoe.suspended_session_timeout,
                       interim_interval=config.radius.interim_interval)
    return PppView(policy=policy, open_sessions=lambda username: hotspot.devices.get(username, {}),
                   blocked=lambda: hotspot.blocked)


class AuthLoop:
    """Answers Access-Requests until `stop` is set; keeps the view current between batches."""

    def __init__(self, sock: socket.socket, handler: Handler, loader: ViewLoader | Views, stop: threading.Event,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sock = sock
        self.clock = clock  # the site clock's `decision_now`: never a stale boot's time
        self.handler = handler
        self.loader = loader
        self.stop = stop
        self.deferred: list[tuple[bytes, tuple]] = []  # would-be rejects waiting for the next look
        self.refreshed_at = time.monotonic()
        self.refreshes = 0

    def run(self) -> None:
        while not self.stop.is_set():
            timeout = 0.2
            if self.deferred:
                timeout = max(0.0, self.refreshed_at + STALE_REFRESH_GAP - time.monotonic())
            readable, _, _ = select.select([self.sock], [], [], timeout)
            if readable:
                self.serve_batch()
            since = time.monotonic() - self.refreshed_at
            if (self.deferred and since >= STALE_REFRESH_GAP) or since >= REFRESH_INTERVAL:
                self.refresh()

    def serve_batch(self) -> int:
        """Answer what is waiting on the socket (up to AUTH_BATCH); return the number read."""
        sock, access, now, read = self.sock, self.handler.access, self.clock(), 0
        while read < AUTH_BATCH:
            try:
                data, address = sock.recvfrom(RECV_BUFFER)
            except (BlockingIOError, InterruptedError):
                break
            read += 1
            try:
                reply = access(data, source_ip(address), now, fresh=False)
                if reply is STALE:
                    self.deferred.append((data, address))
                elif reply is not None:
                    sock.sendto(reply, address)
            except Exception:  # nothing a client sends may stop the loop
                log.exception("Access-Request from %s not answered", address[0])
        if self.deferred and time.monotonic() - self.refreshed_at >= STALE_REFRESH_GAP:
            self.refresh()
        return read

    def refresh(self) -> None:
        """Bring the view up to date, then answer the requests that waited for it."""
        try:
            self.loader.refresh()
        except Exception:
            log.exception("access view refresh failed; serving the last view")
        self.refreshed_at = time.monotonic()
        self.refreshes += 1
        waiting, self.deferred = self.deferred, []
        if not waiting:
            return
        now = self.clock()
        for data, address in waiting:
            try:
                reply = self.handler.access(data, source_ip(address), now)
                if reply is not None:
                    self.sock.sendto(reply, address)
            except Exception:
                log.exception("Access-Request from %s not answered", address[0])


class ReadPosition:
    """Tells retention how far this process has read `radius_change` (`hotspotd.operations.retention`):
    soon after the position moves, and once a minute anyway so it is known to be alive.
    The recorded position is never ahead of the view, so nothing unread is deleted."""

    MOVED = 5.0
    ALIVE = 60.0

    def __init__(self, name: str, loader: ViewLoader | Views) -> None:
        self.name = name
        self.loader = loader
        self.written = -1
        self.written_at = -1e9

    def tick(self) -> None:
        position, now = self.loader.last_change, time.monotonic()
        if position < 0 or now - self.written_at < (self.ALIVE if position == self.written else self.MOVED):
            return
        try:
            record_reader(self.name, position, utcnow())
        except Exception as exc:  # retention then keeps more rows; nothing is lost
            log.warning("cannot record how far %s has read radius_change: %s", self.name, exc)
        self.written, self.written_at = position, now


class RadiusRole(Role):
    """One RADIUS process (`instance` None with `[radius] processes` > 1: their supervisor)."""

    name = "radius"

    def __init__(self, config, runtime=None, *, instance: int | None = None) -> None:
        super().__init__(config, runtime)
        self.instance = instance
        self.wake = threading.Event()  # sweep and disconnects now, not at the next tick

    @property
    def supervising(self) -> bool:
        return self.instance is None and self.config.radius.processes > 1

    @property
    def records_start(self) -> bool:
        return not self.supervising and self.instance in (None, 0)  # one start per radius role, not per process

    def start(self) -> None:
        if self.supervising:
            return
        radius = self.config.radius
        reuse_port = self.instance is not None
        self.auth_sock = bind(radius.listen, radius.auth_port, reuse_port)
        self.acct_sock = bind(radius.listen, radius.acct_port, reuse_port)
        hotspot = ViewLoader(AccessView(interim_interval=radius.interim_interval))
        subscribers = PppLoader(ppp_view(self.config, hotspot.view))
        self.loader = Views(hotspot, subscribers)
        self.loader.refresh()
        gc.freeze()  # the loaded view is long-lived: keep it out of every later collection's scan
        self.handler = Handler(hotspot.view, radius.require_message_authenticator,
                               status_secret=status_secret(), status_sources=frozenset({radius.listen}),
                               bind=self._bind, ppp_view=subscribers.view)
        position = ReadPosition(f"radius-{self.instance or 0}", self.loader)
        self.threads: list[threading.Thread] = [
            AccountingLoop(self.acct_sock, self.handler, self.stopping, self.wake, tick=position.tick,
                           now=self.runtime.site_clock.decision_now),
            Publisher(f"radius-{self.instance or 0}", self.handler.counts, self.stopping)]
        if self.instance in (None, 0):
            self.threads.append(Enforcer(radius.sweep_interval, self.stopping, self.wake,
                                         clock=self.runtime.site_clock.decision_now))
        for thread in self.threads:
            thread.start()
        log.info("radius serving on %s auth %d acct %d (pid %d)", radius.listen, radius.auth_port, radius.acct_port,
                 os.getpid())

    def _bind(self, customer_id: int, mac: str, allowed: int, now: datetime) -> bool:
        """A device's first login takes a free slot of its account, in the store before the
        Accept goes out; this process's view knows at once."""
        taken = bindings.bind_at_login(customer_id, mac, allowed, now)
        if taken:
            self.handler.view.bound(customer_id, mac)
        return taken

    def install_signal_handlers(self) -> None:
        if not self.supervising:  # the supervisor installs its own
            super().install_signal_handlers()

    def serve(self) -> int:
        if self.supervising:
            path = str(self.config.path) if self.config.path else None
            return supervise({f"radius-{index}": role_command("radius", path, "--instance", str(index))
                              for index in range(self.config.radius.processes)})
        AuthLoop(self.auth_sock, self.handler, self.loader, self.stopping,
                 clock=self.runtime.site_clock.decision_now).run()
        return 0

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def close(self) -> None:
        if not self.supervising:
            self.stopping.set()
            self.wake.set()
            deadline = time.monotonic() + STOP_GRACE
            for thread in self.threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            self.auth_sock.close()
            self.acct_sock.close()
            self.handler.drops.flush()
            if self.handler.drops.counts:
                log.info("radius stopped; dropped packets: %s", dict(self.handler.drops.counts))
        super().close()
