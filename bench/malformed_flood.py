"""Malformed flood: 20,000 malformed M-Pesa callbacks and Paybill confirmations at the real
portal and back office, from the few addresses Daraja calls from, with one real callback
in the middle. Prints a table.

    .venv/bin/python bench/malformed_flood.py [--count 20000] [--concurrency 16] [--sources 4]

Measured: requests/s, answer p50/p99 (client side), answers by status, how much the state
folder grew (WAL checkpointed before and after), what was kept of the flood, whether the
real callback was applied, and RSS of the portal and the back office (idle, peak).
Targets (issue 18): growth < 10 MB, every malformed body answered 400, the real one applied.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.callback_bench import MemoryWatch, percentile, print_table  # noqa: E402
from hotspotd.sim.daraja import DarajaSimulator  # noqa: E402
from hotspotd.store.models import C2BTransaction, MpesaCallback, Payment  # noqa: E402
from tests.e2e.flood import flood, flooded_site  # noqa: E402
from tests.e2e.site import wait_for  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sources", type=int, default=4, help="loopback addresses the flood comes from")
    args = parser.parse_args()
    sources = [f"127.0.{n}.{n * 7 % 250 + 1}" for n in range(1, args.sources + 1)]

    with tempfile.TemporaryDirectory() as folder, DarajaSimulator() as sim:
        flooded = flooded_site(Path(folder), sim.url, args.count)
        requests, middle, site = flooded.requests, flooded.middle, flooded.site
        try:
            sent_bytes = sum(len(body) for _, body in requests)
            before = flooded.checkpointed_bytes()
            watch = MemoryWatch({role: proc.pid for role, proc in site.procs.items()})
            watch.sample()
            idle = dict(watch.rss)
            watch.start()
            started = time.perf_counter()
            answers = flood(site.portal_port, requests, sources=sources, concurrency=args.concurrency)
            duration = time.perf_counter() - started
            applied = wait_for(lambda: Payment.get_by_id(flooded.payment.id).status == "paid", 60,
                               "the real callback applied")
            watch.stop.set()
            watch.join()
            watch.sample()
            grown = flooded.checkpointed_bytes() - before
            kept_stk = MpesaCallback.select().where(MpesaCallback.outcome == "malformed").count()
            kept_c2b = C2BTransaction.select().where(C2BTransaction.outcome == "malformed").count()
        finally:
            site.stop()

    statuses = Counter(a.status for a in answers)
    latencies = [a.seconds for a in answers]
    hostile_ok = all(a.status == 400 for i, a in enumerate(answers) if i != middle)
    rows = [
        ("requests sent", f"{len(requests)} at {args.concurrency} connections",
         f"from {len(sources)} addresses, {sent_bytes / 2**20:.1f} MB of bodies"),
        ("duration", f"{duration:.1f} s", f"{len(requests) / duration:.0f} requests/s"),
        ("answer p50 / p99", f"{percentile(latencies, 50) * 1000:.1f} / {percentile(latencies, 99) * 1000:.1f} ms", ""),
        ("answers by status", ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())),
         "target: 400 for every malformed one, 200 for the real one"),
        ("state folder growth", f"{grown / 2**20:.2f} MB", "target < 10 MB (before the sample: 55 MB, this bench at c5e0f66)"),
        ("malformed bodies kept", f"{kept_stk} STK + {kept_c2b} Paybill", "the first 60 an hour of each"),
        ("real callback in the middle", "applied" if applied and answers[middle].status == 200 else "NOT applied", ""),
    ]
    for role in watch.rss:
        rows.append((f"{role} RSS idle / peak", f"{idle[role] / 2**20:.1f} / {watch.rss[role] / 2**20:.1f} MB", ""))
    print_table("malformed flood", rows)
    return 0 if grown < 10 * 2**20 and hostile_ok and answers[middle].status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
