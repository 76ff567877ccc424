"""A Daraja that knows nothing but the published samples, for the contract tests: OAuth
gives a token; every POST is kept in `requests` ({"path", "body"}) and answered with what
`answer(path, body)` returns (a JSON-able sample)."""

from __future__ import annotations

import json
from typing import Any, Callable

from ..loopback import QuietHandler, Served


class PublishedDaraja(Served):
    def __init__(self, answer: Callable[[str, dict], Any]) -> None:
        self.requests: list[dict] = []
        owner = self

        class Handler(QuietHandler):
            def do_GET(self):
                self.reply({"access_token": "published-token", "expires_in": "3599"})

            def do_POST(self):
                body = json.loads(self.body())
                owner.requests.append({"path": self.path, "body": body})
                self.reply(answer(self.path, body))

        super().__init__(Handler)

    def bodies(self, path_end: str) -> list[dict]:
        """The bodies POSTed to paths ending in `path_end`, in order."""
        return [r["body"] for r in self.requests if r["path"].endswith(path_end)]
