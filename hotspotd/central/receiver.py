"""The receiver's use cases, as the web app calls them: take a pushed batch, serve a
site its configuration, show the operator the overview, log operators in and out.

The web layer (`hotspotd.web.central`) only turns HTTP into these calls and back.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Iterator, Mapping

import peewee

from ..config import Config
from ..errors import InvalidInput, StorageUnavailable
from ..store.db import utcnow
from ..sync.protocol import SignedAnswer, SignedRequest
from . import configlog, operators
from .ingest import Ingest, authenticate
from .overview import overview
from .store import CentralStore, Site

log = logging.getLogger(__name__)


class Receiver:
    def __init__(self, store: CentralStore, config: Config, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.max_skew = config.receiver.max_clock_skew
        self.ingest = Ingest(store, self.max_skew)

    @contextmanager
    def _storage(self, what: str) -> Iterator[None]:
        """Database trouble becomes StorageUnavailable (503: the box tries again later); the
        connection is dropped so the next request starts on a fresh one."""
        try:
            yield
        except (peewee.OperationalError, peewee.InterfaceError) as exc:
            log.error("receiver storage unavailable in %s: %s", what, exc)
            self.store.close()
            raise StorageUnavailable("the receiver cannot store this now; try again later") from exc

    # -- the sites' side

    def push(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> dict[str, int]:
        """A signed batch of events: stored, then acknowledged ({acknowledged, stored, duplicates})."""
        request = SignedRequest.from_headers(method, path, headers, body)
        with self._storage("push"):
            ack = self.ingest.receive(request, self.clock())
        log.info("site %s: %d events stored, %d duplicates, acknowledged %s", request.site, ack["stored"],
                 ack["duplicates"], ack["acknowledged"])
        return ack

    def pull(self, method: str, path: str, headers: Mapping[str, str], have: str) -> SignedAnswer:
        """The configuration changes after version `have` for the site that signed the
        request, as the answer's bytes signed with the site's key (over the request's nonce)."""
        request = SignedRequest.from_headers(method, path, headers, b"")
        if not have.isdigit() or len(have) > 18:
            raise InvalidInput("have must be the configuration version the box runs (a whole number)")
        now = self.clock()
        with self._storage("pull"):
            site = authenticate(request, now, self.max_skew)
            with self.store.write():
                Site.update(last_seen_at=now, config_version=int(have)).where(Site.id == site.id).execute()
            return request.sign_answer(site.key, configlog.changes_for(site.id, int(have)))

    # -- the operator's side

    def overview(self) -> dict[str, Any]:
        with self._storage("overview"):
            return overview(self.clock(), self.config.site.timezone)

    def login(self, username: str, password: str) -> str | None:
        """A session token for a good login, else None."""
        with self._storage("login"):
            if not operators.authenticate(username, password):
                return None
            return operators.start_session(self.store, username, self.clock())

    def operator(self, token: str | None) -> str | None:
        with self._storage("session"):
            return operators.session_user(token, self.clock())

    def check_login(self, username: str, password: str) -> bool:
        with self._storage("login"):
            return operators.authenticate(username, password)

    def logout(self, token: str | None) -> None:
        with self._storage("logout"):
            operators.end_session(self.store, token)

    def ping(self) -> None:
        with self._storage("ping"):
            self.store.db.execute_sql("SELECT 1")

