"""The box's HTTP client for the central receiver: signed pushes and pulls (docs/sync.md).

Every failure, a refusal, a 5xx, a dropped connection or no answer in time, is an
UpstreamError with a sentence the operator can act on; the caller keeps its cursor.
A configuration answer must carry the receiver's signature over this pull's nonce and
its exact bytes: an unsigned, altered or replayed answer is refused before anything in
it is read. A plain-HTTP central is refused unless `[central] allow_insecure` says yes.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from ..config import INSECURE_CENTRAL
from ..errors import ConfigError, UpstreamError
from ..plumbing.httpclient import RequestException, Session, Timeout
from . import protocol


class CentralClient:
    def __init__(self, url: str, site_id: str, site_key: str, *, timeout: float = 30.0,
                 clock: Callable[[], float] = time.time, allow_insecure: bool = False) -> None:
        self.url = url.rstrip("/")
        self.site_id = site_id
        self.site_key = site_key
        self.timeout = timeout
        self.clock = clock
        self.allow_insecure = allow_insecure
        self._session = Session()

    def _send(self, method: str, path: str, body: bytes = b"", extra: dict[str, str] | None = None,
              *, signed_answer: bool = False) -> dict[str, Any]:
        if self.url.lower().startswith("http://") and not self.allow_insecure:
            raise ConfigError(INSECURE_CENTRAL)
        headers = protocol.signed_headers(self.site_key, self.site_id, method, path, body, self.clock())
        headers.update(extra or {})
        try:
            response = self._session.request(method, self.url + path, data=body or None, headers=headers,
                                             timeout=(min(10.0, self.timeout), self.timeout))
        except Timeout:
            raise UpstreamError(f"central server did not answer within {self.timeout:.0f} s") from None
        except RequestException as exc:
            raise UpstreamError(f"central server unreachable: {exc}") from None
        if signed_answer and response.status_code == 200 and not protocol.answer_signed(
                self.site_key, method, path, self.site_id, headers[protocol.NONCE_HEADER], response.content,
                response.headers.get(protocol.SIGNATURE_HEADER)):
            raise UpstreamError("central server's answer is not signed for this request (altered on the way, "
                                "replayed, or not from the receiver: check [central] url); nothing was applied",
                                code="signature")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code != 200 or not isinstance(answer, dict):
            detail = answer.get("error") if isinstance(answer, dict) else response.text[:200].strip()
            raise UpstreamError(f"central server answered {response.status_code}: {detail or response.reason}",
                                code=str(response.status_code), retryable=response.status_code >= 500)
        return answer

    def push(self, body: bytes) -> dict[str, Any]:
        """POST one gzip batch; the receiver's acknowledgement."""
        answer = self._send("POST", protocol.EVENTS_PATH, body,
                            {"Content-Type": "application/json", "Content-Encoding": "gzip"})
        if not isinstance(answer.get("acknowledged"), int):
            raise UpstreamError(f"central server sent no acknowledgement: {json.dumps(answer)[:200]}")
        return answer

    def pull(self, have: int) -> dict[str, Any]:
        """The configuration changes after version `have`."""
        answer = self._send("GET", f"{protocol.CONFIG_PATH}?have={int(have)}", signed_answer=True)
        if not isinstance(answer.get("changes"), list):
            raise UpstreamError("central server sent no configuration changes")
        return answer

    def close(self) -> None:
        self._session.close()
