"""The admin role: the operator's console (gevent + websocket), its JSON API and /metrics.

gevent's monkey-patching happens before anything else runs in this process (the command
line does it when it starts the admin role), and nowhere else: no other role is patched.

    auth.py     the guard every route passes: login, same origin, CSRF, role
    login.py    /login, /logout, /api/admin/me
    api.py      dashboard, charts, payments, events (/api/admin/...)
    catalog.py  packages and vouchers (print sheet, CSV)
    people.py   customers, who is online, console accounts
    system.py   queue, health log, alerts, settings, audit log
    money.py    Paybill reconciliation (Pull), the SMS outbox and its texts
    routers.py  /api/admin/routers... (JSON; the .rsc script as text)
    subscribers.py  /api/admin/subscribers... (home subscribers over PPPoE)
    sync.py     /api/admin/sync (central sync status)
    live.py     /ws (events as they happen)
    metrics.py  /metrics (Prometheus text)

Who may use a route
-------------------
Every route of the app passes the guard (`auth.Guard`, a bottle plugin): a module that
adds routes with `install(app)` gets login, CSRF and role checks without doing anything.
A route says who may use it in its route config, where it is defined:

    @app.get("/api/admin/things")                       # reads: operators and admins
    @app.post("/api/admin/things")                      # changes: admins only
    @app.post("/api/admin/things/<id>/sell", role="operator")   # a change operators may make
    @app.get("/api/admin/things/<id>/secret", role="admin")     # a read only admins may make

An `operator` sells, looks up, kicks and makes vouchers; packages, routers, accounts and
settings are the `admin`'s. Every successful change is written to the audit log
(`admin.action` events): by the guard, naming the route, unless the route says
`audit="self"` because its core call writes a richer entry itself. `open=True` is for
the few routes used before a login (the login page, /healthz, static files).
`ROLES_BY_RULE` below sets the role of routes added by modules that do not declare one.
"""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace
from typing import Any, Iterable

import bottle

from hotspotd.config import Config
from hotspotd.console.actions import Console
from hotspotd.plumbing.event_feed import EventFeed
from hotspotd.plumbing.role import Role
from hotspotd.store import release
from hotspotd.store.db import ping

from .. import jsonapi
from . import api, catalog, live, login, money, people, routers, subscribers, sync, system
from .auth import Guard, Hasher, LoginThrottle

log = logging.getLogger(__name__)

# Routes of the router and sync modules whose role is not the default one (the parameters' names do not
# matter: "<id>" and "<id:int>" are the same here).
ROLES_BY_RULE = {
    ("POST", "/api/admin/sessions/<>/kick"): "operator",  # operators may kick
    ("GET", "/api/admin/routers/<>/script"): "admin",  # the script holds the RADIUS secret
}

PAGES = ("/", "/payments", "/payments/<id:int>", "/customers", "/customers/<id:int>", "/packages", "/vouchers",
         "/vouchers/<batch>", "/routers", "/online", "/system", "/settings", "/audit", "/sms", "/subscribers",
         "/subscribers/<id:int>")

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
                                "object-src 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make Chromium send "Origin: null" on the login form
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _shape(rule: str) -> str:
    return re.sub(r"<[^>]*>", "<>", rule)


def default_extensions(config: Config, console: Console) -> list[Any]:
    """The routes other parts of hotspotd add to the console (routers, central sync), each
    an object with `install(app)`; tests hand in stand-ins instead."""
    from hotspotd.pppoe.console import SubscriberConsole
    from hotspotd.router.console import RouterConsole

    return [SimpleNamespace(install=lambda app: routers.install(app, RouterConsole(console.rt))),
            SimpleNamespace(install=lambda app: subscribers.install(app, SubscriberConsole(console.rt))),
            SimpleNamespace(install=lambda app: sync.install(app, config))]


