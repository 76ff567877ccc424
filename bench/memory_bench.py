"""Memory of a whole site: RSS and PSS of every role idle, and their peaks under load.

    .venv/bin/python bench/memory_bench.py [--supervised | --apart] [--subscribers 10000] [--seconds 15]

The site runs as the systemd units run it: three processes (portal, the back office of
console and worker, radius); with `--supervised` as `hotspotd run` runs it (a supervisor
and those three children); with `--apart` as hotspotd ran before the back office, one
process per role (portal, admin, worker, radius), for the comparison. The store holds
`--subscribers` customers with a current subscription (what a busy site's RADIUS view
holds). Before the idle sample a customer pays (the portal loads its Daraja client) and
the worker makes a sync pass to a central server that does not answer (its HTTP client):
what every site has loaded within minutes. Load, all at once: a burst of 1,000 M-Pesa
callbacks at 32 connections (portal, then the worker), RADIUS Access-Requests at 64 in
flight (radius), and 20 console websockets plus the dashboard asked twice a second (the
console). RSS counts the shared Python and SQLite libraries once per process; PSS shares
them out. Target (issue 11): the whole site under 150 MB RSS under load.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.callback_bench import fire, seed  # noqa: E402
from bench.radius_bench import SECRET, load as radius_load  # noqa: E402
from hotspotd import config as config_mod  # noqa: E402
from hotspotd.plumbing.processes import PROCESSES, ROLES  # noqa: E402
from hotspotd.sim.daraja import DarajaSimulator, success_callback  # noqa: E402
from hotspotd.store.db import db, open_database, write_transaction  # noqa: E402
from tests.e2e.site import Site, admin_login, free_port, http, wait_for  # noqa: E402
from tests.e2e.wsclient import WebSocket  # noqa: E402

PASSWORD = "correct horse battery"


def subscribers(count: int) -> list[tuple[bytes, bytes]]:
    """`count` customers with credentials and a day's subscription, written in plain SQL."""
    now = datetime.now(timezone.utc)
    t = lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    created, ends = t(now), t(now + timedelta(days=1))
    users = []
    with write_transaction():
        db.execute_sql("INSERT INTO package (name, price, duration_s, rate_limit, data_limit, devices, active, "
                       "created_at) VALUES ('day', 50, 86400, '2M/5M', NULL, 1000000, 1, ?)", (created,))
        package = db.execute_sql("SELECT MAX(id) FROM package").fetchone()[0]
        for i in range(count):
            cid = db.execute_sql("INSERT INTO customer (phone, created_at) VALUES (NULL, ?)", (created,)).lastrowid
            name, password = f"user{i:05d}", secrets.token_hex(4)
            db.execute_sql("INSERT INTO credential (customer_id, username, password, created_at) VALUES (?, ?, ?, ?)",
                           (cid, name, password, created))
            db.execute_sql("INSERT INTO subscription (customer_id, package_id, status, starts_at, ends_at, "
                           "data_limit, bytes_used, created_at, updated_at) VALUES (?, ?, 'active', ?, ?, NULL, 0, "
                           "?, ?)", (cid, package, created, ends, created, created))
            users.append((name.encode(), password.encode()))
    return users


class Watch(threading.Thread):
    """Samples the RSS of every process of the site; keeps each one's peak."""

    def __init__(self, procs: dict[str, psutil.Process]) -> None:
        super().__init__(daemon=True)
        self.procs = procs
        self.peak = {name: 0 for name in procs}
        self.stop = threading.Event()

    def sample(self) -> dict[str, int]:
        now = {}
        for name, proc in self.procs.items():
            try:
                now[name] = proc.memory_info().rss
            except psutil.Error:
                now[name] = 0
            self.peak[name] = max(self.peak[name], now[name])
        return now

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.sample()


def pss(procs: dict[str, psutil.Process]) -> dict[str, int]:
    out = {}
    for name, proc in procs.items():
        try:
            out[name] = proc.memory_full_info().pss
        except psutil.Error:
            out[name] = 0
    return out


def site_back_office(site: Site) -> str:
    return next(name for name in site.procs if "worker" in name.split(",") or name == "run")


def site_processes(site: Site, supervisor: psutil.Process | None) -> dict[str, psutil.Process]:
    if supervisor is None:
        return {name: psutil.Process(proc.pid) for name, proc in site.procs.items()}
    found = {"supervisor": supervisor}
    for child in supervisor.children(recursive=True):
        found[child.cmdline()[-1]] = child
    return found


