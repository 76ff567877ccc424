"""Secrets on disk: under the usual umask 022, nothing hotspotd writes is readable by other users,
and `check-config` says so when the config or a database is."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from hotspotd import cli

from .conftest import CALLBACK_TOKEN


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def ini(tmp_path, umask_022):
    path = tmp_path / "hotspotd.ini"
    path.write_text(f"[site]\nstate_dir = {tmp_path / 'state'}\n[mpesa]\nconsumer_key = k\nconsumer_secret = s\n"
                    f"passkey = p\ncallback_token = {CALLBACK_TOKEN}\n")
    path.chmod(0o640)
    return path


def test_state_folder_databases_and_their_side_files_are_private_whatever_the_umask(ini, tmp_path, capsys):
    assert cli.main(["--config", str(ini), "init"]) == 0
    assert cli.main(["--config", str(ini), "package", "add", "--name", "Hour", "--price", "10",
                     "--duration", "1h"]) == 0
    state = tmp_path / "state"
    assert mode(state) == 0o750
    # hold each database open in WAL mode, as the roles do, so its -wal and -shm exist
    held = [sqlite3.connect(state / name) for name in ("hotspotd.db", "queue.db")]
    for conn in held:
        conn.execute("PRAGMA journal_mode=wal")
        conn.execute("CREATE TABLE IF NOT EXISTS probe (x)")
        conn.execute("INSERT INTO probe VALUES (1)")
        conn.commit()
    try:
        files = sorted(p.name for p in state.iterdir())
        assert {"hotspotd.db", "hotspotd.db-wal", "hotspotd.db-shm", "queue.db", "queue.db-wal",
                "queue.db-shm"} <= set(files)
        for name in files:
            assert mode(state / name) & 0o037 == 0, f"{name} is {oct(mode(state / name))}"
    finally:
        for conn in held:
            conn.close()
    assert cli.main(["--config", str(ini), "backup", str(tmp_path / "backups")]) == 0
    assert mode(tmp_path / "backups") == 0o750
    for copy in (tmp_path / "backups").iterdir():
        assert mode(copy) == 0o640, copy.name
    capsys.readouterr()
    assert cli.main(["--config", str(ini), "check-config"]) == 0
    assert "warning" not in capsys.readouterr().out


def test_a_database_left_readable_by_an_older_version_is_tightened_when_opened(ini, tmp_path):
    assert cli.main(["--config", str(ini), "init"]) == 0
    database = tmp_path / "state" / "hotspotd.db"
    database.chmod(0o644)
    (tmp_path / "state").chmod(0o755)
    assert cli.main(["--config", str(ini), "router", "list"]) == 0
    assert mode(database) == 0o640 and mode(tmp_path / "state") == 0o750


def test_check_config_warns_about_a_config_or_database_others_can_read(ini, tmp_path, capsys):
    assert cli.main(["--config", str(ini), "init"]) == 0
    capsys.readouterr()
    ini.chmod(0o644)
    assert cli.main(["--config", str(ini), "check-config"]) == 0  # a warning, not a refusal
    out = capsys.readouterr().out
    assert f"warning: {ini} can be read by every local user" in out and "chmod 640" in out
    ini.chmod(0o640)
    (tmp_path / "state" / "hotspotd.db").chmod(0o644)  # e.g. copied in by hand
    assert cli.main(["--config", str(ini), "check-config"]) == 0
    out = capsys.readouterr().out
    assert "1 database file(s) can be read by every local user" in out and "hotspotd.db" in out


def test_the_receiver_database_is_private_whatever_the_umask(tmp_path, umask_022):
    from hotspotd.central.store import open_central_store
    from hotspotd.errors import UnsafePath

    store = open_central_store(f"sqlite:///{tmp_path / 'central' / 'central.db'}")
    store.close()
    assert mode(tmp_path / "central") == 0o750 and mode(tmp_path / "central" / "central.db") == 0o640
    (tmp_path / "elsewhere.db").write_bytes(b"")
    (tmp_path / "linked.db").symlink_to(tmp_path / "elsewhere.db")
    with pytest.raises(UnsafePath, match="symbolic link"):
        open_central_store(f"sqlite:///{tmp_path / 'linked.db'}")