def make_app(config: Config, console: Console, *, hasher: Hasher | None = None, hub: live.Hub | None = None,
             throttle: LoginThrottle | None = None, extensions: Iterable[Any] | None = None) -> bottle.Bottle:
    """The console app. `extensions`: objects with `install(app)` (default: `default_extensions`)."""
    app = bottle.Bottle()
    guard = Guard(config)
    app.install(guard)
    app.config["hotspotd.guard"] = guard
    jsonapi.install_common_routes(app)
    for route in app.routes:  # favicon and static files are needed before a login
        route.config["open"] = True

    @app.hook("after_request")
    def _headers() -> None:
        for name, value in SECURITY_HEADERS.items():
            bottle.response.set_header(name, value)
        if bottle.request.path != "/ws":
            release()

    @app.get("/healthz", open=True)
    @jsonapi.api
    def healthz() -> dict[str, Any]:
        ping()
        return {"status": "ok"}

    @app.get("/metrics", scrape=True)
    def metrics() -> str:
        bottle.response.content_type = "text/plain; version=0.0.4; charset=utf-8"
        from .metrics import metrics_text  # prometheus_client: loaded when first scraped

        return metrics_text(console, lambda: len(hub.subscribers) if hub else 0)

    def page(**_: Any):
        response = bottle.static_file("admin.html", root=str(jsonapi.STATIC))
        response.set_header("Cache-Control", "no-store")
        return response

    for path in PAGES:
        app.route(path, "GET", page)

    login.install(app, config, hasher or Hasher(), throttle or LoginThrottle(config))
    api.install(app, console)
    catalog.install(app, console)
    people.install(app, console)
    system.install(app, console)
    money.install(app, console)
    live.install(app, hub, guard)
    for extension in default_extensions(config, console) if extensions is None else extensions:
        extension.install(app)
    for route in app.routes:
        role = ROLES_BY_RULE.get((route.method, _shape(route.rule)))
        if role and "role" not in route.config:
            route.config["role"] = role
    return app


class AdminRole(Role):
    """The admin process: a gevent WSGI server with websockets (the caller has monkey-patched)."""

    name = "admin"

    def __init__(self, config: Config, runtime=None, *, publish_counters: bool = True) -> None:
        super().__init__(config, runtime)  # runtime: the back office's, shared with the worker (see `Role`)
        # Off in the back office, where the worker publishes the queue's counters of the same process.
        self.publish_counters = publish_counters

    def start(self) -> None:
        from gevent.pywsgi import WSGIServer
        from geventwebsocket.handler import WebSocketHandler

        from hotspotd.plumbing.counters import Publisher

        admin = self.config.admin
        self.console = Console(self.runtime)
        self.hub = live.Hub(lambda: EventFeed(self.config.app_db_path))
        self.hub.start()
        app = make_app(self.config, self.console, hasher=Hasher.thread_pool(), hub=self.hub)
        guard = app.config["hotspotd.guard"]
        tls = {"certfile": admin.certfile, "keyfile": admin.keyfile} if admin.certfile else {}
        host, port = admin.listen
        self.server = WSGIServer((host, port), app, handler_class=WebSocketHandler, log=None, **tls)

        def refuse_upgrade(handler) -> bool:
            # True: answer over plain HTTP, where the guard says 401 or 403. The upgrade
            # itself happens before the app sees the request.
            if handler.environ.get("HTTP_UPGRADE", "").lower() != "websocket":
                return True
            try:
                return not guard.may_open_websocket(handler.environ)
            finally:
                release()

        self.server.pre_start_hook = refuse_upgrade
        self.server.start()
        if self.publish_counters:  # tasks run inline here in immediate mode: their outcomes count too
            self.publisher = Publisher("admin", self.runtime.queue.counters.snapshot, self.stopping)
            self.publisher.start()
        log.info("admin listening on %s:%s%s", host, port, " (TLS)" if tls else "")

    def install_signal_handlers(self) -> None:
        import signal

        import gevent

        for signum in (signal.SIGTERM, signal.SIGINT):
            gevent.signal_handler(signum, self.stop)

    def serve(self) -> None:
        self.stopping.wait()  # a gevent-patched Event: the server's greenlets run meanwhile
        self.hub.stop()
        self.server.stop(timeout=3)

    def stop(self) -> None:
        log.info("admin stopping")
        self.stopping.set()
