"""The console under load: live events to 50 admin pages while a payment burst runs, and
the dashboard at 16 connections. Real portal and back office (console and worker)
processes on loopback; with `--apart` the worker runs in a process of its own, as before.

    .venv/bin/python bench/admin_bench.py [--sockets 50] [--burst 1000] [--markers 200] [--connections 16] [--apart]

Measured:
- websocket fan-out: from an event's commit to its arrival at each of `--sockets` logged-in
  websockets, p50/p99. The bench commits a marker event every 20 ms (and notes when each
  commit returned) while `--burst` M-Pesa callbacks are being recorded and applied, so the
  events of the burst (several per payment) go out at the same time. Target p99 < 100 ms.
  The burst's own events are reported too, from the time stamp they carry (written just
  before their commit).
- the dashboard page and its API (`/`, `/api/admin/dashboard`) at `--connections`
  keep-alive connections for a few seconds each: requests/s and p50/p99.
- RSS of the process the console runs in: idle, and peak over the run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import struct
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.callback_bench import MemoryWatch, exchange, fire, percentile, print_table, seed  # noqa: E402
from hotspotd import config as config_mod, events  # noqa: E402
from hotspotd.plumbing.processes import BACK_OFFICE  # noqa: E402
from hotspotd.sim.daraja import DarajaSimulator, success_callback  # noqa: E402
from hotspotd.store.db import open_database, utcnow, write_transaction  # noqa: E402
from hotspotd.store.models import Event, Payment  # noqa: E402
from tests.e2e.site import Site, admin_login, wait_for  # noqa: E402

PASSWORD = "bench password"


def event_id(payload: bytes) -> int:
    """The id of an event message without decoding all of it: messages start {"id":N,..."""
    return int(payload[6:payload.index(b",", 6)])


sockets_total = [0]  # in the listening process: how many sockets listen


async def websocket(port: int, cookie: str, after: int, arrivals: dict[int, list[float]], ready: list,
                    stop: asyncio.Event, seen) -> None:
    """A logged-in page's websocket: notes when each event id arrives (wall clock)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws?after={after} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Origin: http://127.0.0.1:{port}\r\nCookie: {cookie}\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert b" 101 " in head.split(b"\r\n")[0], head[:200]
    ready.append(True)
    buffer = b""
    while not stop.is_set():
        try:
            chunk = await asyncio.wait_for(reader.read(1 << 16), 0.5)
        except asyncio.TimeoutError:
            continue
        if not chunk:
            break
        now, buffer = time.time(), buffer + chunk
        # Every whole frame in what arrived (one read often carries dozens: parse them in a
        # tight loop, so the listener keeps up with 50 sockets and its clock stays honest).
        while len(buffer) >= 2:
            length, start = buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    break
                length, start = struct.unpack("!H", buffer[2:4])[0], 4
            elif length == 127:
                if len(buffer) < 10:
                    break
                length, start = struct.unpack("!Q", buffer[2:10])[0], 10
            if len(buffer) < start + length:
                break
            if buffer[0] & 0x0F == 1:
                number = event_id(buffer[start:start + length])
                times = arrivals.setdefault(number, [])
                times.append(now)
                if len(times) == sockets_total[0] and number > seen.value:
                    seen.value = number
            buffer = buffer[start + length:]
    writer.close()


def listen(port: int, cookie: str, after: int, sockets: int, ready, stop, results, seen) -> None:
    """In a process of its own (the load generator must not share a GIL with the measuring
    client): `sockets` websockets until `stop` is set, then their arrival times to `results`."""
    arrivals: dict[int, list[float]] = {}
    opened: list = []

    async def run() -> None:
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        threading.Thread(target=lambda: (stop.wait(), loop.call_soon_threadsafe(done.set)), daemon=True).start()
        sockets_total[0] = sockets
        tasks = [asyncio.ensure_future(websocket(port, cookie, after, arrivals, opened, done, seen))
                 for _ in range(sockets)]
        while len(opened) < sockets:
            await asyncio.sleep(0.01)
        ready.set()
        await asyncio.gather(*tasks)

    asyncio.run(run())
    results.put(arrivals)


def http_load(port: int, paths: list[str], cookie: str, connections: int, seconds: float) -> tuple[int, list[float], int]:
    """GET `paths` in turn over keep-alive connections for `seconds`: (requests, latencies, errors)."""
    latencies: list[float] = []
    errors = [0]

    async def connection(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        deadline, turn = time.monotonic() + seconds, index
        while time.monotonic() < deadline:
            path = paths[turn % len(paths)]
            turn += 1
            start = time.perf_counter()
            status, _ = await exchange(reader, writer,
                                       f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n".encode())
            latencies.append(time.perf_counter() - start)
            if status != 200:
                errors[0] += 1
        writer.close()

    async def run_all() -> None:
        await asyncio.gather(*(connection(i) for i in range(connections)))

    asyncio.run(run_all())
    return len(latencies), latencies, errors[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=50)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--markers", type=int, default=200)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0, help="per dashboard load run")
    parser.add_argument("--apart", action="store_true", help="the worker in a process of its own")
    args = parser.parse_args()
    console = "admin" if args.apart else BACK_OFFICE

    with tempfile.TemporaryDirectory() as folder, DarajaSimulator() as sim:
        site = Site(Path(folder), sim.url, queue={"reconcile_interval": "5"},
                    mpesa={"query_after": "60", "pending_timeout": "300"})
        site.cli("admin", "add", "bench", stdin=PASSWORD + "\n")
        open_database(config_mod.load(site.config_path).app_db_path)
        payments = seed(args.burst)
        bodies = [json.dumps(success_callback(p.checkout_request_id, p.merchant_request_id, 10.0, f"A{i:09d}",
                                              int(p.phone), datetime.now(timezone.utc))).encode()
                  for i, p in enumerate(payments)]
        try:
            for role in ("portal", "worker", "admin") if args.apart else ("portal", BACK_OFFICE):
                site.start(role)
            base = f"http://127.0.0.1:{site.admin_port}"
            _, login = admin_login(base, "bench", PASSWORD)
            watch = MemoryWatch({console: site.procs[console].pid})
            watch.sample()
            idle_rss = watch.rss[console]
            watch.start()

            # -- fan-out under a burst
            arrivals: dict[int, list[float]] = {}
            committed: dict[int, float] = {}
            start_id = login.get("/api/admin/me")[1]["last_event_id"]
            ready, stop, results = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Queue()
            seen = multiprocessing.Value("q", 0)  # the highest event id every socket has
            listener = multiprocessing.Process(target=listen, args=(site.admin_port, login.cookie, start_id, args.sockets,
                                                                    ready, stop, results, seen), daemon=True)
            listener.start()
            if not ready.wait(60):
                raise RuntimeError("the websockets did not open")
            burst = multiprocessing.Process(target=fire, args=(site.portal_port, bodies, 16), daemon=True)
            burst_started = time.time()
            burst.start()
            for i in range(args.markers):
                with write_transaction():
                    marker = events.emit("system.critical", {"component": "bench", "message": f"marker {i}"}, utcnow())
                committed[marker] = time.time()
                time.sleep(0.02)
            burst.join()
            wait_for(lambda: Payment.select().where(Payment.status == "paid").count() == args.burst, 180,
                     "the burst applied", interval=0.05)
            burst_took = time.time() - burst_started
            last = Event.select().order_by(Event.id.desc()).first().id
            wait_for(lambda: seen.value >= last, 60, "the last event at every socket")
            stop.set()
            arrivals.update(results.get(timeout=60))
            listener.join(10)

            marker_delays = [at - committed[i] for i, times in arrivals.items() if i in committed for at in times]
            stamps = {e.id: e.at.timestamp() for e in Event.select().where(Event.id > start_id)}
            burst_delays = [at - stamps[i] for i, times in arrivals.items() if i not in committed and i in stamps
                            for at in times]
            burst_events = len([i for i in stamps if i not in committed])
            lost = sum(max(0, args.sockets - len(arrivals.get(i, []))) for i in stamps)
            doubled = sum(max(0, len(times) - args.sockets) for times in arrivals.values())

            # -- the dashboard at N connections (quiet: the burst is over)
            page_n, page_lat, page_err = http_load(site.admin_port, ["/"], login.cookie, args.connections, args.seconds)
            api_n, api_lat, api_err = http_load(site.admin_port, ["/api/admin/dashboard"], login.cookie,
                                                args.connections, args.seconds)
            watch.stop.set()
            watch.join()
            watch.sample()
            watch.sample_pss()
        finally:
            site.stop()

    ms = lambda values, q: f"{percentile(values, q) * 1000:.1f}"  # noqa: E731
    rows = [
        ("websockets", f"{args.sockets}", "logged in, same origin"),
        ("payment burst", f"{args.burst} callbacks at 16 connections", f"applied in {burst_took:.1f} s"),
        ("marker events, commit -> socket p50 / p99", f"{ms(marker_delays, 50)} / {ms(marker_delays, 99)} ms",
         f"{len(marker_delays)} deliveries; target p99 < 100 ms"),
        ("burst events, time stamp -> socket p50 / p99", f"{ms(burst_delays, 50)} / {ms(burst_delays, 99)} ms",
         f"{burst_events} events x {args.sockets} sockets"),
        ("event deliveries lost / doubled", f"{lost} / {doubled}", f"of {len(stamps) * args.sockets}; target 0 / 0"),
        ("dashboard page (/) at {} connections".format(args.connections),
         f"{page_n / args.seconds:.0f} req/s", f"p50 {ms(page_lat, 50)} ms, p99 {ms(page_lat, 99)} ms, {page_err} errors"),
        ("/api/admin/dashboard at {} connections".format(args.connections),
         f"{api_n / args.seconds:.0f} req/s", f"p50 {ms(api_lat, 50)} ms, p99 {ms(api_lat, 99)} ms, {api_err} errors"),
        (f"{console} RSS idle / peak (PSS after)",
         f"{idle_rss / 2**20:.1f} / {watch.rss[console] / 2**20:.1f} MB ({watch.pss[console] / 2**20:.1f} MB)", ""),
    ]
    print_table("console", rows)
    return 0 if lost == doubled == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
