"""Files that hold secrets: the state folder, the databases, backups, the config.

The databases hold router RADIUS secrets, customer passwords (in clear, for CHAP), full
phone numbers and admin password hashes; the config holds the Daraja passkey. Under the
usual umask 022 a plain `open()` would make them readable by every local user, so they are
created here with their mode set explicitly, whatever the umask: folders 0750, files 0640.

SQLite gives a database's `-wal` and `-shm` files the mode (and, when it runs as root, the
owner) of the database file itself, so creating the database file first, private, is
enough for all three.

The state folder belongs to the service user, who can plant a symbolic link there (a
`hotspotd-<stamp>.db` or a `-wal` pointing at a file of root's). So: files are created
and opened with O_NOFOLLOW and a link is refused (`UnsafePath`), and a command that root
runs on the state folder first becomes the folder's owner for good (`work_as_owner`):
whatever a link points at, the command can write only what that user could. Where root
still makes a file in a folder of the service user's (the folder's owner cannot enter
it, so cannot plant anything), the file is given to that user, so the roles can open it.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import sys
from pathlib import Path

from ..errors import UnsafePath

log = logging.getLogger(__name__)

DIR_MODE = 0o750
FILE_MODE = 0o640
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(path: str | os.PathLike) -> Path:
    """Make `path` (and missing parents) a folder only its owner and group can enter.

    A folder that exists already keeps its owner; one that others can read is tightened
    when this process may change it (otherwise a warning: `doctor` reports it too). The
    folder itself may be a link (an operator's choice: the state on a USB disk)."""
    folder = Path(path)
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, DIR_MODE)
        _own_like_parent(folder)
    else:
        _tighten(folder, DIR_MODE, follow=True)
    return folder


def private_file(path: str | os.PathLike) -> Path:
    """Create `path` empty with mode 0640 if it does not exist; tighten it if it does.
    UnsafePath when it is a symbolic link or not a plain file.

    An empty file is a valid empty SQLite database, so this runs before SQLite opens one."""
    file = Path(path)
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        _tighten(file, FILE_MODE)
        return file
    try:
        os.fchmod(fd, FILE_MODE)  # the umask may have taken bits away; never adds any
        _own_like_parent(file, fd)
    finally:
        os.close(fd)
    return file


def private_database(path: str | os.PathLike) -> Path:
    """A database file (and its side files if present) private before SQLite opens it."""
    database = private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        side = Path(f"{database}{suffix}")
        if side.is_symlink():  # SQLite would create or write it through the link
            raise _refused(side)
        if side.exists():
            _tighten(side, FILE_MODE)
    return database


def database_links(path: str | os.PathLike) -> list[Path]:
    """The database at `path` and its side files that are symbolic links (none should be)."""
    return [p for p in (Path(path), *(Path(f"{path}{s}") for s in SQLITE_SIDE_FILES)) if p.is_symlink()]


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


def work_as_owner(folder: str | os.PathLike) -> int | None:
    """When root runs a command on `folder` (the state folder) that another user owns,
    become that user for good (its group only) and return its uid; otherwise None.

    Root stays root when the owner could not plant anything there (it may not enter the
    folder) or could not run this Python (it may not enter its files: the command would
    stop half-way); O_NOFOLLOW and the refused links still hold then."""
    if os.geteuid() != 0:
        return None
    try:
        info = os.stat(folder)
    except FileNotFoundError:
        return None
    uid, gid = info.st_uid, info.st_gid
    if uid == 0:
        return None
    if not _enterable_by(Path(folder), uid, gid):
        return None
    needed = (Path(os.__file__).parent, Path(__file__).parents[1], Path(sys.executable).parent)
    blocked = [str(p) for p in needed if not _enterable_by(p, uid, gid)]
    if blocked:
        log.warning("working on %s as root: its owner (uid %d) may not run this Python (%s)", folder, uid,
                    ", ".join(blocked))
        return None
    os.setgroups([gid])
    os.setgid(gid)
    os.setuid(uid)
    log.debug("working on %s as uid %d, its owner", folder, uid)
    return uid


def _enterable_by(path: Path, uid: int, gid: int) -> bool:
    """Whether `uid` (with group `gid` only) may enter `path` and every folder above it."""
    try:
        resolved = path.resolve(strict=True)
    except OSError:
        return False
    for folder in (*reversed(resolved.parents), resolved):
        info = os.stat(folder)
        if not stat.S_ISDIR(info.st_mode):
            continue
        bit = stat.S_IXUSR if info.st_uid == uid else stat.S_IXGRP if info.st_gid == gid else stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def _refused(path: Path) -> UnsafePath:
    return UnsafePath(f"{path} is a symbolic link (or not a plain file): refused, a user who may write in "
                      f"{path.parent} could point it anywhere; remove it and try again")


def _tighten(path: Path, mode: int, *, follow: bool = False) -> None:
    """Take away what `mode` does not allow (never adds bits). Unless `follow`, anything
    but a plain file is refused, and the mode is changed through a descriptor opened with
    O_NOFOLLOW: a link swapped in meanwhile changes nothing."""
    try:
        info = os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        return
    if not follow and not stat.S_ISREG(info.st_mode):
        raise _refused(path)
    current = stat.S_IMODE(info.st_mode)
    if current & stat.S_ISVTX or not current & ~mode:
        return  # a shared folder such as /tmp is not ours to close; or nothing to take away
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
        try:
            now = os.fstat(fd)
            if not follow and not stat.S_ISREG(now.st_mode):
                raise _refused(path)
            os.fchmod(fd, stat.S_IMODE(now.st_mode) & mode)
        finally:
            os.close(fd)
    except PermissionError:
        log.warning("%s can be read by other users and is not ours to change: chmod o-rwx %s", path, path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refused(path) from None
        raise


def _own_like_parent(path: Path, fd: int | None = None) -> None:
    """Root creating a file in the service user's folder gives the file to that user
    (through the new file's descriptor, or without following a link)."""
    if os.geteuid() != 0:
        return
    parent = os.stat(path.parent)
    if (parent.st_uid, parent.st_gid) != (0, 0):
        if fd is not None:
            os.fchown(fd, parent.st_uid, parent.st_gid)
        else:
            os.chown(path, parent.st_uid, parent.st_gid, follow_symlinks=False)
