"""The receiver's own store: one code path over SQLite (a handful of sites) or PostgreSQL
(many), chosen by `[receiver] database`, a URL.

    sqlite:///central.db           relative to the working folder
    sqlite:////var/lib/hotspotd/central.db   an absolute path (four slashes)
    postgresql://user:password@host:5432/dbname   (psycopg; ?host=/run/postgresql for a socket)

Times are kept as fixed-width UTC ISO text (as on the box), so they sort and compare the
same way in both databases; amounts as NUMERIC. The schema comes from the receiver's own
numbered migrations (`central/migrations.py`), never from the models.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import peewee

from ..errors import ConfigError
from ..store.files import private_database, private_dir
from ..store.models import JSONField, UTCDateTimeField


class CentralModel(peewee.Model):
    class Meta:
        legacy_table_names = False


class Site(CentralModel):
    """A site box: its id and key, and what central last heard from it."""

    id = peewee.TextField(primary_key=True)
    name = peewee.TextField(unique=True)
    key = peewee.TextField()  # the shared secret itself: HMAC needs it
    created_at = UTCDateTimeField()
    last_seen_at = UTCDateTimeField(null=True)
    outbox = peewee.TextField(null=True)
    last_event_id = peewee.BigIntegerField(default=0)
    synced_through = UTCDateTimeField(null=True)  # central has every event of the site up to here
    waiting = peewee.IntegerField(null=True)
    config_version = peewee.BigIntegerField(default=0)  # the version the box reports it runs
    status = JSONField(null=True)
    status_at = UTCDateTimeField(null=True)


class Event(CentralModel):
    site = peewee.ForeignKeyField(Site, column_name="site_id")
    outbox = peewee.TextField()
    event_id = peewee.BigIntegerField()
    type = peewee.TextField()
    at = UTCDateTimeField()
    data = peewee.TextField()  # the event's JSON as the box sent it
    amount = peewee.DecimalField(max_digits=14, decimal_places=2, null=True)
    received_at = UTCDateTimeField()


class Nonce(CentralModel):
    site = peewee.ForeignKeyField(Site, column_name="site_id")
    nonce = peewee.TextField()
    seen_at = UTCDateTimeField()

    class Meta:
        primary_key = peewee.CompositeKey("site", "nonce")


class ConfigChange(CentralModel):
    """One configuration change; its id is the version. `site` None: for every site."""

    site = peewee.ForeignKeyField(Site, column_name="site_id", null=True)
    kind = peewee.TextField()
    data = JSONField()
    created_at = UTCDateTimeField()


class Package(CentralModel):
    """A package as central sells it everywhere (`package.set` carries it to the boxes)."""

    name = peewee.TextField()
    price = peewee.IntegerField()
    duration_s = peewee.IntegerField()
    rate_limit = peewee.TextField(default="")
    data_limit = peewee.BigIntegerField(null=True)
    devices = peewee.IntegerField(default=1)
    active = peewee.BooleanField(default=True)
    created_at = UTCDateTimeField()


class Operator(CentralModel):
    username = peewee.TextField(primary_key=True)
    password_hash = peewee.TextField()
    created_at = UTCDateTimeField()


class OperatorSession(CentralModel):
    token_hash = peewee.TextField(primary_key=True)
    username = peewee.TextField()
    expires_at = UTCDateTimeField()


MODELS = (Site, Event, Nonce, ConfigChange, Package, Operator, OperatorSession)


def database_for(url: str, *, busy_timeout: float = 10.0) -> peewee.Database:
    """A peewee database (not yet connected) for a `[receiver] database` URL."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        if parsed.netloc or not parsed.path[1:]:
            raise ConfigError(f"[receiver] database {url!r}: write sqlite:///relative.db or sqlite:////absolute.db")
        path = Path(parsed.path[1:])
        try:
            if not path.parent.is_dir():
                private_dir(path.parent)
            private_database(path)  # 0640 whatever the umask, and no planted link (store/files.py)
        except OSError as exc:
            raise ConfigError(f"[receiver] database: cannot make {path}: {exc.strerror}") from None
        return peewee.SqliteDatabase(str(path), timeout=busy_timeout, pragmas={
            "journal_mode": "wal", "synchronous": "FULL", "foreign_keys": 1,
            "busy_timeout": int(busy_timeout * 1000), "cache_size": -8000})
    if parsed.scheme in ("postgresql", "postgres"):
        from playhouse.db_url import parse

        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ConfigError("[receiver] database: PostgreSQL needs the psycopg driver "
                              "(pip install 'hotspotd[postgresql]')") from None
        params = parse(url, unquote_password=True, unquote_user=True)
        if not params.get("database"):
            raise ConfigError(f"[receiver] database {url!r}: name the database, postgresql://host/dbname")
        params.setdefault("connect_timeout", 10)
        return peewee.PostgresqlDatabase(params.pop("database"), **params)
    raise ConfigError(f"[receiver] database {url!r}: must start with sqlite:/// or postgresql://")


class CentralStore:
    """The receiver's database, opened and migrated; models are bound to it."""

    def __init__(self, database: peewee.Database) -> None:
        self.db = database
        self.dialect = "postgresql" if isinstance(database, peewee.PostgresqlDatabase) else "sqlite"
        # SQLite has one writer: queue writers of this process here (a Python lock hands
        # over at once) rather than in SQLite's busy handler.
        self._write_lock = threading.RLock() if self.dialect == "sqlite" else None
        database.bind(MODELS)

    @contextmanager
    def write(self) -> Iterator[None]:
        """A write transaction; on SQLite it takes the write lock up front (BEGIN IMMEDIATE)."""
        if self._write_lock is None:
            with self.db.atomic():
                yield
            return
        with self._write_lock, self.db.atomic("IMMEDIATE"):
            yield

    def param(self, sql: str) -> str:
        """SQL written with `?` placeholders, for this database's driver."""
        return sql if self.dialect == "sqlite" else sql.replace("?", "%s")

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()


def open_central_store(url: str, *, migrate: bool = True) -> CentralStore:
    """Open the receiver's database at `url` and bring its schema up to date."""
    from . import migrations

    store = CentralStore(database_for(url))
    try:
        store.db.connect(reuse_if_open=True)
    except peewee.OperationalError as exc:
        raise ConfigError(f"[receiver] database: cannot connect: {str(exc).strip()}") from None
    if migrate:
        migrations.migrate(store)
    return store
