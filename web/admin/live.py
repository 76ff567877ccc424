"""/ws: every event reaches every open admin page as soon as it is committed.

One `Hub` per admin process: a single greenlet asks SQLite every few milliseconds whether
anything was committed (`hotspotd.event_feed`, `PRAGMA data_version`), reads the new
events once, encodes each once, and hands it to every socket's queue. A socket that falls
too far behind is closed; the page reconnects with `?after=<last id it saw>` and gets
what it missed from the table before the live feed resumes, so nothing is lost or
doubled. The socket's login is checked again every `RECHECK` seconds (without counting as
activity), so a logout or an expired login closes it.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, Callable

import bottle

from hotspotd import admins, events
from hotspotd.event_feed import EventFeed
from hotspotd.store import release
from hotspotd.store.db import utcnow

from ..jsonapi import answer
from .auth import COOKIE, Guard

log = logging.getLogger(__name__)

WATCH_EVERY = 0.004  # seconds between looks at PRAGMA data_version
BACKLOG = 2000  # messages a socket may fall behind before it is closed (it reconnects and resumes)
RECHECK = 15.0
PAGE = 500
_CLOSE = (0, "")


class Hub:
    """Watches the event table and fans new events out to subscribers (gevent only)."""

    def __init__(self, feed_factory: Callable[[], EventFeed], interval: float = WATCH_EVERY) -> None:
        self.feed_factory = feed_factory
        self.interval = interval
        self.subscribers: set[Any] = set()
        self.last_id = 0
        self.delivered = 0
        self._greenlet = None

    def start(self) -> None:
        import gevent

        feed = self.feed_factory()
        self.last_id = feed.last_id()
        feed.changed()
        self._greenlet = gevent.spawn(self._watch, feed)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
        for queue in list(self.subscribers):
            queue.put_nowait(_CLOSE)

    def subscribe(self):
        from gevent.queue import Queue

        queue = Queue(maxsize=BACKLOG)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue) -> None:
        self.subscribers.discard(queue)

    def _watch(self, feed: EventFeed) -> None:
        import gevent
        from gevent.queue import Full

        while True:
            try:
                if feed.changed():
                    while True:
                        batch = feed.after(self.last_id, PAGE)
                        for message in batch:
                            item = (message["id"], json.dumps(message, separators=(",", ":")))
                            for queue in list(self.subscribers):
                                try:
                                    queue.put_nowait(item)
                                except Full:  # too slow: it is closed and resumes from its last id
                                    self.subscribers.discard(queue)
                                    queue.queue.clear()
                                    queue.put_nowait(_CLOSE)
                            self.last_id = message["id"]
                            self.delivered += 1
                        if len(batch) < PAGE:
                            break
            except Exception:  # a locked or missing database must not end the watch
                log.exception("event watch failed; trying again")
                gevent.sleep(1.0)
            gevent.sleep(self.interval)


def _send_backlog(socket, last: int) -> int:
    """Send every event after `last` from the table; returns the last id sent."""
    try:
        while True:
            batch = events.since(last, PAGE)
            for message in batch:
                socket.send(json.dumps(message, separators=(",", ":")))
                last = message["id"]
            if len(batch) < PAGE:
                return last
    finally:
        release()


def install(app: bottle.Bottle, hub: Hub | None, guard: Guard) -> None:
    @app.get("/ws")
    def websocket() -> str:
        environ = bottle.request.environ
        socket = environ.get("wsgi.websocket")
        if socket is None or hub is None:
            return answer(400, {"error": "websocket upgrade required"})
        import gevent
        from gevent.queue import Empty

        after = bottle.request.query.get("after", "")
        queue = hub.subscribe()
        reader = gevent.spawn(_read_until_closed, socket, queue)
        token = bottle.BaseRequest(environ).cookies.get(COOKIE)
        try:
            last = int(after) if after.isdigit() else hub.last_id
            last = _send_backlog(socket, last)
            checked = utcnow()
            while not socket.closed:
                try:
                    event_id, text = queue.get(timeout=RECHECK)
                except Empty:
                    event_id, text = None, ""
                if event_id == 0:  # closed by the page, or fell too far behind
                    break
                if event_id is not None and event_id > last:
                    socket.send(text)
                    last = event_id
                checked = _recheck(guard, token, checked)
        except _LoginEnded:
            log.debug("websocket closed: the login ended")
        except Exception as exc:  # the operator closed the tab, or the socket broke
            log.debug("websocket closed: %s", exc)
        finally:
            hub.unsubscribe(queue)
            reader.kill(block=False)
            release()
            if not socket.closed:
                socket.close()
        return ""


class _LoginEnded(Exception):
    pass


def _recheck(guard: Guard, token: str | None, checked: datetime) -> datetime:
    now = utcnow()
    if (now - checked).total_seconds() < RECHECK:
        return checked
    admin = guard.config.admin
    try:
        if admins.login_for(token, now, idle=admin.session_idle, max_age=admin.session_max, touch=False) is None:
            raise _LoginEnded()
    finally:
        release()
    return now


def _read_until_closed(socket, queue) -> None:
    """Reads (and ignores) what the page sends; tells the sender when the page goes."""
    try:
        while socket.receive() is not None:
            pass
    except Exception:
        pass
    queue.put(_CLOSE)
