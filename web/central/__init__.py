"""The central receiver role: waitress serving the sync API the sites call and the
operator's read-only overview.

    /api/sync/v1/events   POST, a signed batch of events (docs/sync.md)
    /api/sync/v1/config   GET, a signed request for configuration changes (a signed answer)
    /                     the overview page (login), pages.py
    /api/central/overview the same as JSON (login)

Routes only translate HTTP into calls on `hotspotd.central.receiver.Receiver` and back.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import bottle

from hotspotd.central.receiver import Receiver
from hotspotd.config import Config
from hotspotd.errors import InvalidInput
from hotspotd.plumbing.role import Role
from hotspotd.sync import protocol
from hotspotd.sync.protocol import SignatureRefused

from .. import jsonapi
from . import pages

log = logging.getLogger(__name__)


def signed(route: Callable[..., Any]) -> Callable[..., str]:
    """A sync route: a refused signature answers with its own status; core errors as everywhere."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return route(*args, **kwargs)
        except SignatureRefused as exc:
            log.warning("refused %s from %s (site %r): %s", bottle.request.path, bottle.request.remote_addr,
                        bottle.request.headers.get(protocol.SITE_HEADER), exc)
            return exc.status, {"error": str(exc)}

    guarded.__name__ = route.__name__
    return jsonapi.api(guarded)


def _signed_path() -> str:
    """What the site signed: the route's path (without any prefix in front of the receiver) and query."""
    query = bottle.request.query_string
    return bottle.request.path + (f"?{query}" if query else "")


def make_app(config: Config, receiver: Receiver) -> bottle.Bottle:
    app = bottle.Bottle()
    jsonapi.install_common_routes(app)

    @app.get("/healthz")
    @jsonapi.api
    def healthz() -> dict[str, Any]:
        receiver.ping()
        return {"status": "ok"}

    @app.post(protocol.EVENTS_PATH)
    @signed
    def events() -> dict[str, int]:
        if bottle.request.content_length > protocol.MAX_BODY:
            return 413, {"error": "batch too large"}
        body = bottle.request.body.read(protocol.MAX_BODY + 1)
        if len(body) > protocol.MAX_BODY:
            return 413, {"error": "batch too large"}
        if (bottle.request.headers.get("Content-Encoding") or "").lower() != "gzip":
            raise InvalidInput("a batch is sent with Content-Encoding: gzip")
        return receiver.push("POST", _signed_path(), bottle.request.headers, body)

    @app.get(protocol.CONFIG_PATH)
    @signed
    def configuration() -> bytes:
        signed_answer = receiver.pull("GET", _signed_path(), bottle.request.headers,
                                      bottle.request.query.get("have", "0"))
        bottle.response.set_header(protocol.SIGNATURE_HEADER, signed_answer.signature)
        return signed_answer.body  # the exact bytes signed

    pages.install(app, receiver)
    return app


class CentralRole(Role):
    """The receiver process. It has its own store (`[receiver] database`), not a site's."""

    name = "central"
    opens_site_store = False

    def start(self) -> None:
        import waitress

        from hotspotd.central.store import open_central_store

        self.store = open_central_store(self.config.receiver_database)
        self.receiver = Receiver(self.store, self.config)
        host, port = self.config.receiver.listen
        self.server = waitress.create_server(
            make_app(self.config, self.receiver), host=host, port=port, threads=self.config.receiver.threads,
            max_request_body_size=protocol.MAX_BODY + 1024, channel_timeout=60, connection_limit=200,
            clear_untrusted_proxy_headers=True, ident="hotspotd-central",
        )
        log.info("central receiver listening on %s:%s (%s)", host, self.server.effective_port, self.store.dialect)

    def serve(self) -> None:
        server = self.server
        while not self.stopping.is_set():
            server.asyncore.loop(timeout=1.0, map=server._map, use_poll=True, count=1)
        server.task_dispatcher.shutdown()

    def stop(self) -> None:
        self.stopping.set()
        if hasattr(self, "server"):
            self.server.trigger.pull_trigger()

    def close(self) -> None:
        if hasattr(self, "server"):
            self.server.close()
        if hasattr(self, "store"):
            self.store.close()
        # Not Role.close(): the runtime holds no site store here, and closing it would close
        # the calling thread's site database connection (a test that runs a site beside it).