def admin_load(site: Site, boss, stop: threading.Event) -> None:
    base = f"http://127.0.0.1:{site.admin_port}"
    sockets = [WebSocket("127.0.0.1", site.admin_port, "/ws", {"Cookie": boss.cookie, "Origin": base})
               for _ in range(20)]
    readers = []
    for ws in sockets:
        def drain(ws=ws):
            try:
                while not stop.is_set():
                    ws.receive()
            except Exception:
                pass
        readers.append(threading.Thread(target=drain, daemon=True))
        readers[-1].start()
    while not stop.wait(0.5):
        http("GET", base + "/api/admin/dashboard", headers={"Cookie": boss.cookie})
    for ws in sockets:
        ws.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "memory").splitlines()[0])
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument("--supervised", action="store_true", help="run the site under `hotspotd run`")
    layout.add_argument("--apart", action="store_true", help="one process per role (before the back office)")
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=15.0, help="RADIUS load duration")
    args = parser.parse_args()
    radius_port = free_port(socket.SOCK_DGRAM)
    with tempfile.TemporaryDirectory() as folder, DarajaSimulator() as sim:
        extra = {"portal": {"threads": os.environ["PORTAL_THREADS"]}} if os.environ.get("PORTAL_THREADS") else {}
        # A central server that does not answer (the uplink is down): the worker's sync
        # passes load its HTTP client as they would at any site that syncs.
        central = {"url": f"http://127.0.0.1:{free_port()}", "allow_insecure": "yes", "site_id": "bench",
                   "site_key": "bench-key",
                   "interval": "5"}
        site = Site(Path(folder), sim.url, queue={"reconcile_interval": "5"}, central=central, **extra,
                    mpesa={"query_after": "60", "pending_timeout": "300"},
                    radius={"listen": "127.0.0.1", "auth_port": str(radius_port),
                            "acct_port": str(free_port(socket.SOCK_DGRAM))})
        site.cli("admin", "add", "boss", stdin=PASSWORD + "\n")
        site.cli("router", "add", "--name", "bench", "--host", "127.0.0.1", "--secret", SECRET.decode())
        config = config_mod.load(site.config_path)
        open_database(config.app_db_path)
        users = subscribers(args.subscribers)
        payments = seed(1000)
        bodies = [json.dumps(success_callback(p.checkout_request_id, p.merchant_request_id, 10.0, f"M{i:09d}",
                                              int(p.phone), datetime.now(timezone.utc))).encode()
                  for i, p in enumerate(payments)]
        db.close()
        supervisor = None
        try:
            if args.supervised:
                import subprocess
                log = open(Path(folder) / "run.log", "wb")
                proc = subprocess.Popen([sys.executable, "-m", "hotspotd", "--config", str(site.config_path), "run"],
                                        stdout=log, stderr=subprocess.STDOUT, env=site.env())
                site.procs["run"] = proc
                supervisor = psutil.Process(proc.pid)
                wait_for(lambda: len(supervisor.children()) == len(PROCESSES), 60, "the site's processes")
                wait_for(lambda: http("GET", site.portal + "/healthz")[0] == 200, 60, "portal")
            else:
                for name in ROLES if args.apart else PROCESSES:
                    site.start(name)
            wait_for(lambda: radius_load(radius_port, users, 0.3)["ok"] > 0, 60, "radius answering")
            # What every site does within minutes: a customer pays (the portal's Daraja client
            # sends an STK push) and the worker tries a sync pass (its HTTP client).
            status, body = http("POST", site.portal + "/api/portal/pay", {"package_id": 1, "phone": "0712000001",
                                                                        "mac": "AA:BB:CC:00:00:01", "ip": "10.5.50.2"})
            assert status == 202, body
            wait_for(lambda: "sync with" in site.log(site_back_office(site)), 60, "a sync pass")
            # The operator logs in first: checking a password is scrypt with 16 MB of its own
            # for ~50 ms (its memory-hardness is the point); see the note printed below.
            _, boss = admin_login(f"http://127.0.0.1:{site.admin_port}", "boss", PASSWORD)
            time.sleep(10)  # settle: what an idle site holds
            procs = site_processes(site, supervisor)
            watch = Watch(procs)
            idle_rss, idle_pss = watch.sample(), pss(procs)
            watch.peak = {name: 0 for name in procs}
            watch.start()
            stop = threading.Event()
            loads = [threading.Thread(target=admin_load, args=(site, boss, stop), daemon=True),
                     threading.Thread(target=radius_load, args=(radius_port, users, args.seconds), daemon=True)]
            for thread in loads:
                thread.start()
            fire(site.portal_port, bodies, 32)
            loads[1].join(args.seconds + 30)
            stop.set()
            loads[0].join(10)
            watch.stop.set()
            watch.join()
            after_pss = pss(procs)
        finally:
            site.stop()
    rows = sorted(procs, key=lambda n: (n != "supervisor", n))
    how = ("hotspotd run" if args.supervised else "one process per role, as before the back office" if args.apart
           else "three processes, as the units run them")
    print(f"\nhotspotd memory ({how}, "
          f"{args.subscribers:,} subscribers, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)")
    print(f"{'process':<12} {'idle RSS':>9} {'idle PSS':>9} {'peak RSS':>9} {'PSS after':>10}")
    print("-" * 54)
    mb = lambda v: f"{v / 2**20:.1f}"  # noqa: E731
    for name in rows:
        print(f"{name:<12} {mb(idle_rss[name]):>9} {mb(idle_pss[name]):>9} {mb(watch.peak[name]):>9} "
              f"{mb(after_pss[name]):>10}")
    total = lambda d: sum(d[n] for n in rows)  # noqa: E731
    print("-" * 54)
    print(f"{'site':<12} {mb(total(idle_rss)):>9} {mb(total(idle_pss)):>9} {mb(total(watch.peak)):>9} "
          f"{mb(total(after_pss)):>10}   target: peak RSS < 150 MB")
    print("(each console login checks its password with scrypt, n=2^14 r=8: 16 MB more in the admin for ~50 ms)")
    return 0 if total(watch.peak) < 150 * 2**20 else 1


if __name__ == "__main__":
    sys.exit(main())
