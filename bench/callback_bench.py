"""Callback burst: 1,000 distinct successful M-Pesa callbacks at 32 concurrent connections
against the real portal and back office (console and worker) processes. Prints a table.

    .venv/bin/python bench/callback_bench.py [--count 1000] [--concurrency 32] [--apart]

`--apart` runs the worker alone in its own process (threads, not greenlets), as before the
back office, for the comparison.

Measured: callback answer p50/p99 (client side), time until all subscriptions exist,
callback-to-subscription latency p50/p99 (send time to the payment's applied_at), lost and
duplicated payments, and peak RSS (and PSS) of each process. Targets (issue 2): all applied
within 10 s, callback p99 < 50 ms, callback-to-subscription p99 < 1 s, roles < 150 MB RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotspotd import config as config_mod  # noqa: E402
from hotspotd.plumbing.processes import BACK_OFFICE  # noqa: E402
from hotspotd.sim.daraja import DarajaSimulator, success_callback  # noqa: E402
from hotspotd.store.db import open_database, write_transaction  # noqa: E402
from hotspotd.store.models import Package, Payment, Subscription  # noqa: E402
from tests.e2e.site import CALLBACK_TOKEN, Site, wait_for  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def print_table(title: str, rows: list[tuple[str, str, str]]) -> None:
    """A benchmark's figures as a table: measure, value, note."""
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"\nhotspotd {title} ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {psutil.cpu_count()} CPUs)")
    print(f"{'measure'.ljust(width)}  {'value'.ljust(value_width)}  note")
    print(f"{'-' * width}  {'-' * value_width}  ----")
    for name, value, note in rows:
        print(f"{name.ljust(width)}  {value.ljust(value_width)}  {note}")


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, int]:
    """Send one HTTP/1.1 request on a kept connection and read its whole answer: (status, body length)."""
    writer.write(request)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return int(status_line.split()[1]), length


class MemoryWatch(threading.Thread):
    """Samples RSS of the role processes until stopped and keeps the peaks; PSS (which
    counts shared pages once) is read at the end only, as reading smaps stalls the
    process being measured."""

    def __init__(self, procs: dict[str, int]):
        super().__init__(daemon=True)
        self.procs = {role: psutil.Process(pid) for role, pid in procs.items()}
        self.rss = {role: 0 for role in procs}
        self.pss = {role: 0 for role in procs}
        self.stop = threading.Event()

    def sample(self) -> None:
        for role, proc in self.procs.items():
            try:
                self.rss[role] = max(self.rss[role], proc.memory_info().rss)
            except psutil.Error:
                continue

    def sample_pss(self) -> None:
        for role, proc in self.procs.items():
            try:
                info = proc.memory_full_info()
            except psutil.Error:
                continue
            self.pss[role] = getattr(info, "pss", info.rss)

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.sample()


def seed(count: int) -> list[Payment]:
    now = datetime.now(timezone.utc)
    with write_transaction():
        package = Package.create(name="Hour", price=10, duration_s=3600, rate_limit="2M/5M", devices=1, created_at=now)
        rows = [{"ref": secrets.token_urlsafe(12), "package": package.id, "phone": f"2547{10000000 + i:08d}",
                 "amount": 10, "status": "pending", "checkout_request_id": f"ws_CO_bench_{i:06d}",
                 "merchant_request_id": f"bench-{i}", "created_at": now, "updated_at": now} for i in range(count)]
        for start in range(0, count, 200):
            Payment.insert_many(rows[start:start + 200]).execute()
    return list(Payment.select().order_by(Payment.id))


