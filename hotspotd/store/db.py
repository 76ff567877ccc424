"""The app database: one SQLite file in WAL mode, opened the same way by every role."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import peewee

from ..errors import StorageUnavailable
from .files import private_database, private_dir

log = logging.getLogger(__name__)

STORAGE_UNAVAILABLE = "The hotspot cannot take this request right now; try again in a minute"


class Database(peewee.SqliteDatabase):
    """SQLite that waits for the write lock in short steps.

    SQLite's own busy handler sleeps in steps that grow to 100 ms, so a writer that
    just missed the lock held by another process (portal vs worker) may wait far longer
    than the lock was held. BEGIN IMMEDIATE is the only statement that waits for that
    lock in WAL mode, so it alone polls: every 0.5-5 ms until the busy timeout.
    """

    def begin(self, lock_type: str | None = None) -> None:
        if lock_type != "IMMEDIATE":
            return super().begin(lock_type)
        cursor = self.cursor()
        cursor.execute("PRAGMA busy_timeout = 0")
        try:
            deadline, pause = time.monotonic() + self._timeout, 0.0005
            while True:
                try:
                    cursor.execute("BEGIN IMMEDIATE")
                    return None
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise peewee.OperationalError(str(exc)) from exc
                    if time.monotonic() >= deadline:
                        raise peewee.OperationalError(f"database write lock not free in {self._timeout} s") from exc
                    time.sleep(pause)
                    pause = min(pause * 1.5, 0.005)
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")

    def rollback(self) -> None:
        # On some errors (a full disk: SQLITE_FULL) SQLite has already rolled back by
        # itself; a second ROLLBACK would replace the real error with a confusing one.
        if self.connection().in_transaction:
            super().rollback()


# Models bind to this; `open_database` points it at a file (or ":memory:" in tests).
db = Database(None)

# Writers in one process queue here rather than in SQLite's busy handler, which sleeps
# in steps of up to 100 ms: a Python lock hands over at once. Re-entrant for nesting.
_write_lock = threading.RLock()


def open_database(path: str | os.PathLike, *, synchronous: str = "full", busy_timeout: float = 10.0) -> peewee.SqliteDatabase:
    """Point the models at the database file at `path` and connect.

    WAL lets readers (portal, RADIUS) go on while the worker writes; synchronous=FULL
    means a committed payment survives a power cut, which matters more here than speed.
    """
    if str(path) != ":memory:":
        private_dir(Path(path).parent)
        private_database(path)  # 0640 whatever the umask; SQLite gives -wal and -shm the same mode
    if not db.is_closed():
        db.close()
    db.init(
        str(path),
        timeout=busy_timeout,
        check_same_thread=False,
        # Per connection, and none of them waits for a lock. The journal mode is the file's
        # own and lasts: set once below, not on every connect (that pragma waits on a
        # writer's checkpoint, and a role reconnects after every request).
        pragmas={
            "synchronous": synchronous.upper(),
            "foreign_keys": 1,
            "busy_timeout": int(busy_timeout * 1000),
            # 1 MB of page cache per connection (SQLite's default is 2 MB): every thread
            # has its own connection, and the OS caches the file for all of them anyway.
            "cache_size": -1000,
        },
    )
    db.connect(reuse_if_open=True)
    if str(path) != ":memory:":
        db.execute_sql("PRAGMA journal_mode = wal")
    return db


@contextmanager
def write_transaction() -> Iterator[None]:
    """A transaction that takes the write lock at once (BEGIN IMMEDIATE).

    Taking it up front avoids the deadlock where two readers both try to upgrade to
    writers and one gets SQLITE_BUSY without waiting.
    """
    with _write_lock, db.atomic("IMMEDIATE"):
        yield


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Turn storage trouble (a full disk, the write lock held past the busy timeout) into
    StorageUnavailable, which every edge answers clearly (HTTP 503, a CLI message)."""
    try:
        yield
    except peewee.OperationalError as exc:
        log.critical("storage unavailable in %s: %s", what, exc)
        raise StorageUnavailable(STORAGE_UNAVAILABLE) from exc


IN_LIMIT = 500  # ids in one `IN (...)` list: well under SQLite's limit on bound parameters


def rows_for_ids(sql: str, ids: Iterable[int], params: Sequence = ()) -> list[tuple]:
    """The rows `sql` selects for every id in `ids`, asked IN_LIMIT ids at a time. `{ids}`
    in `sql` marks where the `IN (...)` list goes; `params` are bound before the ids."""
    listed, found = sorted(set(ids)), []
    for start in range(0, len(listed), IN_LIMIT):
        chunk = listed[start:start + IN_LIMIT]
        found += db.execute_sql(sql.replace("{ids}", ",".join("?" * len(chunk))), (*params, *chunk)).fetchall()
    return found


def ping() -> None:
    """One trivial query: the database answers (for /healthz); StorageUnavailable if not."""
    with storage_errors("ping"):
        db.execute_sql("SELECT 1")
