"""Online backup of the databases with SQLite's backup API (safe while roles run)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from .config import Config
from .errors import InvalidInput


def backup(config: Config, folder: str) -> list[Path]:
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    written = []
    for source in (config.app_db_path, config.queue_db_path):
        if not source.exists():
            if source == config.app_db_path:
                raise InvalidInput(f"no database at {source}: nothing to back up")
            continue
        destination = target / f"{source.stem}-{stamp}.db"
        with sqlite3.connect(source) as src, sqlite3.connect(destination) as dst:
            src.backup(dst)
        dst.close()
        written.append(destination)
    return written
