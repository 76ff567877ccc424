"""Routers: provisioning 500 hotspot users through the worker against the RouterOS
simulator with 20 ms added per command, and one probe round of 50 routers of which 10
never answer. Prints a table.

    .venv/bin/python bench/router_bench.py [--users 500] [--delay 0.02] [--routers 50] [--silent 10]

Provisioning: 500 subscriptions are sent to the real back office process (its worker) as 50
`provision_subscriptions` tasks of 10 (as bursts of payments arrive); measured are users/s
(first task sent to last user provisioned), per-user latency p50/p99 (task sent to the
subscription's provisioned_at), and the API connections the worker opened. Probe: one
round by the worker's `RouterWatch` (the same code the worker runs) over 50 simulated
routers, 10 of them accepting connections and never answering. Targets (issue 7):
>= 50 users/s; a probe round under 5 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.callback_bench import MemoryWatch, percentile, print_table  # noqa: E402
from hotspotd.plumbing.processes import BACK_OFFICE  # noqa: E402
from hotspotd import config as config_mod
from hotspotd.plumbing import tasks  # noqa: E402
from hotspotd.billing import subscriptions  # noqa: E402
from hotspotd.plumbing.queue import Queue  # noqa: E402
from hotspotd.router import add_router  # noqa: E402
from hotspotd.plumbing.runtime import Runtime  # noqa: E402
from hotspotd.sim.daraja import DarajaSimulator  # noqa: E402
from hotspotd.sim.routeros import RouterOSSimulator  # noqa: E402
from hotspotd.store import init_store  # noqa: E402
from hotspotd.store.db import db, open_database, utcnow, write_transaction  # noqa: E402
from hotspotd.store.models import Package, Router, Subscription  # noqa: E402
from tests.e2e.site import Site, wait_for  # noqa: E402

ROUTERS = {"probe_interval": "3600", "sessions_interval": "3600", "reconcile_interval": "3600",
           "radius_address": "127.0.0.1"}


def provision_bench(users: int, delay: float) -> list[tuple[str, str, str]]:
    with tempfile.TemporaryDirectory() as folder, DarajaSimulator() as daraja, \
            RouterOSSimulator(password="bench") as sim:
        site = Site(Path(folder), daraja.url, routers=ROUTERS, queue={"reconcile_interval": "3600", "workers": "2"})
        site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h", "--rate", "2M/5M")
        site.cli("router", "add", "--name", "gate", "--host", "127.0.0.1", "--api-port", str(sim.port),
                 "--api-user", "admin", "--api-password", "bench", "--secret", "bench-secret-1", "--mode", "api")
        config = config_mod.load(site.config_path)
        open_database(config.app_db_path)
        now = utcnow()
        package = Package.get()
        ids = []
        with write_transaction():
            for n in range(users):
                customer = subscriptions.new_customer(f"2547{n:08d}", now)
                ids.append(subscriptions.grant(customer, package, now).subscription_id)
            Subscription.update(provision_tried_at=now).execute()  # not the reconciler's to send
        sim.delay = delay
        site.start(BACK_OFFICE)
        watch = MemoryWatch({BACK_OFFICE: site.procs[BACK_OFFICE].pid})
        watch.start()
        queue = Queue(config.queue_db_path, tasks.ALL, None)
        sent: dict[int, float] = {}
        started = time.time()
        for start in range(0, users, 10):
            batch = ids[start:start + 10]
            queue.dispatch(tasks.provision_subscriptions, batch)
            for sub_id in batch:
                sent[sub_id] = time.time()
        wait_for(lambda: Subscription.select().where(Subscription.provisioned_at.is_null()).count() == 0, 600,
                 "every user provisioned")
        done = {s.id: s.provisioned_at.timestamp() for s in Subscription.select()}
        elapsed = max(done.values()) - started
        latency = [done[i] - sent[i] for i in ids]
        watch.stop.set()
        watch.join()
        on_router = len(sim.router.table("/ip/hotspot/user"))
        from collections import Counter
        kinds = Counter(c.replace("/ip/hotspot/user", "user") for c, _ in sim.router.log)
        commands = ", ".join(f"{name} {n}" for name, n in kinds.most_common())
        failures = site.log(BACK_OFFICE).count("failed (attempt")
        site.stop()
        db.close()
        return [
            ("users provisioned", f"{on_router} of {users}", f"{delay * 1000:.0f} ms added to every command"),
            ("users/s", f"{users / elapsed:.0f}", "target >= 50"),
            ("per user p50 / p99", f"{percentile(latency, 50):.2f} / {percentile(latency, 99):.2f} s",
             "task sent to provisioned_at"),
            ("API connections opened", str(sim.opened), "reused across tasks"),
            ("commands sent", str(sum(kinds.values())), commands),
            ("task attempts that failed", str(failures), "retried by the queue"),
            ("back office (console and worker) peak RSS", f"{watch.rss[BACK_OFFICE] / 1e6:.0f} MB", ""),
        ]


def probe_bench(count: int, silent: int) -> list[tuple[str, str, str]]:
    from hotspotd.router.watch import RouterWatch

    with tempfile.TemporaryDirectory() as folder:
        config = config_mod.load(None, overrides={"site": {"state_dir": folder}, "routers": ROUTERS})
        init_store(config)
        sims = [RouterOSSimulator(password="bench").start() for _ in range(count)]
        try:
            now = utcnow()
            for n, sim in enumerate(sims):
                sim.silent = n < silent
                add_router(f"r{n}", "127.0.0.1", "bench-secret-1", f"127.0.{n // 250}.{n % 250 + 2}", api_port=sim.port,
                           api_user="admin", api_password="bench", now=now)
            rt = Runtime(config)
            watch = RouterWatch(rt)
            started = time.monotonic()
            watch.tick(started)
            watch.settle(60)
            elapsed = time.monotonic() - started
            statuses = [r.status for r in Router.select().order_by(Router.id)]
            watch.close()
            rt.close()
        finally:
            for sim in sims:
                sim.stop()
        db.close()
    online = statuses.count("online")
    return [
        ("probe round, routers", f"{count} ({silent} silent)", f"connect timeout {config.routers.connect_timeout:g} s"),
        ("probe round time", f"{elapsed:.2f} s", "target < 5 s"),
        ("answered / not", f"{online} / {count - online}", "one failure does not show a router offline"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--routers", type=int, default=50)
    parser.add_argument("--silent", type=int, default=10)
    args = parser.parse_args()
    rows = provision_bench(args.users, args.delay) + probe_bench(args.routers, args.silent)
    print_table("routers", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
