"""The app database: models, migrations, and how every role opens it."""

from __future__ import annotations

from ..config import Config
from ..errors import ConfigError
from . import migrations
from .db import db, open_database, utcnow, write_transaction

__all__ = ["db", "open_database", "open_store", "init_store", "release", "utcnow", "write_transaction"]


def init_store(config: Config) -> list[int]:
    """Create or migrate the app database; idempotent. Returns migrations applied now."""
    open_database(config.app_db_path, synchronous=config.store.synchronous, busy_timeout=config.store.busy_timeout)
    return migrations.migrate()


def open_store(config: Config):
    """Open the app database for a role; refuse a database that `init` has not migrated."""
    if not config.app_db_path.exists():
        raise ConfigError(f"no database at {config.app_db_path}: run `hotspotd init` first")
    database = open_database(config.app_db_path, synchronous=config.store.synchronous,
                             busy_timeout=config.store.busy_timeout)
    missing = migrations.pending()
    if missing:
        raise ConfigError(f"database {config.app_db_path} lacks migrations {missing} that this hotspotd needs: "
                          "run `hotspotd init` to migrate")
    return database


def release() -> None:
    """Close this thread's (or greenlet's) database connection; the next use reopens it."""
    if not db.is_closed():
        db.close()
