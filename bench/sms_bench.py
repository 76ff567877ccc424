"""The SMS outbox draining: 500 receipts queued at once (a burst of payments), sent by the
worker's passes through the Africa's Talking simulator over HTTP on loopback, each claimed
and recorded in a real database file (WAL, synchronous=FULL): how fast the queue drains,
and that every receipt went exactly once. Prints a table.

    .venv/bin/python bench/sms_bench.py [--count 500]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.callback_bench import print_table  # noqa: E402
from hotspotd import config as config_mod  # noqa: E402
from hotspotd.billing import subscriptions  # noqa: E402
from hotspotd.billing.packages import add_package  # noqa: E402
from hotspotd.sim.sms import SmsSimulator  # noqa: E402
from hotspotd.sms import outbox, receipts  # noqa: E402
from hotspotd.store import init_store  # noqa: E402
from hotspotd.store.db import db, write_transaction  # noqa: E402
from hotspotd.store.models import SmsMessage  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, SmsSimulator() as sim:
        config = config_mod.load(None, overrides={
            "site": {"state_dir": folder},
            "sms": {"provider": "africastalking", "base_url": sim.url, "username": sim.username,
                    "api_key": sim.api_key}})
        init_store(config)
        now = datetime.now(timezone.utc)
        package = add_package(name="Hour", price=10, duration="1h", now=now)
        with write_transaction():
            for n in range(args.count):
                customer = subscriptions.find_or_create_customer(f"2547{n:08d}", now)
                grant = subscriptions.grant(customer, package, now)
                receipts.queue_receipt(grant_key=f"bench:{n}", customer_id=customer, subscription_id=grant.subscription_id,
                                       phone=f"2547{n:08d}", lang="en", now=now)
        gateway = outbox.Gateway.from_config(config)
        started, passes = time.perf_counter(), 0
        while SmsMessage.select().where(SmsMessage.status == "queued").exists():
            outbox.send_due(gateway, config, datetime.now(timezone.utc), limit=50)
            passes += 1
        took = time.perf_counter() - started
        sent = SmsMessage.select().where(SmsMessage.status == "sent").count()
        per_number = Counter(m["fields"]["to"] for m in sim.messages)
        gateway.close()
        db.close()
    ok = sent == args.count and len(per_number) == args.count and max(per_number.values()) == 1
    print_table(f"SMS outbox, {args.count} receipts queued at once", [
        ("drained in", f"{took:.2f} s", f"{passes} passes of up to 50"),
        ("rate", f"{args.count / took:.0f}/s", "one gateway request per text, claimed and recorded in the store"),
        ("sent", str(sent), f"texts at the gateway {len(sim.messages)}, to {len(per_number)} numbers"),
        ("result", "OK" if ok else "FAILED", "every receipt exactly once"),
    ])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
