"""Counters one process publishes for another to read.

The RADIUS role counts its decisions and dropped packets, the worker counts task
outcomes; `/metrics` and the health page are served by the admin process. Each process
keeps its counts in memory (`Counters`, cheap enough for every packet) and a `Publisher`
thread writes them to the `counter` table every few seconds, one row per (process, name,
label), rewritten in place: the table stays as small as the set of labels. A restarted
process starts again from zero under the same source name, which Prometheus reads as a
counter reset.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime
from typing import Callable, Iterable

from ..store import release
from ..store.db import db, utcnow, write_transaction
from ..store.models import Counter as CounterRow, to_db_time

log = logging.getLogger(__name__)

PUBLISH_EVERY = 5.0
_UPSERT = ('INSERT INTO "counter" ("source", "name", "label", "value", "updated_at") VALUES (?, ?, ?, ?, ?) '
           'ON CONFLICT ("source", "name", "label") DO UPDATE SET "value" = excluded."value", '
           '"updated_at" = excluded."updated_at"')

Snapshot = Iterable[tuple[str, str, float]]  # (name, label, value)


class Counters:
    """Counts by (name, label), safe from any thread."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, name: str, label: str, amount: float = 1) -> None:
        with self._lock:
            self._counts[(name, label)] += amount

    def snapshot(self) -> list[tuple[str, str, float]]:
        with self._lock:
            return [(name, label, value) for (name, label), value in self._counts.items()]


def publish(source: str, snapshot: Snapshot, now: datetime) -> None:
    """Write a process's counts (one transaction)."""
    rows = [(source, name, label[:200], float(value), to_db_time(now)) for name, label, value in snapshot]
    if not rows:
        return
    with write_transaction():
        db.connection().executemany(_UPSERT, rows)


def totals(name: str) -> dict[str, float]:
    """Every process's count of `name`, added up per label."""
    query = (CounterRow.select(CounterRow.label, CounterRow.value).where(CounterRow.name == name))
    summed: Counter[str] = Counter()
    for label, value in query.tuples():
        summed[label] += value
    return dict(summed)


class Publisher(threading.Thread):
    """Publishes `snapshot()` under `source` every `interval` seconds until `stop` is set,
    and once more on the way out."""

    def __init__(self, source: str, snapshot: Callable[[], Snapshot], stop: threading.Event,
                 interval: float = PUBLISH_EVERY) -> None:
        super().__init__(name=f"counters-{source}", daemon=True)
        self.source = source
        self.snapshot = snapshot
        self.stop_event = stop
        self.interval = interval

    def publish_now(self) -> None:
        try:
            publish(self.source, list(self.snapshot()), utcnow())
        except Exception as exc:  # counters are worth less than anything else this process does
            log.warning("counters of %s not published: %s", self.source, exc)
        finally:
            release()

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            self.publish_now()
        self.publish_now()
