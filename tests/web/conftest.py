"""The console app in-process: a WSGI client that keeps cookies, and two accounts."""

from __future__ import annotations

import io
import json
from http.cookies import SimpleCookie
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from hotspotd.console.admins import add_admin
from hotspotd.console.actions import Console
from hotspotd.store.db import utcnow
from hotspotd.web import admin
from hotspotd.web.admin.auth import LoginThrottle

from ..clock import FakeClock

ADMIN = ("boss", "correct horse battery")
OPERATOR = ("clerk", "staple paper clip")


class Client:
    """Calls a WSGI app as a browser on the same site would (cookies kept, Origin sent)."""

    def __init__(self, app, address: str = "192.0.2.10") -> None:
        self.app = app
        self.address = address
        self.cookies: dict[str, str] = {}
        self.csrf: str | None = None

    def call(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
             form: dict[str, str] | None = None, csrf: bool = True) -> tuple[int, dict[str, str], bytes]:
        if form is not None:
            from urllib.parse import urlencode
            raw, ctype = urlencode(form).encode(), "application/x-www-form-urlencoded"
        else:
            raw, ctype = (b"" if body is None else json.dumps(body).encode()), "application/json"
        path, _, query = path.partition("?")
        environ: dict[str, Any] = {}
        setup_testing_defaults(environ)
        environ.update({"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
                        "CONTENT_LENGTH": str(len(raw)), "CONTENT_TYPE": ctype, "wsgi.input": io.BytesIO(raw),
                        "REMOTE_ADDR": self.address, "HTTP_HOST": "127.0.0.1"})
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method not in ("GET", "HEAD"):
            environ["HTTP_ORIGIN"] = "http://127.0.0.1"
            if csrf and self.csrf:
                environ["HTTP_X_CSRF_TOKEN"] = self.csrf
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        status, out_headers = [], []
        chunks = self.app(environ, lambda s, h, e=None: (status.append(s), out_headers.extend(h)))
        data = b"".join(chunks)
        for name, value in out_headers:
            if name.lower() == "set-cookie":
                cookie = SimpleCookie(value)
                for key, morsel in cookie.items():
                    if morsel["max-age"] == "0" or morsel.value == "":
                        self.cookies.pop(key, None)
                    else:
                        self.cookies[key] = morsel.value
        return int(status[0].split()[0]), {k: v for k, v in out_headers if k.lower() != "set-cookie"} | {
            "Set-Cookie": [v for k, v in out_headers if k.lower() == "set-cookie"]}, data

    def json(self, method: str, path: str, body: Any = None, **kwargs) -> tuple[int, Any]:
        status, _, data = self.call(method, path, body, **kwargs)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data.decode(errors="replace")

    def login(self, username: str, password: str) -> int:
        status, body = self.json("POST", "/login", {"username": username, "password": password})
        if status == 200:
            self.csrf = body["csrf_token"]
        return status


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def accounts(store):
    add_admin(*ADMIN, utcnow(), role="admin")
    add_admin(*OPERATOR, utcnow(), role="operator")


@pytest.fixture
def console(runtime):
    return Console(runtime)


@pytest.fixture
def app(config, console, accounts, clock):
    return admin.make_app(config, console, throttle=LoginThrottle(config, clock=clock), extensions=[])


@pytest.fixture
def boss(app):
    client = Client(app)
    assert client.login(*ADMIN) == 200
    return client


@pytest.fixture
def clerk(app):
    client = Client(app, address="192.0.2.11")
    assert client.login(*OPERATOR) == 200
    return client
