"""Who may use the console, and what they may do: the guard every admin route passes.

The guard is a bottle plugin installed on the admin app, so it wraps every route of the
app, whichever module added it (routes added after it was installed too). Per request:

1. A login: the `hotspotd_admin` cookie names a login (`hotspotd.console.admins`), which ends
   after `[admin] session_idle` seconds unused or `session_max` in all. Without one, an
   API request (and `/ws`) gets 401 JSON; a page gets a redirect to `/login`.
2. Same origin: a request carrying an `Origin` header from another site is refused (403);
   `/ws` must carry one, and it must be ours.
3. CSRF: every request other than GET/HEAD/OPTIONS must carry the login's CSRF token in
   the `X-CSRF-Token` header (or a `csrf_token` form field); otherwise 403.
4. The role (see `hotspotd.web.admin` for how a route declares it): an operator asking for
   an admin-only route gets 403.
5. Changes per account: every change writes an audit entry, so an account (a stolen
   cookie, a runaway script) may make `CHANGES_AT_ONCE` at once and then one a second;
   past that 429 with Retry-After. The audit log grows by at most ~3,700 entries an hour
   per account, and no entry is ever dropped.

Passwords are checked off the event loop (`Hasher`): scrypt is slow on purpose, and on the
gevent loop 50 wrong logins at once would stall every page for seconds. Logins are
throttled per account and per address (`hotspotd.console.lockout`): slower after failures, locked
after `[admin] lockout_after` of them for `lockout_seconds`, each lock logged.
"""

from __future__ import annotations

import hmac
import logging
import math
from typing import Any, Callable
from urllib.parse import quote, urlsplit

import bottle

from hotspotd.console import admins, audit
from hotspotd.console.admins import AdminRole, Login
from hotspotd.config import Config
from hotspotd.console.lockout import Lockout
from hotspotd.plumbing.ratelimit import RateLimit
from hotspotd.store.db import utcnow

from ..jsonapi import answer

log = logging.getLogger(__name__)

COOKIE = "hotspotd_admin"
LOGIN_KEY = "hotspotd.login"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
JSON_PREFIXES = ("/api/", "/ws", "/metrics")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
AUDIT_SELF = "self"  # route config: the handler's core call writes its own audit entry
CHANGES_AT_ONCE = 60  # then one a second, per account (no person clicks faster)


class Hasher:
    """Runs `check(password, stored)` somewhere that does not stall the event loop.

    The admin role gives it gevent's thread pool (scrypt releases the GIL, so the loop
    keeps serving while a password is checked); tests and scripts run it inline."""

    def __init__(self, run: Callable[..., Any] | None = None) -> None:
        self._run = run

    def check(self, password: str, stored: str) -> bool:
        if self._run is None:
            return admins.check_password(password, stored)
        return self._run(admins.check_password, password, stored)

    @classmethod
    def thread_pool(cls, size: int = 2) -> Hasher:
        """Checks on `size` threads of a gevent pool (one core stays free for the pages)."""
        from gevent.threadpool import ThreadPool

        pool = ThreadPool(size)
        return cls(lambda fn, *args: pool.apply(fn, args))


def client_address(environ: dict[str, Any]) -> str:
    """The peer's address (never X-Forwarded-For: a LAN client could write anything there)."""
    return environ.get("REMOTE_ADDR") or "?"


def own_origin(environ: dict[str, Any]) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    return f"{scheme}://{environ.get('HTTP_HOST', '')}".lower()


def same_origin(environ: dict[str, Any], required: bool = False) -> bool:
    origin = environ.get("HTTP_ORIGIN")
    if not origin:
        return not required
    return origin.lower() == own_origin(environ)


