"""Backups and restore with a clock passed in: the nightly backup, what restore checks first,
and what it refuses."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timedelta, timezone

import pytest

from hotspotd.operations import backup
from hotspotd import config as config_mod
from hotspotd.billing.packages import add_package
from hotspotd.errors import Conflict, InvalidInput
from hotspotd.plumbing.runtime import Runtime
from hotspotd.store import init_store
from hotspotd.store.db import db
from hotspotd.store.models import Package
from hotspotd.store.running import hold_shared, roles_running
from hotspotd.store.migrations import MIGRATIONS

NAIROBI_2AM = datetime(2026, 11, 23, 23, 0, tzinfo=timezone.utc)  # 02:00 in Nairobi (UTC+3)


@pytest.fixture
def site(tmp_path):
    config = config_mod.load(None, overrides={"site": {"state_dir": str(tmp_path / "state")},
                                              "backup": {"keep": "3", "hour": "3"}})
    init_store(config)
    Runtime(config).queue.create_storage()
    yield config
    db.close()


def packages() -> list[str]:
    return [p.name for p in Package.select().order_by(Package.id)]


def test_the_nightly_backup_runs_once_a_night_after_the_hour_and_keeps_the_newest(site):
    assert not backup.nightly_due(site, NAIROBI_2AM)
    assert backup.nightly(site, NAIROBI_2AM) == []
    three_am = NAIROBI_2AM + timedelta(hours=1)
    written = backup.nightly(site, three_am)
    assert [p.name for p in written] == ["hotspotd-20261124T000000Z.db", "queue-20261124T000000Z.db"]
    assert backup.nightly(site, three_am + timedelta(hours=5)) == []  # once a night
    for night in range(1, 6):
        backup.nightly(site, three_am + timedelta(days=night, minutes=7))
    kept = sorted(p.name for p in site.backup_dir.iterdir())
    assert len(kept) == 6 and kept[0] == "hotspotd-20261127T000700Z.db" and kept[-1].startswith("queue-20261129")
    # a box that was off at 3 o'clock makes up for it when it is back
    assert backup.nightly_due(site, three_am + timedelta(days=6, hours=10))
    off = config_mod.load(None, overrides={"site": {"state_dir": str(site.state_dir)}, "backup": {"keep": "0"}})
    assert not backup.nightly_due(off, three_am + timedelta(days=9))


def test_restore_puts_the_backup_in_place_and_keeps_what_it_replaced(site, now):
    add_package(name="Hour", price=10, duration="1h", now=now)
    (made, _) = backup.backup(site, site.backup_dir, now)
    add_package(name="Day", price=50, duration="1d", now=now)
    db.close()
    done = backup.restore(site, site.backup_dir, now + timedelta(minutes=1))
    assert done.source == made and done.version == max(MIGRATIONS)
    init_store(site)
    assert packages() == ["Hour"]
    kept = sqlite3.connect(done.kept)
    assert [row[0] for row in kept.execute("SELECT name FROM package ORDER BY id")] == ["Hour", "Day"]
    assert not site.queue_db_path.exists()  # the queue starts empty; the reconciler refills it


def test_restore_onto_a_new_box_with_no_database_yet(site, tmp_path, now):
    add_package(name="Hour", price=10, duration="1h", now=now)
    (made, _) = backup.backup(site, tmp_path / "offsite", now)
    db.close()
    fresh = config_mod.load(None, overrides={"site": {"state_dir": str(tmp_path / "new-box")}})
    assert backup.restore(fresh, made).kept is None
    init_store(fresh)
    assert packages() == ["Hour"]


def test_restore_refuses_while_a_role_runs(site, now):
    (made, _) = backup.backup(site, site.backup_dir, now)
    db.close()
    lock = hold_shared(site.state_dir)  # what every role process holds while it runs
    try:
        assert roles_running(site.state_dir)
        with pytest.raises(Conflict, match="roles are running"):
            backup.restore(site, made)
    finally:
        lock.close()
    assert not roles_running(site.state_dir)
    backup.restore(site, made)


def corrupt_an_index(path) -> None:
    """Point one entry of an index at a row id that is not there: the file opens, every
    table reads and the schema is whole; only `PRAGMA integrity_check` sees the damage."""
    with closing(sqlite3.connect(path)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = next(root for table, root in conn.execute(
            "SELECT tbl_name, rootpage FROM sqlite_master WHERE type = 'index' AND rootpage > 1")
            if conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
    raw = bytearray(path.read_bytes())
    page = (root - 1) * page_size
    assert raw[page] == 0x0A  # a leaf page of an index b-tree
    cell = page + int.from_bytes(raw[page + 8:page + 10], "big")  # the first cell
    size = raw[cell]  # the payload's length, a one-byte varint for a short entry
    assert size < 0x80
    raw[cell + size] ^= 0x01  # the payload's last byte: the low byte of the row id
    path.write_bytes(bytes(raw))


def test_restore_refuses_a_backup_that_reads_but_fails_the_integrity_check(site, now):
    add_package(name="Hour", price=10, duration="1h", now=now)
    (made, _) = backup.backup(site, site.backup_dir, now)
    corrupt_an_index(made)
    with closing(sqlite3.connect(f"file:{made}?mode=ro", uri=True)) as conn:  # reads as a hotspotd database
        assert conn.execute('SELECT MAX("version") FROM "schema_migration"').fetchone()[0] == max(MIGRATIONS)
        assert conn.execute('SELECT "name" FROM "package"').fetchall() == [("Hour",)]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok"
    add_package(name="Day", price=50, duration="1d", now=now)
    db.close()
    with pytest.raises(InvalidInput, match="is damaged"):
        backup.restore(site, made)
    init_store(site)
    assert packages() == ["Hour", "Day"]  # the database in place is the one before


@pytest.mark.parametrize("spoil, error", [
    (lambda path: path.write_bytes(path.read_bytes()[:8192] + b"\x00" * 100 + path.read_bytes()[8292:]),
     "damaged|not a readable"),
    (lambda path: path.write_bytes(b"this is not a database at all" * 100), "not a readable SQLite database"),
    (lambda path: (path.unlink(), sqlite3.connect(path).execute("CREATE TABLE x (y)")), "not a hotspotd database"),
    (lambda path: sqlite3.connect(path).execute("INSERT INTO schema_migration VALUES (99, 'x')").connection.commit(),
     "made by a newer hotspotd"),
])
def test_restore_checks_the_backup_first_and_changes_nothing_when_it_is_bad(site, now, spoil, error):
    add_package(name="Hour", price=10, duration="1h", now=now)
    (made, _) = backup.backup(site, site.backup_dir, now)
    spoil(made)
    db.close()
    with pytest.raises(InvalidInput, match=error):
        backup.restore(site, made)
    init_store(site)
    assert packages() == ["Hour"]
