"""A real HTTP server on loopback standing in for an alert webhook and for the Telegram Bot API.

It records every POST and answers as the real ones do: the webhook with 200, Telegram's
`sendMessage` with `{"ok": true, "result": {...}}` for the right token and a Bot API error
otherwise. `fail(channel, times, status)` makes the next answers errors."""

from __future__ import annotations

import json
import threading
from typing import Any

from .loopback import QuietHandler, Served

TOKEN = "123456:TEST-telegram-token-abcdef"
CHAT = "-1001234567890"


class Receiver(Served):
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, list[int]] = {"webhook": [], "telegram": []}
        self._lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = json.loads(self.body() or b"{}")
                channel = "telegram" if self.path.startswith("/bot") else "webhook"
                status, answer = receiver.answer(channel, self.path, body)
                self.reply(answer, status)

        super().__init__(Handler)

    def answer(self, channel: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self.failures[channel]:
                status = self.failures[channel].pop(0)
                return status, {"ok": False, "error_code": status, "description": "Too Many Requests: retry after 5"}
            if channel == "telegram":
                if path != f"/bot{self.token}/sendMessage":
                    return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                if not body.get("chat_id") or not body.get("text"):
                    return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
            self.received.append((channel, body))
            count = len(self.received)
        if channel == "telegram":
            return 200, {"ok": True, "result": {"message_id": count, "chat": {"id": body["chat_id"]},
                                                "text": body["text"]}}
        return 200, {"received": True}

    def fail(self, channel: str, times: int = 1, status: int = 500) -> None:
        with self._lock:
            self.failures[channel] += [status] * times

    def got(self, channel: str) -> list[dict[str, Any]]:
        with self._lock:
            return [body for name, body in self.received if name == channel]