class Guard:
    """The bottle plugin: login, origin, CSRF and role for every route of the app."""

    name = "admin_guard"
    api = 2

    def __init__(self, config: Config, clock: Callable[[], float] | None = None) -> None:
        self.config = config
        self.changes = RateLimit(rate=1.0, burst=CHANGES_AT_ONCE, max_keys=1000, **({"clock": clock} if clock else {}))

    def login(self, environ: dict[str, Any]) -> Login | None:
        """The login behind a request (looked up once per request)."""
        if LOGIN_KEY not in environ:
            cookies = bottle.BaseRequest(environ).cookies
            admin = self.config.admin
            environ[LOGIN_KEY] = admins.login_for(cookies.get(COOKIE), utcnow(), idle=admin.session_idle,
                                                  max_age=admin.session_max)
        return environ[LOGIN_KEY]

    def may_open_websocket(self, environ: dict[str, Any]) -> bool:
        """For the websocket upgrade, which happens before the app sees the request."""
        return same_origin(environ, required=True) and self.login(environ) is not None

    def scrape_token_ok(self, environ: dict[str, Any]) -> bool:
        token = self.config.admin.metrics_token
        given = environ.get("HTTP_AUTHORIZATION", "")
        return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    def refuse(self, status: int, message: str, headers: dict[str, str] | None = None) -> bottle.HTTPResponse:
        return bottle.HTTPResponse(answer(status, {"error": message}), status=status,
                                   headers={"Content-Type": "application/json", "Cache-Control": "no-store",
                                            **(headers or {})})

    def check(self, route: bottle.Route) -> Login | None:
        """Raise the refusal for this request, or return its login (None on open routes)."""
        environ = bottle.request.environ
        config = route.config
        if config.get("open"):
            return None
        login = self.login(environ)
        if login is None:
            if config.get("scrape") and self.scrape_token_ok(environ):
                return None
            path = bottle.request.path
            if bottle.request.method == "GET" and not path.startswith(JSON_PREFIXES):
                query = bottle.request.query_string  # a link's filters (/payments?method=c2b) survive the login
                where = path + ("?" + query if query else "")
                raise bottle.HTTPResponse(status=303, headers={"Location": "/login?next=" + quote(where)})
            raise self.refuse(401, "login required")
        method = bottle.request.method
        if not same_origin(environ, required=bottle.request.path == "/ws"):
            raise self.refuse(403, "cross-origin request refused")
        if method not in SAFE_METHODS:
            given = environ.get("HTTP_X_CSRF_TOKEN") or ""
            if not given and bottle.request.content_type.startswith(FORM_TYPES):
                given = bottle.request.forms.get("csrf_token") or ""
            if not hmac.compare_digest(given.encode(), login.csrf_token.encode()):
                raise self.refuse(403, "missing or wrong CSRF token (reload the page)")
        if required_role(route) == AdminRole.ADMIN and login.role != AdminRole.ADMIN:
            raise self.refuse(403, "only an admin may do this")
        if method not in SAFE_METHODS and not self.changes.allow(login.username):
            wait = max(1, math.ceil(self.changes.retry_after(login.username)))
            raise self.refuse(429, f"Too many changes at once: try again in {wait} s", {"Retry-After": str(wait)})
        return login

    def apply(self, callback: Callable[..., Any], route: bottle.Route) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            login = self.check(route)
            result = callback(*args, **kwargs)
            if (login is not None and bottle.request.method not in SAFE_METHODS
                    and route.config.get("audit") != AUDIT_SELF and bottle.response.status_code < 400):
                try:
                    audit.record_request(login.actor(client_address(bottle.request.environ)), bottle.request.method,
                                         route.rule, bottle.request.path, bottle.response.status_code, utcnow())
                except Exception:
                    log.exception("audit entry for %s %s not written", bottle.request.method, bottle.request.path)
            return result

        return guarded


def required_role(route: bottle.Route) -> AdminRole:
    """The role a route needs: its `role` config, else operator for reads, admin for changes."""
    declared = route.config.get("role")
    if declared:
        return AdminRole(declared)
    return AdminRole.OPERATOR if route.method in SAFE_METHODS else AdminRole.ADMIN


def current_login() -> Login:
    """The login of the request being handled (the guard let it through)."""
    login = bottle.request.environ.get(LOGIN_KEY)
    if login is None:
        raise RuntimeError("no login: this route is open, or the guard was skipped")
    return login


def actor() -> audit.Actor:
    return current_login().actor(client_address(bottle.request.environ))


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path on this site, nothing else."""
    value = value or "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


class LoginThrottle:
    """Per account and per address (`hotspotd.console.lockout`), with each lock logged."""

    def __init__(self, config: Config, clock: Callable[[], float] | None = None) -> None:
        admin = config.admin
        self.lockout = Lockout(lock_after=admin.lockout_after, lock_for=admin.lockout_seconds,
                               window=max(admin.lockout_seconds, 900.0), **({"clock": clock} if clock else {}))

    @staticmethod
    def keys(username: str, address: str) -> tuple[tuple[str, str], ...]:
        return ("account", (username or "").strip().lower()[:64]), ("address", address)

    def wait(self, username: str, address: str) -> float:
        return self.lockout.wait(self.keys(username, address))

    def failed(self, username: str, address: str) -> None:
        log.warning("console login failed for %r from %s", (username or "")[:64], address)
        for kind, value in self.lockout.failed(self.keys(username, address)):
            message = (f"console logins for {kind} {value!r} locked for {self.lockout.lock_for:.0f} s after "
                       f"{self.lockout.lock_after} failures")
            log.warning("%s", message)
            audit.security_note(message, utcnow(), source=address)

    def succeeded(self, username: str, address: str) -> None:
        self.lockout.succeeded(self.keys(username, address))
