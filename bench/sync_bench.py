"""Central sync catch-up: a backlog of queued events (a busy site's mix: payments and
session events) sent by the real worker role to the real receiver role on loopback, with
the receiver on SQLite and on PostgreSQL. Prints a table.

    .venv/bin/python bench/sync_bench.py [--events 100000] [--backends sqlite,postgresql]

Measured: events/s (first acknowledgement to the last), bytes sent per event (gzip bodies,
as the worker logs them), peak RSS of the worker and of the receiver, and the worker's
peak RSS with a backlog ten times smaller (it must not grow with the backlog). Targets
(issue 10): at least 5,000 events/s on SQLite; the worker's RSS flat.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.site import Site, http, wait_for  # noqa: E402
from tests.loopback import free_port  # noqa: E402
from tests.pgserver import PostgresServer  # noqa: E402
from tests.sync.outbox_fill import busy_days, fill  # noqa: E402


class Receiver:
    def __init__(self, folder: Path, database: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.config = folder / "central.ini"
        self.config.write_text(f"[site]\nstate_dir = {folder / 'central-state'}\n\n"
                               f"[receiver]\nlisten = 127.0.0.1:{self.port}\ndatabase = {database}\n")
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str) -> str:
        return subprocess.run([sys.executable, "-m", "hotspotd", "--config", str(self.config), *args],
                              check=True, capture_output=True, text=True, timeout=120).stdout

    def start(self) -> None:
        log = open(self.folder / "central.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "hotspotd", "--config", str(self.config), "run",
                                      "--role", "central"], stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: http("GET", f"http://127.0.0.1:{self.port}/healthz")[0] == 200, 60, "receiver")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(30)


def cursor(db_path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(str(db_path), timeout=30)
    try:
        done = conn.execute('SELECT "cursor" FROM "sync_state"').fetchone()[0]
        top = conn.execute('SELECT MAX("id") FROM "event"').fetchone()[0] or 0
        return done, top
    finally:
        conn.close()


def run_case(folder: Path, database: str, events: int) -> dict:
    receiver = Receiver(folder, database)
    site_id, key = json.loads(receiver.cli("central", "site", "add", "Bench", "--json")).values()
    (folder / "box").mkdir()
    site = Site(folder / "box", "http://127.0.0.1:9",
                central={"url": f"http://127.0.0.1:{receiver.port}", "site_id": site_id, "site_key": key,
                         "interval": "3600", "max_backoff": "1", "allow_insecure": "yes"})
    days = events / 58000 + 1
    queued = fill(site.folder / "state" / "hotspotd.db", itertools.islice(busy_days(days), events))
    receiver.start()
    peak = {"worker": 0, "receiver": 0}
    started = time.monotonic()
    worker = site.start("worker")
    first = None
    try:
        procs = {"worker": psutil.Process(worker.pid), "receiver": psutil.Process(receiver.proc.pid)}
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            for name, proc in procs.items():
                peak[name] = max(peak[name], proc.memory_info().rss)
            done, top = cursor(site.folder / "state" / "hotspotd.db")
            if done and first is None:
                first = (time.monotonic(), done)
            if done >= queued:
                break
            time.sleep(0.05)
        finished = time.monotonic()
        done, _ = cursor(site.folder / "state" / "hotspotd.db")
    finally:
        site.stop()
        receiver.stop()
    sent = sum(int(m.group(1)) for m in re.finditer(r"sync: \d+ events in \d+ batches \((\d+) bytes\)",
                                                    site.log("worker")))
    events_per_s = (done - first[1]) / max(1e-9, finished - first[0]) if first else 0.0
    return {"events": queued, "delivered": done, "events_per_s": events_per_s, "total_s": finished - started,
            "bytes_per_event": sent / max(1, done), "worker_mb": peak["worker"] / 2**20,
            "receiver_mb": peak["receiver"] / 2**20}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    rows = []
    postgres = None
    try:
        for backend in args.backends.split(","):
            for count in (args.events, args.events // 10):
                if backend != "sqlite" and count != args.events:
                    continue
                with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
                    if backend == "sqlite":
                        database = f"sqlite:///{Path(tmp) / 'central.db'}"
                    else:
                        postgres = postgres or PostgresServer().start()
                        database = postgres.new_database()
                    result = run_case(Path(tmp), database, count)
                rows.append((backend, result))
                print(f"{backend}: {result}", file=sys.stderr)
    finally:
        if postgres:
            postgres.stop()
    print(f"\n{'receiver':<11} {'backlog':>8} {'events/s':>9} {'bytes/event':>12} {'worker RSS':>11} "
          f"{'receiver RSS':>13} {'all sent':>9}")
    for backend, r in rows:
        print(f"{backend:<11} {r['events']:>8,} {r['events_per_s']:>9,.0f} {r['bytes_per_event']:>12.1f} "
              f"{r['worker_mb']:>8.0f} MB {r['receiver_mb']:>10.0f} MB {r['total_s']:>7.1f} s")
    lost = [r for _, r in rows if r["delivered"] < r["events"]]
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
