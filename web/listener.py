"""The portal's HTTP listener: waitress, made so that one client cannot shut everyone out.

Measured before this: 520 connections each holding an unfinished request filled
waitress's connection limit, and the portal (the Daraja callback route with it) answered
nothing until they timed out, about a minute later. Waitress hands a request to a thread
only once it is complete, so slow clients cost connections, not threads. Three bounds:

- per address: one client address may hold `per_address` connections; more are closed
  as soon as they are accepted;
- a deadline for unfinished requests: a request (headers and body) must arrive whole
  within `request_timeout` seconds of its first byte, and a new connection must start
  one within that time, or the connection is closed (checked every second; idle
  keep-alive connections are closed after `channel_timeout`);
- room when full: at the connection limit, instead of refusing everyone, the
  connections that have waited longest without a whole request (or idled longest) are
  closed to make room, a tenth of the limit at a time. A request being served is never cut.

Daraja's callbacks can also have a listener of their own (`[portal] callback_listen`,
served by `web.portal.PortalRole`), with its own connections and threads.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

log = logging.getLogger(__name__)

MAINTENANCE_EVERY = 1.0  # seconds between deadline checks


class GuardedChannel(HTTPChannel):
    """A connection that knows since when it has held the server without a request to serve."""

    request_started: float | None = None  # the first byte of the unfinished request
    served = False  # a whole request has arrived on it before
    counted = False

    def received(self, data: bytes) -> bool:
        result = super().received(data)
        if self.requests:
            self.served = True
        if self.request is None:
            self.request_started = None
        elif self.request_started is None:
            self.request_started = self.last_activity
        return result

    def serving(self) -> bool:
        return bool(self.requests or self.total_outbufs_len or self.will_close)

    def unfinished_since(self) -> float | None:
        """Since when its request has been arriving: from the connection's start for the
        first request, from its first byte for later ones; None when idle or serving."""
        if self.serving():
            return None
        return self.creation_time if not self.served else self.request_started

    def waiting_since(self) -> float | None:
        """Since when it holds a connection without a request to serve (unfinished or idle)."""
        if self.serving():
            return None
        since = self.unfinished_since()
        return self.last_activity if since is None else since

    def del_channel(self, map: Any = None) -> None:
        if self.counted:
            self.counted = False
            self.server.forget(self.addr)
        super().del_channel(map)


class GuardedServer(TcpWSGIServer):
    """waitress's TCP server with the three bounds of this module."""

    channel_class = GuardedChannel

    def __init__(self, application: Any, *, per_address: int, request_timeout: float, name: str = "portal",
                 **adjustments: Any) -> None:
        self.per_address = per_address
        self.request_timeout = request_timeout
        self.name = name
        self.by_address: Counter[str] = Counter()
        self.refused = self.evicted = self.timed_out = 0
        self._quiet_until = 0.0
        adjustments.setdefault("cleanup_interval", MAINTENANCE_EVERY)
        adj = Adjustments(**adjustments)
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(adj.threads)
        super().__init__(application, map={}, dispatcher=dispatcher, adj=adj)

    def forget(self, addr: Any) -> None:
        host = _host(addr)
        self.by_address[host] -= 1
        if self.by_address[host] <= 0:
            del self.by_address[host]

    def handle_accept(self) -> None:
        try:
            accepted = self.accept()
            if accepted is None:
                return
            conn, addr = accepted
            self.set_socket_options(conn)
        except OSError:
            return
        host = _host(addr)
        if self.by_address[host] >= self.per_address:
            self.refused += 1
            if self.refused in (1, 10, 100) or self.refused % 1000 == 0:
                log.warning("%s: %s holds %d connections; refused %d so far", self.name, host,
                            self.by_address[host], self.refused)
            conn.close()
            return
        self.by_address[host] += 1
        channel = self.channel_class(self, conn, addr, self.adj, map=self._map)
        channel.counted = True

    def make_room(self) -> None:
        """When full, close the connections that waited longest without a request to serve,
        a tenth of the limit at a time. Called between poll rounds: a socket closed during
        one could hand its number, and its stale events, to a connection accepted after."""
        if not self.accepting or len(self._map) < self.adj.connection_limit:
            return
        count = max(1, self.adj.connection_limit // 10)
        waiting = sorted((since, id(channel), channel) for channel in list(self.active_channels.values())
                         if (since := channel.waiting_since()) is not None)
        for _, _, channel in waiting[:count]:
            self.evicted += 1
            channel.handle_close()
        now = time.monotonic()
        if waiting and now >= self._quiet_until:  # at most one line every 10 s under attack
            self._quiet_until = now + 10
            log.warning("%s: connection limit reached; closed %d waiting connections so far",
                        self.name, self.evicted)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle keep-alive connections (channel_timeout)
        cutoff = now - self.request_timeout
        for channel in list(self.active_channels.values()):
            since = channel.unfinished_since()
            if since is not None and since < cutoff:
                self.timed_out += 1
                channel.will_close = True


def _host(addr: Any) -> str:
    return addr[0] if isinstance(addr, tuple) else str(addr)


def serve_once(server: GuardedServer, timeout: float = 1.0) -> None:
    """One pass of the server's event loop (the role's serving loop calls it)."""
    server.make_room()
    server.asyncore.loop(timeout=timeout, map=server._map, use_poll=True, count=1)


def wake(server: GuardedServer) -> None:
    server.trigger.pull_trigger()

