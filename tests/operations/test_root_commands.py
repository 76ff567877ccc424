"""Root commands on a state folder the service user owns: a link that user planted does not
make root write through it. Root works there as the folder's owner (so whatever a link
points at, it writes only what that user could), and hotspotd refuses links where it
creates or opens its files. The commands run as real processes (they change their user);
`nobody` stands in for the service user.

Needs root (the tests of this project run as root); skipped otherwise.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ..conftest import CALLBACK_TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(os.geteuid() != 0, reason="root commands need root")]

SERVICE_UID = SERVICE_GID = 65534  # nobody / nogroup
STAMP = "%Y%m%dT%H%M%SZ"
# The packages this test runs on (the project's, and its dependencies) as a site folder of that Python.
RUN_CLI = (f"import site, sys; site.addsitedir({sysconfig.get_paths()['purelib']!r}); "
           "from hotspotd.cli import main; sys.exit(main())")


def python_for_everyone() -> str:
    """This Python's version at a path every user may run (the system's), or skip."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, shutil.which(version, path="/usr/bin:/usr/local/bin") or ""):
        if candidate and all(os.stat(p).st_mode & stat.S_IXOTH for p in Path(candidate).resolve().parents):
            return candidate
    pytest.skip(f"no {version} that every user may run")


@pytest.fixture
def box():
    """A state folder owned by the service user, under a folder that user may enter (not
    pytest's tmp_path, which only root may enter), a config beside it, and a victim: a
    file of root's that no link may change."""
    base = Path(tempfile.mkdtemp(prefix="hotspotd-root-"))
    base.chmod(0o755)
    state = base / "state"
    state.mkdir(mode=0o750)
    os.chown(state, SERVICE_UID, SERVICE_GID)
    config = base / "hotspotd.ini"
    config.write_text(f"[site]\nstate_dir = {state}\n[mpesa]\nbase_url = http://127.0.0.1:9\nconsumer_key = k\n"
                      f"consumer_secret = s\npasskey = p\ncallback_token = {CALLBACK_TOKEN}\n")
    os.chown(config, 0, SERVICE_GID)
    config.chmod(0o640)
    victim = base / "victim"
    victim.write_text("root's own file\n")
    victim.chmod(0o600)
    yield Box(base, state, config, victim)
    shutil.rmtree(base)


class Box:
    def __init__(self, base: Path, state: Path, config: Path, victim: Path) -> None:
        self.base, self.state, self.config, self.victim = base, state, config, victim

    def cli(self, *args: str, user: int | None = None) -> subprocess.CompletedProcess:
        """`hotspotd ARGS` as root (or as `user`), on a Python the service user may run, as
        an installed box has it (this test's own may live under /root, which it may not enter)."""
        return subprocess.run([python_for_everyone(), "-c", RUN_CLI, "--config", str(self.config), *args],
                              capture_output=True, text=True, timeout=120, cwd=self.base, user=user,
                              group=user, extra_groups=[] if user is not None else None,
                              env={**os.environ, "HOTSPOTD_LOG_LEVEL": "WARNING"})

    def plant(self, path: Path) -> Path:
        """A link to the victim, made as the service user would."""
        path.symlink_to(self.victim)
        os.lchown(path, SERVICE_UID, SERVICE_GID)
        return path

    def victim_untouched(self) -> bool:
        info = os.stat(self.victim)
        return (self.victim.read_text() == "root's own file\n" and stat.S_IMODE(info.st_mode) == 0o600
                and (info.st_uid, info.st_gid) == (0, 0))


def owner(path: Path) -> tuple[int, int]:
    info = os.lstat(path)
    return info.st_uid, info.st_gid


def test_root_init_works_as_the_owner_of_the_state_folder(box):
    done = box.cli("init")
    assert done.returncode == 0, done.stderr
    made = sorted(p for p in box.state.iterdir())
    assert made and all(owner(p) == (SERVICE_UID, SERVICE_GID) for p in made), [(p.name, owner(p)) for p in made]
    assert all(stat.S_IMODE(os.stat(p).st_mode) & 0o037 == 0 for p in made if p.is_file())


