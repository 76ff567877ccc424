"""The box's HTTP client for its three calls out: Daraja, the central receiver, alert channels.

The standard library's `http.client` with a few kept-alive connections per host. It does
what those calls need from `requests` (JSON bodies, Basic auth, connect and read timeouts,
certificate checks, connections reused between threads) at about a third of its memory:
`requests` and `urllib3` add ~15 MB to every process that loads them, this ~5 MB, most of
it `ssl`, which `http.client` loads in any case. What it leaves out on purpose: redirects (an answer 3xx is an answer),
proxies from the environment, cookies and compressed answers (it asks for none).

    with Session() as session:
        answer = session.post("https://api.example/x", json={"a": 1}, timeout=10)
        answer.status_code, answer.json()
"""

from __future__ import annotations

import base64
import json as jsonlib
import select
import socket
import ssl
import threading
from http.client import HTTPConnection, HTTPException, HTTPResponse, HTTPSConnection
from typing import Any, Mapping
from urllib.parse import urlsplit

from .. import __version__

USER_AGENT = f"hotspotd/{__version__}"
MAX_BODY = 8 * 1024 * 1024  # an answer bigger than this is not one of ours
KEEP_PER_HOST = 4  # idle connections kept for each host

_ssl_context: ssl.SSLContext | None = None
_ssl_lock = threading.Lock()


class RequestException(Exception):
    """The request got no usable answer: the server could not be reached, or broke off."""


class Timeout(RequestException):
    """No answer (or no connection) within the timeout."""


class Response:
    __slots__ = ("status_code", "reason", "headers", "content")

    def __init__(self, status_code: int, reason: str, headers: Mapping[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.reason = reason
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return jsonlib.loads(self.content)


def _context() -> ssl.SSLContext:
    """One context for the process, made at the first HTTPS call (it reads the CA store)."""
    global _ssl_context
    with _ssl_lock:
        if _ssl_context is None:
            _ssl_context = ssl.create_default_context()
        return _ssl_context


def _dropped(conn: HTTPConnection) -> bool:
    """An idle kept connection the server has closed (or sent something unasked on)."""
    if conn.sock is None:
        return True
    try:
        readable, _, _ = select.select([conn.sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class Session:
    """Requests over kept-alive connections; safe to share between threads and greenlets."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], list[HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Response:
        return self.request("POST", url, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | tuple[float, float] = 30.0,
    ) -> Response:
        """Send one request and read the whole answer (any status is an answer).

        `timeout` is seconds, or (connect, read). Raises Timeout or RequestException when
        there is no answer. Only a GET is sent again, once, when a kept connection turns
        out to have been closed by the server: a POST may have been acted on.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RequestException("not an http(s) URL")  # never the URL: it may hold a token
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise RequestException("a bad port in the URL") from None
        key = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connect_timeout, read_timeout = timeout if isinstance(timeout, tuple) else (timeout, timeout)

        sent = {"User-Agent": USER_AGENT, "Accept": "application/json, */*", "Accept-Encoding": "identity"}
        if json is not None:
            data = jsonlib.dumps(json).encode()
            sent["Content-Type"] = "application/json"
        if auth is not None:
            sent["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        sent.update(headers or {})
        if data is None and method in ("POST", "PUT", "PATCH"):
            data = b""  # a Content-Length: 0, as servers expect on an empty POST

        for attempt in (1, 2):
            conn, reused = self._take(key, connect_timeout)
            try:
                conn.sock.settimeout(read_timeout)
                conn.request(method, target, body=data, headers=sent)
                answer = conn.getresponse()
                content = _read(answer)
            except (socket.timeout, TimeoutError):
                conn.close()
                raise Timeout(f"no answer from {parts.hostname} within {read_timeout:g} s") from None
            except (OSError, HTTPException) as exc:
                conn.close()
                if reused and method == "GET" and attempt == 1:
                    continue
                raise RequestException(type(exc).__name__) from None
            if answer.will_close or not answer.isclosed():
                conn.close()
            else:
                self._give(key, conn)
            return Response(answer.status, answer.reason, answer.headers, content)
        raise AssertionError("unreachable")

    def _take(self, key: tuple[str, str, int], connect_timeout: float) -> tuple[HTTPConnection, bool]:
        """A kept connection to `key` that is still open, or a new one."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                conn = idle.pop() if idle else None
            if conn is None:
                break
            if not _dropped(conn):
                return conn, True
            conn.close()
        scheme, host, port = key
        if scheme == "https":
            conn = HTTPSConnection(host, port, timeout=connect_timeout, context=_context())
        else:
            conn = HTTPConnection(host, port, timeout=connect_timeout)
        try:
            conn.connect()
        except (socket.timeout, TimeoutError):
            conn.close()
            raise Timeout(f"could not connect to {host} within {connect_timeout:g} s") from None
        except OSError as exc:  # refused, unreachable, no such name, a bad certificate
            conn.close()
            raise RequestException(type(exc).__name__) from None
        return conn, False

    def _give(self, key: tuple[str, str, int], conn: HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if not self._closed and len(idle) < KEEP_PER_HOST:
                idle.append(conn)
                return
        conn.close()


def _read(answer: HTTPResponse) -> bytes:
    content = answer.read(MAX_BODY + 1)
    if len(content) > MAX_BODY:
        raise HTTPException(f"an answer over {MAX_BODY} bytes")
    return content
