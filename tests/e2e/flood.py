"""A flood of POSTs at a real server over kept-alive connections, each connection from a
loopback source address of its own choosing (127.x.y.z), for the storage-under-abuse test
and `bench/malformed_flood.py`; and the bodies of such a flood.

One asyncio loop drives every connection, so the load generator stays light on a small
machine and the server's figures are the server's.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from hotspotd import config as config_mod
from hotspotd.plumbing.processes import BACK_OFFICE
from hotspotd.sim.daraja import success_callback
from hotspotd.store.db import open_database, write_transaction
from hotspotd.store.models import Package, Payment

from .site import CALLBACK_TOKEN, Site

STK = f"/api/payments/stk-callback/{CALLBACK_TOKEN}"
C2B = f"/api/payments/c2b-confirmation/{CALLBACK_TOKEN}"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    seconds: float  # from sending the request to the whole answer read
    sent_at: float  # wall-clock time.time() when sent


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("the server closed the connection")
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return int(status_line.split()[1]), await reader.readexactly(length)


def flood(port: int, requests: list[tuple[str, bytes]], *, sources: list[str], concurrency: int) -> list[Answer]:
    """POST each (path, body) once to 127.0.0.1:`port` over `concurrency` connections, the
    i-th from `sources[i % len(sources)]`; the answers in the order of `requests`. A
    connection the server closes is opened again (from the same address) and the request sent again."""
    answers: list[Answer | None] = [None] * len(requests)
    cursor = iter(range(len(requests)))

    async def connection(source: str) -> None:
        async def connect():
            return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))

        reader, writer = await connect()
        for index in cursor:
            path, body = requests[index]
            head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            for attempt in range(3):
                sent_at, start = time.time(), time.perf_counter()
                try:
                    status, answer = await _exchange(reader, writer, head + body)
                    break
                except (ConnectionError, asyncio.IncompleteReadError):
                    writer.close()
                    reader, writer = await connect()
            else:
                raise AssertionError(f"request {index} from {source} got no answer in 3 connections")
            answers[index] = Answer(status, answer, time.perf_counter() - start, sent_at)
        writer.close()

    async def run_all() -> None:
        await asyncio.gather(*(connection(sources[i % len(sources)]) for i in range(concurrency)))

    asyncio.run(run_all())
    return answers  # type: ignore[return-value]


def malformed_bodies(count: int) -> list[bytes]:
    """Bodies no Daraja parser takes, ~1.9 KB each like the flood issue 18 measured, with
    now and then a 60 KB one (cut to 8 KiB when kept), one that nests too deep for
    json.loads, and bytes that are not UTF-8."""
    pad = "x" * 1850
    shapes = [
        b"not json at all " + pad.encode(),
        json.dumps({"Body": {"unexpected": pad}}).encode(),
        json.dumps({"Body": {"stkCallback": {"ResultCode": 0, "ResultDesc": pad}}}).encode(),
        json.dumps({"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_x", "ResultCode": 0, "pad": pad}}}).encode(),
        json.dumps({"TransID": "!", "TransAmount": "ten", "pad": pad}).encode(),
        b"\xff\xfe\xfd" * 630,
    ]
    rare = [b"[" * 60_000, b"{\"Body\": \"" + b"y" * 60_000 + b"\"}"]
    return [rare[(i // 500) % 2] if i % 500 == 499 else shapes[i % len(shapes)] for i in range(count)]


def checkpoint(path: Path) -> None:
    """Fold the WAL back into the database file, so the folder's bytes are what is stored."""
    connection = sqlite3.connect(path, timeout=30)
    try:
        for _ in range(50):
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            time.sleep(0.1)
    finally:
        connection.close()


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under `folder` (databases, their WAL and shared memory, backups)."""
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(folder) for name in names)


@dataclass
class FloodedSite:
    """A site (portal and back office) with one payment waiting for its callback, and the
    flood to send it: `requests`, the real callback at index `middle`."""

    site: Site
    config: config_mod.Config
    payment: Payment
    requests: list[tuple[str, bytes]]
    middle: int

    def checkpointed_bytes(self) -> int:
        """The state folder's bytes with both databases' WAL folded back."""
        for path in (self.config.app_db_path, self.config.queue_db_path):
            checkpoint(path)
        return folder_bytes(self.config.state_dir)


def flooded_site(folder: Path, daraja_url: str, count: int) -> FloodedSite:
    """Start the site; `count` malformed bodies, one in five a Paybill confirmation, and the
    waiting payment's real callback in the middle. Daraja is not asked about the payment
    (query_after 600 s): the callback alone must pay it. Stop it with `.site.stop()`."""
    site = Site(folder, daraja_url, mpesa={"query_after": "600", "pending_timeout": "1200"})
    config = config_mod.load(site.config_path)
    site.start("portal")
    site.start(BACK_OFFICE)
    open_database(config.app_db_path)
    now = datetime.now(timezone.utc)
    with write_transaction():
        package = Package.create(name="Hour", price=10, duration_s=3600, rate_limit="2M/5M", devices=1, created_at=now)
        payment = Payment.create(ref="flood-ref", package=package, phone="254712345678", amount=10, status="pending",
                                 checkout_request_id="ws_CO_in_the_flood", merchant_request_id="m-flood",
                                 created_at=now, updated_at=now)
    requests = [(C2B if i % 5 == 4 else STK, body) for i, body in enumerate(malformed_bodies(count))]
    real = success_callback("ws_CO_in_the_flood", "m-flood", 10.0, "RFL00000001", 254712345678, now)
    requests.insert(count // 2, (STK, json.dumps(real).encode()))
    return FloodedSite(site, config, payment, requests, count // 2)
