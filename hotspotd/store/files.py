"""Files that hold secrets: the state folder, the databases, backups, the config.

The databases hold router RADIUS secrets, customer passwords (in clear, for CHAP), full
phone numbers and admin password hashes; the config holds the Daraja passkey. Under the
usual umask 022 a plain `open()` would make them readable by every local user, so they are
created here with their mode set explicitly, whatever the umask: folders 0750, files 0640.

SQLite gives a database's `-wal` and `-shm` files the mode (and, when it runs as root, the
owner) of the database file itself, so creating the database file first, private, is
enough for all three. When root makes a file in a folder that belongs to the service user
(`sudo hotspotd init`, `restore`, `backup`), the file is given to that user too, so the
roles can still open it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o750
FILE_MODE = 0o640
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(path: str | os.PathLike) -> Path:
    """Make `path` (and missing parents) a folder only its owner and group can enter.

    A folder that exists already keeps its owner; one that others can read is tightened
    when this process may change it (otherwise a warning: `doctor` reports it too)."""
    folder = Path(path)
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, DIR_MODE)
        _own_like_parent(folder)
    else:
        _tighten(folder, DIR_MODE)
    return folder


def private_file(path: str | os.PathLike) -> Path:
    """Create `path` empty with mode 0640 if it does not exist; tighten it if it does.

    An empty file is a valid empty SQLite database, so this runs before SQLite opens one."""
    file = Path(path)
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        _tighten(file, FILE_MODE)
        return file
    try:
        os.fchmod(fd, FILE_MODE)  # the umask may have taken bits away; never adds any
    finally:
        os.close(fd)
    _own_like_parent(file)
    return file


def private_database(path: str | os.PathLike) -> Path:
    """A database file (and its side files if present) private before SQLite opens it."""
    database = private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        side = Path(f"{database}{suffix}")
        if side.exists():
            _tighten(side, FILE_MODE)
    return database


def readable_by_others(path: str | os.PathLike) -> bool:
    """True when users outside the file's owner and group can read (or enter) it."""
    try:
        return bool(os.stat(path).st_mode & stat.S_IROTH)
    except FileNotFoundError:
        return False


def exposed(paths: list[Path]) -> list[Path]:
    """The paths among `paths` (and SQLite side files of the databases) that others can read."""
    found = []
    for path in paths:
        candidates = [path] + ([Path(f"{path}{s}") for s in SQLITE_SIDE_FILES] if path.suffix == ".db" else [])
        found += [p for p in candidates if readable_by_others(p)]
    return found


def _tighten(path: Path, mode: int) -> None:
    """Take away what `mode` does not allow (never adds bits)."""
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
        if current & stat.S_ISVTX:
            return  # a shared folder such as /tmp is not ours to close
        if current & ~mode:
            os.chmod(path, current & mode)
    except PermissionError:
        log.warning("%s can be read by other users and is not ours to change: chmod o-rwx %s", path, path)
    except FileNotFoundError:
        pass


def _own_like_parent(path: Path) -> None:
    """Root creating a file in the service user's folder gives the file to that user."""
    if os.geteuid() != 0:
        return
    parent = os.stat(path.parent)
    if (parent.st_uid, parent.st_gid) != (0, 0):
        os.chown(path, parent.st_uid, parent.st_gid)
