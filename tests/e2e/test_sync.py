"""Central sync with real processes: the receiver role, the worker role, the command line.

The week: a busy site's week of events is generated while the receiver is down; when it
comes back, the worker catches up while it is killed with SIGKILL twice, and every event
arrives exactly once (ids compared on both sides).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ..sync.outbox_fill import busy_days, fill
from .site import Site, http, wait_for
from ..loopback import free_port

pytestmark = pytest.mark.e2e


class ReceiverProcess:
    """`hotspotd run --role central` on its own config."""

    def __init__(self, folder: Path, database: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = folder / "central.ini"
        self.config.write_text(f"[site]\nstate_dir = {folder / 'state'}\n\n"
                               f"[receiver]\nlisten = 127.0.0.1:{self.port}\ndatabase = {database}\n")
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hotspotd", "--config", str(self.config), *args], input=stdin,
                              capture_output=True, text=True, timeout=120)

    def register(self, name: str) -> dict[str, str]:
        result = self.cli("central", "site", "add", name, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def start(self) -> None:
        log = open(self.folder / "central.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "hotspotd", "--config", str(self.config), "run", "--role",
                                      "central"], stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: http("GET", self.url + "/healthz")[0] == 200, 60, "receiver /healthz")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


@pytest.fixture
def receiver(tmp_path):
    process = ReceiverProcess(tmp_path / "central", f"sqlite:///{tmp_path / 'central' / 'central.db'}")
    yield process
    process.stop()


@pytest.fixture
def any_receiver(tmp_path, receiver_url):
    """The receiver process on SQLite, then on PostgreSQL."""
    process = ReceiverProcess(tmp_path / "central", receiver_url)
    process.database = receiver_url
    yield process
    process.stop()


def central_events(url: str, site_id: str) -> tuple[list[int], tuple[int, float]]:
    """The event ids the receiver stored for a site, and its payments (count, total)."""
    from hotspotd.central.store import Event, open_central_store
    from peewee import fn

    store = open_central_store(url, migrate=False)
    try:
        ids = [e.event_id for e in Event.select(Event.event_id).where(Event.site == site_id).order_by(Event.event_id)]
        paid = (Event.select(fn.COUNT(Event.id), fn.SUM(Event.amount))
                .where((Event.site == site_id) & (Event.type == "payment.processed")).scalar(as_tuple=True))
        return ids, (paid[0], float(paid[1] or 0))
    finally:
        store.close()


def box_site(folder: Path, receiver: ReceiverProcess, registration: dict[str, str], **central: str) -> Site:
    folder.mkdir()
    return Site(folder, "http://127.0.0.1:9", central={"url": receiver.url, "allow_insecure": "yes",
                                                           **registration, **central})


def box_state(site: Site) -> tuple[int, int]:
    conn = sqlite3.connect(str(site.folder / "state" / "hotspotd.db"), timeout=30)
    try:
        return (conn.execute('SELECT "cursor" FROM "sync_state"').fetchone()[0],
                conn.execute('SELECT MAX("id") FROM "event"').fetchone()[0] or 0)
    finally:
        conn.close()


def test_a_week_offline_arrives_exactly_once_though_the_box_is_killed_twice(tmp_path, any_receiver):
    receiver = any_receiver
    registration = receiver.register("Busy Cafe")
    site = box_site(tmp_path / "box", receiver, registration, interval="2", max_backoff="1", timeout="10")
    try:
        queued = fill(site.folder / "state" / "hotspotd.db", busy_days(7))  # receiver down all week
        assert queued == 7 * 58000
        site.start("worker")
        wait_for(lambda: "central server unreachable" in site.log("worker"), 60, "a failed pass while down")
        assert box_state(site)[0] == 0

        site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h")
        receiver.start()
        peak = [0]

        def progress(share: float) -> bool:  # and the worker's memory while it catches up
            peak[0] = max(peak[0], psutil.Process(site.procs["worker"].pid).memory_info().rss)
            return box_state(site)[0] >= queued * share

        killed_at = []
        for share in (1 / 3, 2 / 3):
            wait_for(lambda: progress(share), 300, f"{share:.0%} of the catch-up", 0.01)
            site.kill("worker")  # SIGKILL, in the middle of the catch-up
            killed_at.append(box_state(site)[0])
            site.start("worker")
            site.cli("voucher", "make", "--package", "1", "--count", "1")  # the box goes on selling meanwhile
        assert all(queued / 3 <= at < queued for at in killed_at), killed_at
        wait_for(lambda: progress(1) and box_state(site)[0] >= box_state(site)[1], 300, "the whole week acknowledged")
        assert peak[0] < 150 * 2**20  # one batch in memory at a time, not the week
    finally:
        site.stop()
        receiver.stop()

    box = sqlite3.connect(str(site.folder / "state" / "hotspotd.db"))
    box_ids = [row[0] for row in box.execute('SELECT "id" FROM "event" ORDER BY "id"')]
    box.close()
    central_ids, paid = central_events(receiver.database, registration["site_id"])
    assert len(central_ids) == len(box_ids) > queued  # the week, and the box's own sync events
    assert central_ids == box_ids
    assert paid == (14000, 14000 * 50)


def test_sync_now_and_status_from_the_command_line(tmp_path, receiver):
    registration = receiver.register("Corner Shop")
    assert receiver.cli("central", "site", "add", "Corner Shop").returncode == 1  # exists already
    site = box_site(tmp_path / "box", receiver, registration)
    fill(site.folder / "state" / "hotspotd.db", busy_days(0.01))
    status = json.loads(site.cli("sync", "status", "--json").stdout)
    assert status["waiting"] == 580 and status["last_success"] is None and status["last_error"] is None

    failed = site.cli("sync", "now", check=False)  # the receiver is not running
    assert failed.returncode == 1 and "unreachable" in failed.stdout
    status = json.loads(site.cli("sync", "status", "--json").stdout)
    assert "unreachable" in status["last_error"] and status["waiting"] == 581  # and sync.failed

    assert receiver.cli("central", "package", "add", "--name", "Day", "--price", "50", "--duration", "1d").returncode == 0
    assert receiver.cli("central", "package", "set", "1", "--price", "60").returncode == 0
    codes = receiver.cli("central", "voucher", "make", "--site", registration["site_id"], "--package", "1",
                         "--count", "3").stdout.split()
    assert len(codes) == 3
    assert receiver.cli("central", "device", "block", "aa:bb:cc:dd:ee:09", "--reason", "abuse").returncode == 0
    assert receiver.cli("central", "setting", "set", "notice=Closed on Sunday").returncode == 0
    refused = receiver.cli("central", "setting", "set", "timezone=Mars/Base")
    assert refused.returncode == 1 and "unknown time zone" in refused.stderr
    assert receiver.cli("central", "admin", "add", "boss", stdin="correct horse\n").returncode == 0

    receiver.start()
    done = site.cli("sync", "now", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "applied 5 configuration change(s)" in done.stdout
    status = json.loads(site.cli("sync", "status", "--json").stdout)
    assert status["waiting"] == 0 and status["last_success"] and status["last_error"] is None
    assert status["config_version"] == 5
    packages = json.loads(site.cli("package", "list", "--json").stdout)
    assert [(p["name"], p["price"]) for p in packages] == [("Day", 60)]
    box = sqlite3.connect(str(site.folder / "state" / "hotspotd.db"))
    assert sorted(r[0] for r in box.execute('SELECT "code" FROM "voucher"')) == sorted(codes)
    assert box.execute('SELECT "mac", "reason" FROM "blocked_device"').fetchall() == [("AA:BB:CC:DD:EE:09", "abuse")]
    box.close()

    listed = json.loads(receiver.cli("central", "site", "list", "--json").stdout)
    assert [(s["id"], s["events"]) for s in listed] == [(registration["site_id"], box_state(site)[1])]

    started = time.monotonic()
    receiver.proc.send_signal(signal.SIGTERM)
    assert receiver.proc.wait(10) == 0 and time.monotonic() - started < 5  # the role stops cleanly