def test_a_planted_database_link_is_refused_by_root_init(box):
    box.plant(box.state / "hotspotd.db")
    done = box.cli("init")
    assert done.returncode != 0 and "symbolic link" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and box.victim_untouched()


def test_a_planted_side_file_link_is_refused_by_root_doctor(box):
    assert box.cli("init").returncode == 0
    box.plant(box.state / "hotspotd.db-wal")  # SQLite would create the -wal through it
    done = box.cli("doctor")
    assert done.returncode == 1 and "hotspotd.db-wal: symbolic link, refused" in done.stdout, done.stdout
    assert box.victim_untouched()


def test_a_planted_backup_link_is_refused_by_root_backup(box):
    assert box.cli("init").returncode == 0
    backups = box.state / "backups"
    backups.mkdir(mode=0o750)
    os.chown(backups, SERVICE_UID, SERVICE_GID)
    now = datetime.now(timezone.utc)
    for second in range(-2, 60):  # the next minute's names: the stamp is the time of the backup
        box.plant(backups / f"hotspotd-{(now + timedelta(seconds=second)).strftime(STAMP)}.db")
    done = box.cli("backup", str(backups))
    assert done.returncode != 0 and "symbolic link" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and box.victim_untouched()
    assert not [p for p in backups.iterdir() if not p.is_symlink()]  # nothing written beside either


def test_a_planted_link_for_the_replaced_database_is_refused_by_root_restore(box):
    assert box.cli("init").returncode == 0
    backups = box.state / "backups"
    done = box.cli("backup", str(backups))
    assert done.returncode == 0, done.stderr
    assert all(owner(p) == (SERVICE_UID, SERVICE_GID) for p in [backups, *backups.iterdir()])
    now = datetime.now(timezone.utc)
    for second in range(-2, 60):
        box.plant(backups / f"before-restore-{(now + timedelta(seconds=second)).strftime(STAMP)}.db")
    done = box.cli("restore", str(sorted(backups.glob("hotspotd-*.db"))[-1]))
    assert done.returncode != 0 and "symbolic link" in done.stderr, done.stderr
    assert box.victim_untouched()


def test_the_same_refusal_for_the_service_user_itself(box):
    """Not only root: the checks do not depend on who runs the command."""
    assert box.cli("init", user=SERVICE_UID).returncode == 0
    backups = box.state / "backups"
    backups.mkdir(mode=0o750)
    os.chown(backups, SERVICE_UID, SERVICE_GID)
    now = datetime.now(timezone.utc)
    for second in range(-2, 60):
        box.plant(backups / f"hotspotd-{(now + timedelta(seconds=second)).strftime(STAMP)}.db")
    done = box.cli("backup", str(backups), user=SERVICE_UID)
    assert done.returncode != 0 and "symbolic link" in done.stderr, done.stderr
    assert box.cli("package", "list", user=SERVICE_UID).returncode == 0  # running as the service user works


def test_root_backup_into_a_folder_the_service_user_may_not_write_says_so(box):
    assert box.cli("init").returncode == 0
    private = box.base / "root-only"
    private.mkdir(mode=0o700)
    done = box.cli("backup", str(private))
    assert done.returncode != 0 and "cannot write" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_root_restore_from_a_folder_the_service_user_may_not_read_says_what_to_do(box):
    assert box.cli("init").returncode == 0
    private = box.base / "root-only"
    private.mkdir(mode=0o700)
    assert box.cli("backup", str(box.state / "backups")).returncode == 0
    for made in (box.state / "backups").glob("*.db"):
        shutil.copy(made, private / made.name)
    done = box.cli("restore", str(private))
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "copy the backup into" in done.stderr and str(box.state / "backups") in done.stderr
