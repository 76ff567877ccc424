"""Small tools for tests that talk over loopback: free ports, waiting on a condition with a
generous deadline instead of a fixed sleep, and small HTTP servers that stand in for
Daraja, a site, a webhook or a router's login page."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing on 127.0.0.1 listens on right now (TCP by default, or SOCK_DGRAM)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition", interval: float = 0.05):
    """Poll `condition()` until it is truthy and return it; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # not ready yet
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}"
                         + (f" (last error: {last_error})" if last_error else ""))


class QuietHandler(BaseHTTPRequestHandler):
    """A test server's request handler: logs nothing, reads the body, answers with `reply`."""

    def log_message(self, *args: Any) -> None:
        pass

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, body: Any, status: int = 200, content_type: str = "application/json") -> None:
        """`body` as sent when bytes, else as JSON."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


class Served:
    """`handler` answering on 127.0.0.1 (over TLS with `tls`), from a threading HTTP server
    in a thread of its own; `url` reaches it, `close()` stops it."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, tls: ssl.SSLContext | None = None,
                 server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer) -> None:
        self.server = server_class(("127.0.0.1", 0), handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Inbox(Served):
    """A receiver for what a simulator POSTs (confirmations, results, delivery reports):
    records each request as (path, headers, body bytes) and answers `answer` as JSON."""

    def __init__(self, answer: Any = None) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.changed = threading.Condition()
        owner = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.body()
                with owner.changed:
                    owner.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    owner.changed.notify_all()
                self.reply(answer if answer is not None else {"ResultCode": 0, "ResultDesc": "Accepted"})

        super().__init__(Handler)

    def wait(self, n: int, timeout: float = 10.0) -> list[tuple[str, dict[str, str], bytes]]:
        """At least `n` requests (all of them), waiting up to `timeout` seconds."""
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.requests) >= n, timeout), \
                f"{len(self.requests)} request(s) within {timeout} s, expected {n}"
            return list(self.requests)
