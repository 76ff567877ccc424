"""The customer's side under load, against real portal and back office (console and worker)
processes. Prints a table.

    .venv/bin/python bench/portal_bench.py [--seconds 10] [--connections 64] [--paybill 1000]

1. The landing page (as a phone asks for it: MikroTik's variables, Swahili) at 64 keep-alive
   connections from 8 client addresses (a hotspot's phones, not one address the portal
   bounds): requests/s, p50/p99. Target: at least 1,000 requests/s.
2. `/api/captive` (RFC 8908) the same way, for devices that are online.
3. 1,000 Paybill (C2B) confirmations in Daraja's published format at 32 connections:
   answer p50/p99, all applied, none twice (one subscription per payment, one record
   per TransID), and the time until every payment is applied.
Peak RSS of each process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.callback_bench import MemoryWatch, exchange, percentile  # noqa: E402
from hotspotd.plumbing.processes import BACK_OFFICE  # noqa: E402
from hotspotd import config as config_mod  # noqa: E402
from hotspotd.billing.c2b import new_account  # noqa: E402
from hotspotd.sim.daraja import DarajaSimulator  # noqa: E402
from hotspotd.sim.daraja.wire import c2b_body, masked_msisdn  # noqa: E402
from hotspotd.store.db import open_database, write_transaction  # noqa: E402
from hotspotd.store.models import (C2BTransaction, Customer, Credential, Package, Payment, Router,  # noqa: E402
                                   Session, Subscription)
from tests.e2e.site import CALLBACK_TOKEN, Site, wait_for  # noqa: E402

SOURCES = [f"127.0.0.{i}" for i in range(11, 19)]  # 8 client addresses


def load(port: int, requests: list[bytes], connections: int, *, seconds: float | None = None,
         count: int | None = None) -> tuple[list[float], list[int], float, int]:
    """Send requests round-robin over `connections` keep-alive connections (from SOURCES),
    for `seconds` or until `count` are done. Returns latencies, non-200 statuses, elapsed s
    and the size of one answer."""
    latencies: list[float] = []
    errors: list[int] = []
    sizes: list[int] = []
    done = iter(range(count)) if count is not None else None

    async def connection(n: int, stop_at: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(SOURCES[n % len(SOURCES)], 0))
        i = n
        while True:
            if done is not None:
                index = next(done, None)
                if index is None:
                    break
            elif time.perf_counter() >= stop_at:
                break
            else:
                index = i
            started = time.perf_counter()
            status, size = await exchange(reader, writer, requests[index % len(requests)])
            latencies.append(time.perf_counter() - started)
            sizes.append(size)
            if status != 200:
                errors.append(status)
            i += connections
        writer.close()

    async def run_all() -> float:
        started = time.perf_counter()
        stop_at = started + (seconds or 0)
        await asyncio.gather(*(connection(n, stop_at) for n in range(connections)))
        return time.perf_counter() - started

    elapsed = asyncio.run(run_all())
    return latencies, errors, elapsed, (sizes[0] if sizes else 0)


def get(path: str, headers: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: portal\r\n{headers}\r\n".encode()


def seed(paybill_count: int, online: int) -> tuple[list[Payment], list[str]]:
    """Packages, `paybill_count` open Paybill offers, and `online` devices with open sessions."""
    now = datetime.now(timezone.utc)
    with write_transaction():
        package = Package.create(name="Hour", price=10, duration_s=3600, rate_limit="2M/5M", devices=1, created_at=now)
        Package.create(name="Day", price=50, duration_s=86400, rate_limit="3M/6M", data_limit=3 * 10**9, devices=2,
                       created_at=now)
        accounts: set[str] = set()
        while len(accounts) < paybill_count:
            accounts.add(new_account())
        rows = [{"ref": secrets.token_urlsafe(12), "package": package.id, "phone": "", "amount": 10,
                 "status": "pending", "method": "c2b", "account": account, "mac": f"AA:BB:CC:{i >> 16:02X}:"
                 f"{(i >> 8) & 255:02X}:{i & 255:02X}", "created_at": now, "updated_at": now}
                for i, account in enumerate(sorted(accounts))]
        for start in range(0, len(rows), 200):
            Payment.insert_many(rows[start:start + 200]).execute()
        router = Router.create(name="gate", host="127.0.0.1", secret="bench-secret", nas_ip="127.0.0.1",
                               created_at=now)
        addresses = []
        for i in range(online):
            customer = Customer.create(phone=f"2547{20000000 + i:08d}", created_at=now)
            Credential.create(customer=customer, username=f"bench{i}", password="pw", created_at=now)
            sub = Subscription.create(customer=customer, package=package, starts_at=now, ends_at=now + timedelta(hours=1),
                                      created_at=now, updated_at=now)
            address = SOURCES[i % len(SOURCES)] if i < len(SOURCES) else f"10.5.{i // 250}.{i % 250 + 2}"
            Session.create(router=router, acct_session_id=f"{i:08X}", username=f"bench{i}", subscription=sub,
                           mac=f"AA:BB:CD:00:{i >> 8:02X}:{i & 255:02X}", ip=address, started_at=now, updated_at=now)
            addresses.append(address)
    return list(Payment.select().where(Payment.method == "c2b").order_by(Payment.id)), addresses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each page/API run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--paybill", type=int, default=1000, help="C2B confirmations to send")
    parser.add_argument("--paybill-connections", type=int, default=32)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, DarajaSimulator() as sim:
        site = Site(Path(folder), sim.url, queue={"reconcile_interval": "5"},
                    mpesa={"query_after": "60", "pending_timeout": "300", "paybill": "600984"})
        config = config_mod.load(site.config_path)
        open_database(config.app_db_path)
        offers, _ = seed(args.paybill, 200)
        now = datetime.now(timezone.utc)
        bodies = [json.dumps(c2b_body(trans_id=f"B{i:09d}", when=now, amount=10, short_code="600984",
                                      bill_ref=p.account, msisdn=masked_msisdn("254712345678"))).encode()
                  for i, p in enumerate(offers)]
        path = f"/api/payments/c2b-confirmation/{CALLBACK_TOKEN}"
        posts = [(f"POST {path} HTTP/1.1\r\nHost: portal\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(b)}\r\n\r\n").encode() + b for b in bodies]
        landing = [get("/?" + urlencode({"mac": f"AA:BB:CC:DD:{i >> 8:02X}:{i & 255:02X}", "ip": f"10.5.50.{i % 250}",
                                         "link-login-only": "http://10.5.50.1/login", "link-orig": "http://x.test/",
                                         "chap-id": "\\341", "chap-challenge": "\\123" * 16}),
                       "Accept-Language: sw-KE,sw;q=0.9\r\n") for i in range(256)]
        try:
            site.start("portal")
            site.start(BACK_OFFICE)
            watch = MemoryWatch({role: proc.pid for role, proc in site.procs.items()})
            watch.start()
            load(site.portal_port, landing, 8, seconds=1.0)  # warm up
            page_lat, page_err, page_s, page_size = load(site.portal_port, landing, args.connections,
                                                         seconds=args.seconds)
            captive_lat, captive_err, captive_s, _ = load(site.portal_port, [get("/api/captive")], args.connections,
                                                          seconds=args.seconds)
            started = time.time()
            pay_lat, pay_err, pay_s, _ = load(site.portal_port, posts, args.paybill_connections, count=len(posts))
            wait_for(lambda: Payment.select().where((Payment.method == "c2b") & (Payment.status == "paid")).count()
                     == args.paybill, 120, "all Paybill payments applied", interval=0.02)
            all_applied = time.time() - started
            watch.stop.set()
            watch.join()
            watch.sample()
        finally:
            site.stop()
        paid = Payment.select().where((Payment.method == "c2b") & (Payment.status == "paid")).count()
        subscriptions = Subscription.select().where(Subscription.id.in_(
            Payment.select(Payment.subscription).where(Payment.method == "c2b"))).count()
        recorded = C2BTransaction.select().count()

    def ms(values: list[float], q: int) -> str:
        return f"{percentile(values, q) * 1000:.1f}"

    rows = [
        (f"landing page ({page_size / 1024:.1f} KB), {args.connections} connections",
         f"{len(page_lat) / page_s:,.0f} req/s", f"p50 {ms(page_lat, 50)} / p99 {ms(page_lat, 99)} ms",
         f"non-200: {len(page_err)}; target >= 1,000 req/s"),
        (f"/api/captive, {args.connections} connections", f"{len(captive_lat) / captive_s:,.0f} req/s",
         f"p50 {ms(captive_lat, 50)} / p99 {ms(captive_lat, 99)} ms", f"non-200: {len(captive_err)}"),
        (f"{args.paybill} C2B confirmations, {args.paybill_connections} connections",
         f"{len(pay_lat) / pay_s:,.0f} req/s", f"p50 {ms(pay_lat, 50)} / p99 {ms(pay_lat, 99)} ms",
         f"non-200: {len(pay_err)}; all applied after {all_applied:.2f} s"),
        ("C2B applied / lost / twice", f"{paid} / {args.paybill - paid} / {subscriptions - paid + recorded - paid}",
         "", "target: all / 0 / 0"),
    ] + [(f"{role} peak RSS", f"{watch.rss[role] / 2**20:.1f} MB", "", "") for role in watch.rss]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"\nhotspotd portal ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {psutil.cpu_count()} CPUs)")
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)))
    ok = paid == args.paybill == recorded == subscriptions and not (page_err or captive_err or pay_err)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
