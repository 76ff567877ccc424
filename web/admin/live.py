"""/ws: live events for the admin page, over a websocket (gevent-websocket)."""

from __future__ import annotations

import json
import logging

import bottle

from hotspotd import events
from hotspotd.store import release

from ..jsonapi import answer

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


def install(app: bottle.Bottle) -> None:
    @app.get("/ws")
    def websocket() -> str:
        socket = bottle.request.environ.get("wsgi.websocket")
        if socket is None:
            return answer(400, {"error": "websocket upgrade required"})
        import gevent

        after = bottle.request.query.get("after", "")
        last = int(after) if after.isdigit() else max((e["id"] for e in events.latest(1)), default=0)
        try:
            while not socket.closed:
                for message in events.since(last, limit=200):
                    socket.send(json.dumps(message))
                    last = message["id"]
                release()  # no connection held between polls
                gevent.sleep(POLL_SECONDS)
        except Exception as exc:  # the operator closed the tab
            log.debug("websocket closed: %s", exc)
        finally:
            release()
        return ""
