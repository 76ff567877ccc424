"""The simulator's HTTP front (stdlib http.server): parse, ask `DarajaSimulator.handle()`, answer."""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler
from typing import Any

from .wire import MAX_BODY, bad, error

log = logging.getLogger(__name__)


class Handler(BaseHTTPRequestHandler):
    """Reads the request, asks the simulator, writes JSON back; never lets an error escape."""

    server_version = "DarajaSimulator/1"

    def _serve(self) -> None:
        method = self.command
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 <= length <= MAX_BODY:
                raise ValueError(length)
        except ValueError:
            self._reply(*bad("Content-Length"))
            return
        try:
            body = self.rfile.read(length)
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, answer = self.server.sim.handle(method, self.path, headers, body)  # type: ignore[attr-defined]
        except Exception:
            log.exception("Daraja simulator failed on %s %s", method, self.path)
            status, answer = error(500, "500.003.1001", "Internal Server Error")
        self._reply(status, answer)

    def _reply(self, status: int, answer: Any) -> None:
        data = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (for example after its own timeout)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)
