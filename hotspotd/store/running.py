"""Whether any role is running on this state folder, without asking systemd or ps.

Every role process holds a shared lock on `roles.lock` in the state folder for as long as
it runs (the kernel drops it when the process ends, however it ends). `restore` takes the
lock exclusively: it refuses while a role holds it, and a role that starts meanwhile waits
until the restore is done instead of opening a database that is being replaced.
"""

from __future__ import annotations

import fcntl
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from ..errors import Conflict
from .files import private_dir, private_file

log = logging.getLogger(__name__)

ROLES_LOCK = "roles.lock"


def hold_shared(state_dir: Path) -> BinaryIO | None:
    """Take the shared lock for a role process; keep the returned file open while it runs.
    None when there is no state folder (the role then refuses to start: no database)."""
    if not state_dir.is_dir():
        return None
    handle = open(private_file(state_dir / ROLES_LOCK), "rb")
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        log.warning("a restore is running on %s; waiting for it to finish", state_dir)
        fcntl.flock(handle, fcntl.LOCK_SH)
    return handle


@contextmanager
def roles_stopped(state_dir: Path) -> Iterator[None]:
    """Hold the lock exclusively; Conflict when a role is running."""
    private_dir(state_dir)
    with open(private_file(state_dir / ROLES_LOCK), "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict("hotspotd roles are running on this state folder: stop them first "
                           "(systemctl stop hotspotd.target, or stop `hotspotd run`)") from None
        yield


def roles_running(state_dir: Path) -> bool:
    """True when a role process holds the lock (for `doctor`)."""
    path = state_dir / ROLES_LOCK
    if not path.exists():
        return False
    with open(path, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
