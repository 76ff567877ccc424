"""/ws: every event reaches every open admin page as soon as it is committed.

One `Hub` per admin process: a single greenlet asks SQLite every few milliseconds whether
anything was committed (`hotspotd.plumbing.event_feed`, `PRAGMA data_version`), reads the new
events once, encodes each into its websocket frame once, and hands the batch to every
socket's queue; each socket writes whatever batches wait for it in one write (a burst of
payments commits dozens of events at a time, and 50 pages must not cost 50 x dozens of
sends). A socket that falls
too far behind is closed; the page reconnects with `?after=<last id it saw>` and gets
what it missed from the table before the live feed resumes, so nothing is lost or
doubled. The socket's login is checked again every `RECHECK` seconds (without counting as
activity), so a logout or an expired login closes it. An operator's socket skips the audit
log's entries (`audit.hidden_from`), as the audit page refuses them.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, Callable

import bottle
from geventwebsocket.websocket import Header, WebSocket

from hotspotd.console import admins, audit
from hotspotd import events
from hotspotd.plumbing.event_feed import EventFeed
from hotspotd.store import release
from hotspotd.store.db import utcnow

from ..jsonapi import answer
from .auth import COOKIE, Guard, current_login

log = logging.getLogger(__name__)

WATCH_EVERY = 0.004  # seconds between looks at PRAGMA data_version
BACKLOG = 500  # batches a socket may fall behind before it is closed (it reconnects and resumes)
RECHECK = 15.0
WRITE_BYTES = 32 * 1024
PAGE = 500
_CLOSE: list = []  # an empty batch: the socket is to close


Frame = tuple[int, bytes, str]  # event id, the encoded frame, event type


def frame(message: dict[str, Any]) -> Frame:
    """An event as the websocket frame that carries it (a text frame; server frames are
    not masked, so one encoding serves every socket), with its id and type."""
    payload = json.dumps(message, separators=(",", ":")).encode()
    header = Header.encode_header(True, WebSocket.OPCODE_TEXT, b"", len(payload), 0)
    return message["id"], header + payload, message["type"]


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
                        if batch:
                            frames = [frame(message) for message in batch]
                            for queue in list(self.subscribers):
                                try:
                                    queue.put_nowait(frames)
                                except Full:  # too slow: it is closed and resumes from its last id
                                    self.subscribers.discard(queue)
                                    queue.queue.clear()
                                    queue.put_nowait(_CLOSE)
                            self.last_id = batch[-1]["id"]
                            self.delivered += len(batch)
                        if len(batch) < PAGE:
                            break
            except Exception:  # a locked or missing database must not end the watch
                log.exception("event watch failed; trying again")
                gevent.sleep(1.0)
            gevent.sleep(self.interval)


def _send(socket, frames: list[Frame], last: int, hidden: tuple[str, ...] = ()) -> int:
    """Write the frames of events after `last`, a few per write; returns the last id sent.

    Writes are joined up to WRITE_BYTES: one write per burst keeps the sends few, and the
    bound keeps a page that fell behind a burst from costing the process a copy of the
    whole burst (times every such page). Events of the `hidden` types are skipped."""
    chunk: list[bytes] = []
    size = 0
    for event_id, data, type_ in frames:
        if event_id <= last or type_ in hidden:
            continue
        chunk.append(data)
        size += len(data)
        if size >= WRITE_BYTES:
            socket.raw_write(b"".join(chunk))
            chunk, size = [], 0
    if chunk:
        socket.raw_write(b"".join(chunk))
    return max(last, frames[-1][0]) if frames else last


def _send_backlog(socket, last: int, hidden: tuple[str, ...]) -> int:
    """Send every event after `last` from the table; returns the last id sent."""
    try:
        while True:
            batch = events.since(last, PAGE, hidden=hidden)
            last = _send(socket, [frame(message) for message in batch], last)
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
        hidden = audit.hidden_from(current_login().role)
        try:
            last = int(after) if after.isdigit() else hub.last_id
            last = _send_backlog(socket, last, hidden)
            checked = utcnow()
            while not socket.closed:
                try:
                    frames = list(queue.get(timeout=RECHECK))
                    while not queue.empty() and frames:  # everything waiting goes out in one write
                        more = queue.get_nowait()
                        frames = frames + list(more) if more else []
                except Empty:
                    frames = None
                if frames == []:  # closed by the page, or fell too far behind
                    break
                if frames:
                    last = _send(socket, frames, last, hidden)
                checked, hidden = _recheck(guard, token, checked, hidden)
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


def _recheck(guard: Guard, token: str | None, checked: datetime,
             hidden: tuple[str, ...]) -> tuple[datetime, tuple[str, ...]]:
    """The login again, every RECHECK seconds: (when checked, what its role may not read)."""
    now = utcnow()
    if (now - checked).total_seconds() < RECHECK:
        return checked, hidden
    admin = guard.config.admin
    try:
        login = admins.login_for(token, now, idle=admin.session_idle, max_age=admin.session_max, touch=False)
        if login is None:
            raise _LoginEnded()
    finally:
        release()
    return now, audit.hidden_from(login.role)  # an admin made an operator meanwhile sees less


def _read_until_closed(socket, queue) -> None:
    """Reads (and ignores) what the page sends; tells the sender when the page goes."""
    try:
        while socket.receive() is not None:
            pass
    except Exception:
        pass
    queue.put(_CLOSE)
