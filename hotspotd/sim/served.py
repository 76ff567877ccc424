"""What every HTTP simulator shares: serving on 127.0.0.1 in a thread of its own, start and
stop (as a context manager too), and work scheduled for later (callbacks, results, delivery
reports) that `stop()` cancels. The HTTP handler only parses and answers; the subclass's
`handle()` decides."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

log = logging.getLogger(__name__)


class ServedSimulator:
    """Subclasses set `handler` (a request handler that finds them as `self.server.sim`)
    and `name`, and call `_serve_on(host, port)` in their constructor."""

    handler: type[BaseHTTPRequestHandler]
    name = "simulator"

    def _serve_on(self, host: str, port: int) -> None:
        self.host, self.port, self.url = host, port, ""
        self._lock = threading.Condition()
        self._timers: list[threading.Timer] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Any:
        """Bind, serve in a background thread, set `url`; returns self."""
        self._stopping.clear()
        self._server = ThreadingHTTPServer((self.host, self.port), self.handler)
        self._server.sim = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name=self.name,
                                        daemon=True)
        self._thread.start()
        log.info("%s listening on %s", self.name, self.url)
        return self

    def stop(self) -> None:
        """Stop serving and cancel what was scheduled and not yet done; safe to call twice."""
        self._stopping.set()
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _later(self, delay: float, work: Callable[..., None], *args: Any) -> None:
        """Run `work(*args)` on a timer thread after `delay` seconds, unless stopped first."""
        timer = threading.Timer(delay, work, args=args)
        timer.daemon = True
        with self._lock:
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()