def fire(port: int, bodies: list[bytes], concurrency: int) -> tuple[list[float], dict[int, float], list[int]]:
    """POST every body once over `concurrency` keep-alive connections; returns latencies,
    send wall-clock time per index, and non-200 statuses.

    One asyncio loop drives all connections, so the load generator itself stays light on
    this small machine (32 client threads would compete with the server for the GIL-free
    cores and inflate the very latencies being measured)."""
    latencies: list[float] = []
    sent_at: dict[int, float] = {}
    errors: list[int] = []
    path = f"/api/payments/stk-callback/{CALLBACK_TOKEN}"
    cursor = iter(range(len(bodies)))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for index in cursor:
            body = bodies[index]
            head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            sent_at[index], start = time.time(), time.perf_counter()
            status, _ = await exchange(reader, writer, head + body)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                errors.append(status)
        writer.close()

    async def run_all() -> None:
        await asyncio.gather(*(connection() for _ in range(concurrency)))

    asyncio.run(run_all())
    return latencies, sent_at, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--portal-threads", type=int, default=None, help="default: the config default")
    parser.add_argument("--workers", type=int, default=None, help="queue workers (default: config)")
    parser.add_argument("--apart", action="store_true", help="the worker in a process of its own")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, DarajaSimulator() as sim:
        extra = {"portal": {"threads": str(args.portal_threads)}} if args.portal_threads else {}
        queue_settings = {"reconcile_interval": os.environ.get("RECONCILE", "5"), **({"workers": str(args.workers)} if args.workers else {})}
        # query_after as in production: the seeded payments must not be queried as
        # callback-less (the tests shorten it to seconds).
        site = Site(Path(folder), sim.url, queue=queue_settings,
                    mpesa={"query_after": "60", "pending_timeout": "300"}, **extra)
        config = config_mod.load(site.config_path)
        open_database(config.app_db_path)
        payments = seed(args.count)
        bodies = [json.dumps(success_callback(p.checkout_request_id, p.merchant_request_id, 10.0,
                                              f"B{i:09d}", int(p.phone), datetime.now(timezone.utc))).encode()
                  for i, p in enumerate(payments)]
        try:
            site.start("portal")
            site.start("worker" if args.apart else BACK_OFFICE)
            watch = MemoryWatch({role: proc.pid for role, proc in site.procs.items()})
            watch.sample()
            idle = dict(watch.rss)
            cpu_before = {role: sum(p.cpu_times()[:2]) for role, p in watch.procs.items()}
            watch.start()
            started = time.time()
            latencies, sent_at, errors = fire(site.portal_port, bodies, args.concurrency)
            burst = time.time() - started
            wait_for(lambda: Payment.select().where(Payment.status == "paid").count() == args.count, 120,
                     "all payments applied", interval=0.02)
            all_applied = time.time() - started
            watch.stop.set()
            watch.join()
            watch.sample()
            watch.sample_pss()
            cpu = {role: sum(p.cpu_times()[:2]) - cpu_before[role] for role, p in watch.procs.items()}
        finally:
            site.stop()
        applied = {p.checkout_request_id: p.applied_at.timestamp() for p in Payment.select()}
        to_subscription = [applied[p.checkout_request_id] - sent_at[i] for i, p in enumerate(payments)
                           if applied.get(p.checkout_request_id)]
        paid = Payment.select().where(Payment.status == "paid").count()
        subscriptions = Subscription.select().count()

    rows = [
        ("callbacks sent", f"{args.count} at {args.concurrency} connections", ""),
        ("burst duration", f"{burst:.2f} s", f"{args.count / burst:.0f} callbacks/s"),
        ("callback answer p50 / p99", f"{percentile(latencies, 50) * 1000:.1f} / {percentile(latencies, 99) * 1000:.1f} ms",
         "target p99 < 50 ms"),
        ("callback -> subscription p50 / p99",
         f"{percentile(to_subscription, 50) * 1000:.0f} / {percentile(to_subscription, 99) * 1000:.0f} ms",
         "target p99 < 1000 ms"),
        ("all subscriptions exist after", f"{all_applied:.2f} s", "target < 10 s"),
        ("non-200 answers", str(len(errors)), ""),
        ("lost (not paid)", str(args.count - paid), "target 0"),
        ("duplicated (extra subscriptions)", str(subscriptions - paid), "target 0"),
    ]
    for role in watch.rss:
        rows.append((f"{role} CPU per callback", f"{cpu[role] * 1000 / args.count:.2f} ms", ""))
        rows.append((f"{role} RSS idle / peak (PSS after)",
                     f"{idle[role] / 2**20:.1f} / {watch.rss[role] / 2**20:.1f} MB ({watch.pss[role] / 2**20:.1f} MB)", ""))
    total = sum(watch.rss.values()) / 2**20
    rows.append((f"{' + '.join(watch.rss)} peak RSS", f"{total:.1f} MB", "target (the whole site) < 150 MB"))
    print_table("callback burst", rows)
    return 0 if paid == args.count and subscriptions == paid else 1


if __name__ == "__main__":
    sys.exit(main())
