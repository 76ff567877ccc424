"""Taking in a site's pushed batch: verify, refuse, deduplicate, store, acknowledge.

Nothing of a refused batch is stored: the signature, the site, the clock and the nonce
are checked before the body is even decompressed, and the events are written in one
transaction with the nonce, after which (and only after which) the batch is acknowledged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import InvalidInput
from ..store.models import to_db_time
from ..sync import protocol
from ..sync.protocol import SignatureRefused, SignedRequest
from .store import CentralStore, Site

MAX_EVENTS = 5 * protocol.BATCH_EVENTS
MAX_STATUS = 4096

_INSERT = ('INSERT INTO "event" ("site_id", "outbox", "event_id", "type", "at", "data", "amount", "received_at") '
           'VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("site_id", "outbox", "event_id") DO NOTHING')
_NONCE = 'INSERT INTO "nonce" ("site_id", "nonce", "seen_at") VALUES (?, ?, ?) ON CONFLICT DO NOTHING'
_SITE = ('UPDATE "site" SET "last_seen_at" = ?, "outbox" = ?, "synced_through" = ?, "waiting" = ?, '
         '"config_version" = ?, "status" = ?, "status_at" = ?, '
         '"last_event_id" = CASE WHEN "outbox" = ? AND "last_event_id" > ? THEN "last_event_id" ELSE ? END '
         'WHERE "id" = ?')


def authenticate(request: SignedRequest, now: datetime, max_skew: float) -> Site:
    """The site that signed `request`; SignatureRefused for an unknown site, a bad
    signature or a clock too far off."""
    site = Site.get_or_none(Site.id == request.site)
    if site is None:
        raise SignatureRefused(f"unknown site {request.site!r}: register it with `hotspotd central site add`",
                               status=403)
    request.verify(site.key, now.timestamp(), max_skew)
    return site


@dataclass(frozen=True)
class Batch:
    outbox: str
    config_version: int
    waiting_after: int
    status: dict[str, Any]
    rows: list[tuple]  # (event_id, type, at, data json, amount)


def _int(value: Any, what: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidInput(f"{what} must be a whole number of at least {low}")
    return value


def parse_batch(body: dict[str, Any]) -> Batch:
    """A decoded push body as rows to store; InvalidInput names what is wrong."""
    if body.get("protocol") != protocol.PROTOCOL:
        raise InvalidInput(f"unsupported protocol {body.get('protocol')!r}: this receiver speaks {protocol.PROTOCOL}")
    outbox = body.get("outbox")
    if not isinstance(outbox, str) or not 1 <= len(outbox) <= 64:
        raise InvalidInput("outbox must be a short text")
    status = body.get("status") or {}
    if not isinstance(status, dict) or len(json.dumps(status)) > MAX_STATUS:
        raise InvalidInput("status must be a small JSON object")
    events = body.get("events")
    if not isinstance(events, list) or len(events) > MAX_EVENTS:
        raise InvalidInput(f"events must be a list of at most {MAX_EVENTS}")
    rows = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise InvalidInput(f"event {index} is not an object")
        type_, at, data = event.get("type"), event.get("at"), event.get("data")
        if not isinstance(type_, str) or not 1 <= len(type_) <= 64:
            raise InvalidInput(f"event {index}: type must be a short text")
        if not isinstance(data, dict):
            raise InvalidInput(f"event {index}: data must be an object")
        try:
            when = to_db_time(datetime.fromisoformat(at)) if isinstance(at, str) and len(at) <= 40 else None
        except ValueError:
            when = None
        if when is None:
            raise InvalidInput(f"event {index}: at must be an ISO-8601 time with a zone")
        rows.append((_int(event.get("id"), f"event {index}: id", 1), type_, when,
                     json.dumps(data, separators=(",", ":"), sort_keys=True), _amount(type_, data)))
    return Batch(outbox, _int(body.get("config_version", 0), "config_version"),
                 _int(body.get("waiting_after", 0), "waiting_after"), status, rows)


def _amount(type_: str, data: dict[str, Any]) -> Decimal | None:
    if type_ != "payment.processed":
        return None
    try:
        return Decimal(str(data.get("amount"))).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


class Ingest:
    """Stores pushed batches; one per receiver process (it remembers when it last swept
    old nonces)."""

    def __init__(self, store: CentralStore, max_skew: float) -> None:
        self.store = store
        self.max_skew = max_skew
        self._swept: datetime | None = None

    def receive(self, request: SignedRequest, now: datetime) -> dict[str, int]:
        site = authenticate(request, now, self.max_skew)
        batch = parse_batch(protocol.decode(request.body))
        store, at = self.store, to_db_time(now)
        sqlite = store.dialect == "sqlite"
        params = [(site.id, batch.outbox, event_id, type_, when, data,
                   (str(amount) if sqlite and amount is not None else amount), at)
                  for event_id, type_, when, data, amount in batch.rows]
        highest = max((row[0] for row in batch.rows), default=None)
        synced_through = now if batch.waiting_after == 0 else (
            datetime.fromisoformat(batch.rows[-1][2]) if batch.rows else site.synced_through)
        with store.write():
            cursor = store.db.execute_sql(store.param(_NONCE), (site.id, request.nonce, at))
            if cursor.rowcount == 0:
                raise SignatureRefused("replayed request: this nonce was used already", status=409)
            stored = 0
            if params:
                cursor = store.db.cursor()
                cursor.executemany(store.param(_INSERT), params)
                stored = cursor.rowcount
            if highest is None:
                row = store.db.execute_sql(store.param('SELECT MAX("event_id") FROM "event" WHERE "site_id" = ? '
                                                       'AND "outbox" = ?'), (site.id, batch.outbox)).fetchone()
                highest = row[0] or 0
            store.db.execute_sql(store.param(_SITE), (
                at, batch.outbox, None if synced_through is None else to_db_time(synced_through),
                batch.waiting_after, batch.config_version, json.dumps(batch.status), at,
                batch.outbox, highest, highest, site.id))
        self._sweep(now)
        return {"acknowledged": highest, "stored": stored, "duplicates": len(params) - stored}

    def _sweep(self, now: datetime) -> None:
        """Forget nonces older than twice the clock window (a request that old is refused
        for its timestamp anyway); at most once a minute."""
        if self._swept and now - self._swept < timedelta(seconds=60):
            return
        self._swept = now
        cutoff = to_db_time(now - timedelta(seconds=2 * self.max_skew))
        with self.store.write():
            self.store.db.execute_sql(self.store.param('DELETE FROM "nonce" WHERE "seen_at" < ?'), (cutoff,))
