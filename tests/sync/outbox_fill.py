"""A busy site's outbox, written straight into the box's `event` table: the issue's week
(2,000 payments and 50,000 session events a day) or any other count, for the catch-up
tests and bench/sync_bench.py. The data has the fields real events carry."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

PAYMENTS_PER_DAY = 2000
SESSION_EVENTS_PER_DAY = 50000
START = datetime(2026, 11, 16, 0, 0, tzinfo=timezone.utc)


def _at(when: datetime) -> str:
    return when.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def busy_days(days: float, *, start: datetime = START) -> Iterator[tuple[str, str, str]]:
    """(type, at, data) of `days` of a busy site, in time order: each payment gives four
    events (initiated, processed, subscription, provisioned), between session events."""
    payments = int(PAYMENTS_PER_DAY * days)
    sessions = int(SESSION_EVENTS_PER_DAY * days)
    total = payments + sessions
    step = timedelta(seconds=days * 86400 / max(1, total))
    p = s = 0
    for i in range(total):
        when = start + step * i
        if p * total <= i * payments and p < payments:  # spread the payments evenly
            p += 1
            phone = f"2547*****{p % 1000:03d}"
            yield "payment.initiated", _at(when), json.dumps({"payment_id": p, "package_id": 1, "amount": 50, "phone": phone})
            yield "payment.processed", _at(when), json.dumps({"payment_id": p, "amount": 50, "receipt": f"SKN{p:07d}",
                                                              "phone": phone, "subscription_id": p})
            yield "subscription.created", _at(when), json.dumps({
                "subscription_id": p, "customer_id": p, "package_id": 1, "package": "1 day", "payment_id": p,
                "username": f"hs{p:06d}", "starts_at": _at(when), "ends_at": _at(when + timedelta(days=1))})
            yield "user.provisioned", _at(when), json.dumps({"subscription_id": p, "username": f"hs{p:06d}",
                                                             "via": "radius"})
        else:
            s += 1
            kind = "session.started" if s % 2 else "session.stopped"
            data = {"session_id": s, "router_id": 1, "acct_session_id": f"{s:08x}", "username": f"hs{s % 9999:06d}",
                    "mac": f"AA:BB:CC:{s >> 16 & 255:02X}:{s >> 8 & 255:02X}:{s & 255:02X}", "ip": "10.5.50.2",
                    "subscription_id": s % 9999}
            if kind == "session.stopped":
                data.update(input_bytes=s * 1000, output_bytes=s * 9000, session_time=600,
                            terminate_cause="User-Request")
            yield kind, _at(when), json.dumps(data, separators=(",", ":"))


def fill(db_path: str | Path, rows: Iterator[tuple[str, str, str]], chunk: int = 20000) -> int:
    """Append events to the box database at `db_path` (its own connection); how many."""
    conn = sqlite3.connect(str(db_path), timeout=30)
    count = 0
    try:
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) >= chunk:
                conn.executemany('INSERT INTO "event" ("type", "at", "data") VALUES (?, ?, ?)', batch)
                conn.commit()
                count += len(batch)
                batch = []
        if batch:
            conn.executemany('INSERT INTO "event" ("type", "at", "data") VALUES (?, ?, ?)', batch)
            conn.commit()
            count += len(batch)
    finally:
        conn.close()
    return count
