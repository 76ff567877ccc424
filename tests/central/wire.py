"""Calling the receiver's WSGI app in-process with signed requests, as a site would."""

from __future__ import annotations

import io
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from wsgiref.util import setup_testing_defaults

from hotspotd.sync import protocol

T0 = datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)


def call(app, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None):
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    route, _, query = path.partition("?")
    environ.update(REQUEST_METHOD=method, PATH_INFO=route, QUERY_STRING=query, CONTENT_LENGTH=str(len(body)),
                   CONTENT_TYPE="application/json", **{"wsgi.input": io.BytesIO(body)})
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    status, response_headers = [], []
    chunks = app(environ, lambda s, h, e=None: (status.append(s), response_headers.extend(h)))
    raw = b"".join(chunks)
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = raw.decode()
    return int(status[0].split()[0]), dict(response_headers), answer


def events(first: int, count: int, *, type_: str = "session.started", start: datetime = T0) -> list[dict]:
    return [{"id": i, "type": type_, "at": (start + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
             "data": {"session_id": i, "username": f"u{i}"}} for i in range(first, first + count)]


def batch(evts: list[dict], *, outbox: str = "outbox-1", waiting_after: int = 0, status: dict | None = None,
          config_version: int = 0) -> bytes:
    return protocol.encode({"protocol": 1, "outbox": outbox, "sent_at": T0.isoformat(), "config_version": config_version,
                            "waiting_after": waiting_after, "status": status or {}, "events": evts})


def push(app, site: str, key: str, body: bytes, *, now: float | None = None, headers: dict | None = None):
    signed = protocol.signed_headers(key, site, "POST", protocol.EVENTS_PATH, body, time.time() if now is None else now)
    signed.update({"Content-Encoding": "gzip"}, **(headers or {}))
    return call(app, "POST", protocol.EVENTS_PATH, body, signed)


def pull(app, site: str, key: str, have: int, *, now: float | None = None):
    path = f"{protocol.CONFIG_PATH}?have={have}"
    signed = protocol.signed_headers(key, site, "GET", path, b"", time.time() if now is None else now)
    return call(app, "GET", path, b"", signed)
