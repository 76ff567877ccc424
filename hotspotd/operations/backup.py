"""Backups and restore of the databases.

`backup()` copies the app and queue databases with SQLite's online backup API (safe while
the roles run) into single self-contained files (`hotspotd-<UTC stamp>.db`,
`queue-<stamp>.db`), mode 0640. The worker makes one a night (`nightly`, after
`[backup] hour` local time, keeping the newest `[backup] keep`).

`restore()` puts an app database backup in place: it checks the file first (SQLite's
`integrity_check`, that it is a hotspotd database, not newer than this hotspotd), refuses
while any role runs on the state folder, keeps the database it replaces beside the
backups, and starts the queue empty: the reconciler turns whatever the restored record
says is unfinished back into work. `hotspotd init` (run by restore) then migrates an older
backup to this version.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ..config import Config
from ..errors import InvalidInput, NotFound
from ..store import migrations
from ..store.db import utcnow
from ..store.files import SQLITE_SIDE_FILES, private_database, private_dir
from ..store.running import roles_stopped

log = logging.getLogger(__name__)

STAMP = "%Y%m%dT%H%M%SZ"
BACKUP_NAME = re.compile(r"^hotspotd-(\d{8}T\d{6}Z)\.db$")


def _copy(source: Path, destination: Path) -> None:
    """An online copy of `source` into `destination` (created 0640), as one file (no WAL).
    A link planted at `destination` (or its journal) is refused (`store.files`)."""
    private_database(destination)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(destination)) as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    _fsync(destination)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(config: Config, folder: str | os.PathLike, now: datetime | None = None) -> list[Path]:
    """Copy the databases into `folder` (made 0750 if new; a folder given that exists keeps
    its mode, the files are 0640 anyway); returns the files written."""
    target = Path(folder)
    try:
        if not target.is_dir():
            private_dir(target)
        writable = os.access(target, os.W_OK | os.X_OK)
    except PermissionError:
        writable = False
    if not writable:  # root works as the owner of the state folder
        raise InvalidInput(f"cannot write into {target} as uid {os.geteuid()} (the owner of the state folder, "
                           "when root runs this): give a folder it may write")
    stamp = (now or utcnow()).strftime(STAMP)
    written = []
    for source in (config.app_db_path, config.queue_db_path):
        if not source.exists():
            if source == config.app_db_path:
                raise InvalidInput(f"no database at {source}: nothing to back up")
            continue
        destination = target / f"{source.stem}-{stamp}.db"
        _copy(source, destination)
        written.append(destination)
    return written


def backups(folder: Path) -> list[Path]:
    """The app database backups in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if BACKUP_NAME.match(p.name)), key=lambda p: p.name)


def nightly_due(config: Config, now: datetime) -> bool:
    """A nightly backup is on, it is past `[backup] hour` local time, and none was made today."""
    if config.backup.keep <= 0:
        return False
    zone = ZoneInfo(config.site.timezone)
    local = now.astimezone(zone)
    if local.hour < config.backup.hour:
        return False
    made = backups(config.backup_dir)
    if not made:
        return True
    last = datetime.strptime(BACKUP_NAME.match(made[-1].name).group(1), STAMP).replace(tzinfo=ZoneInfo("UTC"))
    return last.astimezone(zone).date() < local.date()


def nightly(config: Config, now: datetime) -> list[Path]:
    """The nightly backup when it is due (checked, then the oldest beyond `keep` removed)."""
    if not nightly_due(config, now):
        return []
    written = backup(config, config.backup_dir, now)
    verify(written[0])
    removed = prune(config.backup_dir, config.backup.keep)
    log.info("nightly backup %s written%s", written[0].name, f"; removed {len(removed)} old file(s)" if removed else "")
    return written


def prune(folder: Path, keep: int) -> list[Path]:
    """Remove the backups (app and queue files) older than the newest `keep`."""
    removed = []
    for old in backups(folder)[:-keep] if keep > 0 else []:
        stamp = BACKUP_NAME.match(old.name).group(1)
        for path in (old, folder / f"queue-{stamp}.db"):
            if path.exists():
                path.unlink()
                removed.append(path)
    return removed


def verify(path: Path) -> int:
    """Check a backup before trusting it; returns its schema version. InvalidInput if it is
    damaged, not a hotspotd database, or made by a newer hotspotd."""
    if not path.is_file():
        raise NotFound(f"no backup file at {path}")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                raise InvalidInput(f"{path} is damaged: {'; '.join(result[:3])}")
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"schema_migration", "payment", "router"} <= tables:
                raise InvalidInput(f"{path} is not a hotspotd database")
            version = conn.execute('SELECT MAX("version") FROM "schema_migration"').fetchone()[0] or 0
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{path} is not a readable SQLite database: {exc}") from None
    newest = max(migrations.MIGRATIONS)
    if version > newest:
        raise InvalidInput(f"{path} was made by a newer hotspotd (schema {version}, this one knows {newest}): "
                           "install that version first")
    return version


@dataclass(frozen=True)
class Restored:
    source: Path
    version: int
    kept: Path | None  # the database it replaced, kept beside the backups


def pick(path: Path) -> Path:
    """A backup file as given, or the newest backup in a folder."""
    if path.is_dir():
        found = backups(path)
        if not found:
            raise NotFound(f"no hotspotd-<stamp>.db backup in {path}")
        return found[-1]
    return path


def restore(config: Config, path: str | os.PathLike, now: datetime | None = None) -> Restored:
    """Put the backup at `path` (a file, or a folder: its newest) in place of the app database.

    The caller migrates it afterwards (`init_store`) and recreates the queue."""
    source = pick(Path(path))
    version = verify(source)
    now = now or utcnow()
    with roles_stopped(private_dir(config.state_dir)):
        current = config.app_db_path
        kept = None
        if current.exists():
            kept = private_dir(config.backup_dir) / f"before-restore-{now.strftime(STAMP)}.db"
            _copy(current, kept)
        incoming = current.with_name(current.name + ".restoring")
        incoming.unlink(missing_ok=True)
        _copy(source, incoming)
        # A stale -wal beside the new file would be replayed into it: remove the old
        # database's side files first (no role has them open: we hold the lock).
        for suffix in SQLITE_SIDE_FILES:
            Path(f"{current}{suffix}").unlink(missing_ok=True)
        os.replace(incoming, current)
        for queue_file in (config.queue_db_path, *(Path(f"{config.queue_db_path}{s}") for s in SQLITE_SIDE_FILES)):
            queue_file.unlink(missing_ok=True)
        _fsync(current.parent)
    log.info("restored %s (schema %d) into %s", source, version, current)
    return Restored(source, version, kept)
