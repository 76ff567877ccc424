"""The accounting socket: group commits, then Accounting-Responses.

Every datagram already waiting is read (up to `BATCH`), validated, and the whole batch is
written in one transaction; replies go out only after the commit returns, so the router
never hears "recorded" for something a power cut could lose. A retransmission that
arrives in the same batch, or later, changes nothing (see `hotspotd.sessions`).
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from datetime import datetime
from typing import Callable

import peewee

from hotspotd.sessions import apply_accounting
from hotspotd.store.db import db, utcnow

from .handler import Handler

log = logging.getLogger(__name__)

BATCH = 256
RECV_BUFFER = 8192  # larger than any valid packet, so oversized ones are seen whole and dropped


def source_ip(address: tuple) -> str:
    host = address[0]
    return host[7:] if host.startswith("::ffff:") else host


class AccountingLoop(threading.Thread):
    """Serves `sock` until `stop` is set; sets `wake` when a session must be cut off."""

    def __init__(self, sock: socket.socket, handler: Handler, stop: threading.Event, wake: threading.Event,
                 tick: Callable[[], None] | None = None, now: Callable[[], datetime] = utcnow) -> None:
        super().__init__(name="radius-accounting", daemon=True)
        self.sock = sock
        self.handler = handler
        self.stop = stop
        self.wake = wake
        self.tick = tick  # small bookkeeping that may write the store, never on the auth thread
        self.now = now  # the time periods are judged by (the site clock's `decision_now`)

    def run(self) -> None:
        self.sock.setblocking(False)
        while not self.stop.is_set():
            readable, _, _ = select.select([self.sock], [], [], 0.25)
            if readable:
                try:
                    self.serve_batch()
                except Exception:
                    log.exception("accounting batch failed; the routers will retransmit")
            if self.tick is not None:
                self.tick()
        db.close()

    def serve_batch(self) -> int:
        """Read what is waiting, commit it, answer it; return the number answered."""
        batch = []
        for _ in range(BATCH):
            try:
                data, address = self.sock.recvfrom(RECV_BUFFER)
            except (BlockingIOError, InterruptedError):
                break
            valid = self.handler.accounting(data, source_ip(address))
            if valid is not None:
                batch.append((valid, address))
        if not batch:
            return 0
        try:
            done, disconnect = apply_accounting([record for (_, _, record), _ in batch], self.now())
        except peewee.OperationalError as exc:  # e.g. locked past busy_timeout: no answer, router retries
            log.warning("accounting batch of %d not recorded: %s", len(batch), exc)
            return 0
        answered = 0
        for ((packet, router, _), address), ok in zip(batch, done):
            if ok:
                try:
                    self.sock.sendto(self.handler.accounting_reply(packet, router), address)
                    answered += 1
                except OSError as exc:
                    log.warning("Accounting-Response to %s not sent: %s", address[0], exc)
        if disconnect:
            self.wake.set()
        return answered

