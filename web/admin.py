"""The admin role: the operator's live view (gevent + websocket), JSON API and /metrics.

gevent's monkey-patching happens in `serve()` before anything else runs in this
process, and nowhere else: no other role is patched.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import logging
from pathlib import Path
from typing import Any

import bottle

from hotspotd import events
from hotspotd.admins import authenticate
from hotspotd.billing import packages
from hotspotd.config import Config
from hotspotd.store.db import db
from hotspotd.store.models import FailedTask, Payment, Session, Subscription

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
WS_POLL_SECONDS = 0.5


def _json(body: Any, status: int = 200) -> str:
    bottle.response.status = status
    bottle.response.content_type = "application/json"
    bottle.response.set_header("Cache-Control", "no-store")
    return json.dumps(body)


_AUTH_CACHE_SECONDS = 60.0
_auth_cache: dict[str, float] = {}


def _authorised(environ: dict[str, Any]) -> bool:
    """HTTP Basic against the admin accounts. A good login is remembered (by a hash of
    the header) for a minute, so the page's requests do not each pay for scrypt."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Basic "):
        return False
    key = hashlib.sha256(header.encode()).hexdigest()
    now = time.monotonic()
    if _auth_cache.get(key, 0.0) > now:
        return True
    try:
        username, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
    except ValueError:
        return False
    if authenticate(username, password) is None:
        return False
    if len(_auth_cache) > 100:
        _auth_cache.clear()
    _auth_cache[key] = now + _AUTH_CACHE_SECONDS
    return True


def metrics_text() -> str:
    """Prometheus text exposition of the numbers an operator watches."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry()
    payments = Gauge("hotspotd_payments", "Payments by status", ["status"], registry=registry)
    for status in ("pending", "received", "paid", "failed", "cancelled", "expired"):
        payments.labels(status).set(Payment.select().where(Payment.status == status).count())
    Gauge("hotspotd_subscriptions_active", "Active subscriptions", registry=registry).set(
        Subscription.select().where(Subscription.status == "active").count())
    Gauge("hotspotd_sessions_open", "Open sessions", registry=registry).set(
        Session.select().where(Session.status == "open").count())
    Gauge("hotspotd_failed_tasks", "Tasks that used up their retries", registry=registry).set(
        FailedTask.select().where(FailedTask.retried_at.is_null()).count())
    return generate_latest(registry).decode()


def make_app(config: Config) -> bottle.Bottle:
    app = bottle.Bottle()

    @app.hook("before_request")
    def _guard() -> None:
        db.connect(reuse_if_open=True)
        path = bottle.request.path
        if path in ("/healthz", "/metrics"):
            return
        if not _authorised(bottle.request.environ):
            bottle.response.set_header("WWW-Authenticate", 'Basic realm="hotspotd admin"')
            raise bottle.HTTPResponse(_json({"error": "login required"}, 401), status=401,
                                      headers={"WWW-Authenticate": 'Basic realm="hotspotd admin"',
                                               "Content-Type": "application/json"})

    @app.hook("after_request")
    def _release() -> None:
        if not bottle.request.path == "/ws":
            db.close()

    @app.get("/healthz")
    def healthz() -> str:
        db.execute_sql("SELECT 1")
        return _json({"status": "ok"})

    @app.get("/metrics")
    def metrics() -> str:
        bottle.response.content_type = "text/plain; version=0.0.4; charset=utf-8"
        return metrics_text()

    @app.get("/")
    def page():
        return bottle.static_file("admin.html", root=str(HERE / "static"))

    @app.get("/static/<name:path>")
    def static(name: str):
        return bottle.static_file(name, root=str(HERE / "static"))

    @app.get("/api/admin/events")
    def event_list() -> str:
        after = bottle.request.query.get("after", "")
        if after.isdigit():
            return _json(events.since(int(after), limit=500))
        return _json(events.latest(100))

    @app.get("/api/admin/packages")
    def package_list() -> str:
        return _json([packages.package_dict(p) for p in packages.list_packages(include_inactive=True)])

    @app.get("/ws")
    def websocket() -> str:
        socket = bottle.request.environ.get("wsgi.websocket")
        if socket is None:
            return _json({"error": "websocket upgrade required"}, 400)
        import gevent

        after = bottle.request.query.get("after", "")
        last = int(after) if after.isdigit() else max((e["id"] for e in events.latest(1)), default=0)
        try:
            while not socket.closed:
                for message in events.since(last, limit=200):
                    socket.send(json.dumps(message))
                    last = message["id"]
                gevent.sleep(WS_POLL_SECONDS)
        except Exception as exc:  # the operator closed the tab
            log.debug("websocket closed: %s", exc)
        finally:
            db.close()
        return ""

    return app


def serve(config: Config) -> int:
    """Run the admin role until SIGTERM/SIGINT (the caller has monkey-patched already)."""
    import signal

    import gevent
    from gevent.pywsgi import WSGIServer
    from geventwebsocket.handler import WebSocketHandler

    from hotspotd.store import open_store

    open_store(config)
    host, port = config.admin.listen
    server = WSGIServer((host, port), make_app(config), handler_class=WebSocketHandler, log=None)
    # Refuse the upgrade itself without a login: the app answers 401 over plain HTTP.
    server.pre_start_hook = lambda handler: not _authorised(handler.environ)

    def stop() -> None:
        log.info("admin stopping")
        server.stop(timeout=3)

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    log.info("admin listening on %s:%s", host, port)
    server.serve_forever()
    return 0
