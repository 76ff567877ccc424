"""The `radius` role: authentication and accounting over UDP, and enforcement.

One process serves Access-Requests on its main thread from the in-memory access view,
accounting on a second thread (group commits), and, in the first process only, the
enforcement sweep and Disconnect-Requests on a third. `[radius] processes = N` forks N
such processes that bind the same ports with SO_REUSEPORT; the kernel spreads routers'
source ports across them. SIGTERM or SIGINT stops everything within a few seconds.

    python -m hotspotd.radius.server --config /etc/hotspotd/hotspotd.ini
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import select
import signal
import socket
import sys
import threading
import time

from hotspotd import config as config_mod
from hotspotd.access import AccessView, ViewLoader
from hotspotd.config import Config
from hotspotd.errors import HotspotdError
from hotspotd.store import open_store
from hotspotd.store.db import db, utcnow

from .accounting import RECV_BUFFER, AccountingLoop, source_ip
from .handler import Handler
from .sweep import Enforcer

log = logging.getLogger(__name__)

AUTH_BATCH = 64
REFRESH_INTERVAL = 1.0  # seconds between looks at the store for changes to the access view
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


class AuthLoop:
    """Answers Access-Requests until `stop` is set; refreshes the view between batches."""

    def __init__(self, sock: socket.socket, handler: Handler, loader: ViewLoader, stop: threading.Event) -> None:
        self.sock = sock
        self.handler = handler
        self.loader = loader
        self.stop = stop

    def run(self) -> None:
        sock, access, next_refresh = self.sock, self.handler.access, time.monotonic() + REFRESH_INTERVAL
        while not self.stop.is_set():
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable:
                now = utcnow()
                for _ in range(AUTH_BATCH):
                    try:
                        data, address = sock.recvfrom(RECV_BUFFER)
                    except (BlockingIOError, InterruptedError):
                        break
                    try:
                        reply = access(data, source_ip(address), now)
                        if reply is not None:
                            sock.sendto(reply, address)
                    except Exception:  # nothing a client sends may stop the loop
                        log.exception("Access-Request from %s not answered", address[0])
            if time.monotonic() >= next_refresh:
                next_refresh = time.monotonic() + REFRESH_INTERVAL
                try:
                    self.loader.refresh()
                except Exception:
                    log.exception("access view refresh failed; serving the last view")


def serve(config: Config, enforce: bool = True, reuse_port: bool = False) -> int:
    """One RADIUS process: bind, load the view, serve until SIGTERM/SIGINT; return 0."""
    stop, wake = threading.Event(), threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    radius = config.radius
    auth_sock = bind(radius.listen, radius.auth_port, reuse_port)
    acct_sock = bind(radius.listen, radius.acct_port, reuse_port)
    open_store(config)
    loader = ViewLoader(AccessView(interim_interval=radius.interim_interval))
    loader.refresh()
    gc.freeze()  # the loaded view is long-lived: keep it out of every later collection's scan
    handler = Handler(loader.view, radius.require_message_authenticator)
    threads: list[threading.Thread] = [AccountingLoop(acct_sock, handler, stop, wake)]
    if enforce:
        threads.append(Enforcer(radius.sweep_interval, stop, wake))
    for thread in threads:
        thread.start()
    log.info("radius serving on %s auth %d acct %d (pid %d)", radius.listen, radius.auth_port, radius.acct_port,
             os.getpid())
    try:
        AuthLoop(auth_sock, handler, loader, stop).run()
    finally:
        stop.set()
        wake.set()
        deadline = time.monotonic() + STOP_GRACE
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        auth_sock.close()
        acct_sock.close()
        db.close()
        if handler.drops.counts:
            log.info("radius stopped; dropped packets: %s", dict(handler.drops.counts))
    return 0


def run(config: Config) -> int:
    """The `radius` role entry point (`hotspotd run --role radius`)."""
    open_store(config)  # fail here, once, if the database is missing or not migrated
    db.close()
    count = config.radius.processes
    if count == 1:
        return serve(config)
    return _supervise(config, count)


def _supervise(config: Config, count: int) -> int:
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    children = []
    for index in range(count):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = serve(config, enforce=index == 0, reuse_port=True)
            except BaseException:
                log.exception("radius process %d failed", index)
            finally:
                logging.shutdown()
                os._exit(code)
        children.append(pid)
    code = 0
    while children and not stopping.is_set():
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid:
            children.remove(pid)
            log.error("radius process %d exited (status %d); stopping the others", pid, status)
            code = 1
            break
        stopping.wait(0.2)
    for pid in children:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while children and time.monotonic() < deadline:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid:
            children.remove(pid)
            if os.waitstatus_to_exitcode(status) != 0:
                code = 1
        else:
            time.sleep(0.05)
    for pid in children:
        _signal(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return code


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotspotd.radius.server", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="config file (default: $HOTSPOTD_CONFIG)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    try:
        return run(config_mod.load(args.config))
    except HotspotdError as exc:
        print(f"hotspotd radius: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
