"""The app database: one SQLite file in WAL mode, opened the same way by every role."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import peewee

# Models bind to this; `open_database` points it at a file (or ":memory:" in tests).
db = peewee.SqliteDatabase(None)


def open_database(path: str | os.PathLike, *, synchronous: str = "full", busy_timeout: float = 10.0) -> peewee.SqliteDatabase:
    """Point the models at the database file at `path` and connect.

    WAL lets readers (portal, RADIUS) go on while the worker writes; synchronous=FULL
    means a committed payment survives a power cut, which matters more here than speed.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    if not db.is_closed():
        db.close()
    db.init(
        str(path),
        timeout=busy_timeout,
        check_same_thread=False,
        pragmas={
            "journal_mode": "wal",
            "synchronous": synchronous.upper(),
            "foreign_keys": 1,
            "busy_timeout": int(busy_timeout * 1000),
            "cache_size": -4000,
        },
    )
    db.connect(reuse_if_open=True)
    return db


@contextmanager
def write_transaction() -> Iterator[None]:
    """A transaction that takes the write lock at once (BEGIN IMMEDIATE).

    Taking it up front avoids the deadlock where two readers both try to upgrade to
    writers and one gets SQLITE_BUSY without waiting.
    """
    with db.atomic("IMMEDIATE"):
        yield


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
