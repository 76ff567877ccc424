"""Paybill reconciliation: 1,000 Paybill payments whose confirmations were all lost, found
by one Pull Transactions pass (5 pages of 200 from the Daraja simulator, over HTTP on
loopback) and recorded into a real database file (WAL, synchronous=FULL), then applied;
a second pass (the overlap) and 200 late confirmations must record nothing twice. Prints
a table.

    .venv/bin/python bench/pull_bench.py [--count 1000] [--page-size 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.callback_bench import print_table  # noqa: E402
from hotspotd import config as config_mod  # noqa: E402
from hotspotd.billing import c2b, payments  # noqa: E402
from hotspotd.billing.callbacks import Incoming  # noqa: E402
from hotspotd.billing.packages import add_package  # noqa: E402
from hotspotd.billing.paybill_pull import run_pass  # noqa: E402
from hotspotd.mpesa.client import SANDBOX_PASSKEY, DarajaClient  # noqa: E402
from hotspotd.mpesa.pull import PullTransactions  # noqa: E402
from hotspotd.sim.daraja import DarajaSimulator  # noqa: E402
from hotspotd.sim.daraja.wire import c2b_body, masked_msisdn  # noqa: E402
from hotspotd.store import init_store  # noqa: E402
from hotspotd.store.db import db  # noqa: E402
from hotspotd.store.models import C2BTransaction, Event, Payment  # noqa: E402

PAYBILL = "600984"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, DarajaSimulator() as sim:
        config = config_mod.load(None, overrides={"site": {"state_dir": folder}})
        init_store(config)
        package = add_package(name="Hour", price=10, duration="1h", now=datetime.now(timezone.utc))
        sim.c2b.validation, sim.c2b.drop_confirmations = False, True
        sim.pull.page_size = args.page_size
        daraja = DarajaClient(sim.url, "sim-key", "sim-secret", "174379", SANDBOX_PASSKEY, timeout=30)
        daraja.register_c2b(short_code=PAYBILL, confirmation_url="http://127.0.0.1:9/c", validation_url="http://127.0.0.1:9/v")
        puller = PullTransactions(daraja, PAYBILL)
        puller.register(nominated_number="254722000000", callback_url="http://127.0.0.1:9/c")
        made = datetime.now(timezone.utc) - timedelta(minutes=5)
        offers = [c2b.make_offer(package, mac=f"02:00:00:00:{n >> 8:02X}:{n & 255:02X}", ip=None, now=made,
                                 customer_id=None) for n in range(args.count)]
        paid = [sim.c2b.pay(amount=10, phone=f"2547{n:08d}", account=o.account, short_code=PAYBILL)
                for n, o in enumerate(offers)]
        for payment in paid:
            payment["done"].wait(30)

        started = time.perf_counter()
        report = run_pass(puller, datetime.now(timezone.utc))
        pulled = time.perf_counter() - started
        started = time.perf_counter()
        applied, failed = payments.apply_many(report.apply, datetime.now(timezone.utc))
        applying = time.perf_counter() - started

        again = run_pass(puller, datetime.now(timezone.utc))  # the next pass overlaps this one
        late = [Incoming(json.dumps(c2b_body(trans_id=p["trans_id"], when=datetime.now(timezone.utc), amount=10,
                                             short_code=PAYBILL, bill_ref=p["account"],
                                             msisdn=masked_msisdn(p["phone"]), balance="0")).encode(), "127.0.0.1",
                         datetime.now(timezone.utc)) for p in paid[:200]]
        late_outcomes = c2b.record_confirmations(late)
        rows = C2BTransaction.select().count()
        processed = Event.select().where(Event.type == "payment.processed").count()
        paid_rows = Payment.select().where(Payment.status == "paid").count()
        twice = processed - len({e.data["payment_id"] for e in Event.select().where(Event.type == "payment.processed")})
        daraja.close()
        db.close()
    ok = (report.recorded == args.count and paid_rows == args.count and processed == args.count and twice == 0
          and again.recorded == 0 and rows == args.count and all(o.outcome == "duplicate" for o in late_outcomes))
    print_table(f"Paybill reconciliation, {args.count} payments without confirmations", [
        ("pages pulled", str(report.pages), f"{args.page_size} rows a page, then an empty one"),
        ("pull and record", f"{pulled:.2f} s", f"{args.count / pulled:.0f} payments/s: queries and group commits"),
        ("apply", f"{applying:.2f} s", f"{len(applied)} applied, {len(failed)} failed"),
        ("recorded by the pass", str(report.recorded), f"matched {report.matched}, unmatched {report.unmatched}"),
        ("second pass (overlap)", str(again.recorded), f"seen {again.seen}, recorded again: must be 0"),
        ("late confirmations", str(sum(o.outcome != "duplicate" for o in late_outcomes)),
         "of 200 recorded again: must be 0"),
        ("paid payments", str(paid_rows), f"payment.processed events {processed}, twice {twice}"),
        ("result", "OK" if ok else "FAILED", "none recorded or applied twice"),
    ])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
