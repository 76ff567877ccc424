"""The admin role: the operator's live view (gevent + websocket), JSON API and /metrics.

gevent's monkey-patching happens before anything else runs in this process (the command
line does it when it starts the admin role), and nowhere else: no other role is patched.

    auth.py     who may use the pages
    api.py      /api/admin/... (JSON)
    alerts.py   /api/admin/alerts (the alerts sent)
    live.py     /ws (events as they happen)
    metrics.py  /metrics (Prometheus text)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import bottle

from hotspotd.config import Config
from hotspotd.role import Role
from hotspotd.store import release
from hotspotd.store.db import ping

from .. import jsonapi
from . import alerts, api, live
from .auth import Logins
from .metrics import metrics_text

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
OPEN_PATHS = ("/healthz", "/metrics", "/favicon.ico")


def make_app(config: Config, logins: Logins) -> bottle.Bottle:
    app = bottle.Bottle()
    jsonapi.install_common_routes(app)

    @app.hook("before_request")
    def _guard() -> None:
        if bottle.request.path in OPEN_PATHS:
            return
        if not logins.authorised(bottle.request.environ):
            raise bottle.HTTPResponse(jsonapi.answer(401, {"error": "login required"}), status=401,
                                      headers={"WWW-Authenticate": 'Basic realm="hotspotd admin"',
                                               "Content-Type": "application/json"})

    @app.hook("after_request")
    def _release() -> None:
        if bottle.request.path != "/ws":
            release()

    @app.get("/healthz")
    @jsonapi.api
    def healthz() -> dict[str, Any]:
        ping()
        return {"status": "ok"}

    @app.get("/metrics")
    def metrics() -> str:
        bottle.response.content_type = "text/plain; version=0.0.4; charset=utf-8"
        return metrics_text()

    @app.get("/")
    def page():
        return bottle.static_file("admin.html", root=str(jsonapi.STATIC))

    api.install(app)
    alerts.install(app)
    live.install(app)
    return app


class AdminRole(Role):
    """The admin process: a gevent WSGI server with websockets (the caller has monkey-patched)."""

    name = "admin"

    def start(self) -> None:
        from gevent.pywsgi import WSGIServer
        from geventwebsocket.handler import WebSocketHandler

        self.logins = Logins()
        host, port = self.config.admin.listen
        self.server = WSGIServer((host, port), make_app(self.config, self.logins), handler_class=WebSocketHandler,
                                 log=None)
        # Refuse the upgrade itself without a login: the app answers 401 over plain HTTP.
        self.server.pre_start_hook = lambda handler: not self.logins.authorised(handler.environ)
        self.server.start()
        log.info("admin listening on %s:%s", host, port)

    def install_signal_handlers(self) -> None:
        import signal

        import gevent

        for signum in (signal.SIGTERM, signal.SIGINT):
            gevent.signal_handler(signum, self.stop)

    def serve(self) -> None:
        self.stopping.wait()  # a gevent-patched Event: the server's greenlets run meanwhile
        self.server.stop(timeout=3)

    def stop(self) -> None:
        log.info("admin stopping")
        self.stopping.set()
