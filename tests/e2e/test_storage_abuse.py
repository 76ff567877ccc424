"""Storage under abuse, from outside: 20,000 malformed Daraja callbacks and Paybill
confirmations through the real portal (a real HTTP server on loopback, from the few
addresses Daraja calls from) grow the state folder by well under 10 MB, every one is
answered a clean 400, and a real callback sent in the middle of the flood is recorded and
applied. Before the sample (issue 18) the same flood added 38 MB."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from hotspotd import config as config_mod
from hotspotd.processes import BACK_OFFICE
from hotspotd.sim.daraja import DarajaSimulator, success_callback
from hotspotd.store import sampling
from hotspotd.store.db import db, open_database, write_transaction
from hotspotd.store.models import C2BTransaction, MpesaCallback, Package, Payment, Subscription

from .flood import checkpoint, flood, folder_bytes, malformed_bodies
from .site import CALLBACK_TOKEN, Site, wait_for

pytestmark = pytest.mark.e2e

FLOOD = 20_000
DARAJA_ADDRESSES = [f"127.0.{n}.{n * 7 % 250 + 1}" for n in range(1, 5)]  # Daraja calls from a few addresses


def test_a_flood_of_malformed_callbacks_grows_the_state_folder_by_under_ten_megabytes(tmp_path):
    with DarajaSimulator() as sim:
        site = Site(tmp_path, sim.url, mpesa={"query_after": "600", "pending_timeout": "1200"})
        config = config_mod.load(site.config_path)
        try:
            site.start("portal")
            site.start(BACK_OFFICE)
            open_database(config.app_db_path)
            now = datetime.now(timezone.utc)
            with write_transaction():
                package = Package.create(name="Hour", price=10, duration_s=3600, rate_limit="2M/5M", devices=1,
                                         created_at=now)
                payment = Payment.create(ref="flood-ref", package=package, phone="254712345678", amount=10,
                                         status="pending", checkout_request_id="ws_CO_in_the_flood",
                                         merchant_request_id="m-flood", created_at=now, updated_at=now)
            for path in (config.app_db_path, config.queue_db_path):
                checkpoint(path)
            before = folder_bytes(config.state_dir)

            stk, c2b = (f"/api/payments/stk-callback/{CALLBACK_TOKEN}",
                        f"/api/payments/c2b-confirmation/{CALLBACK_TOKEN}")
            requests = [(c2b if i % 5 == 4 else stk, body) for i, body in enumerate(malformed_bodies(FLOOD))]
            good = json.dumps(success_callback("ws_CO_in_the_flood", "m-flood", 10.0, "RFL00000001",
                                               254712345678, now)).encode()
            middle = FLOOD // 2
            requests.insert(middle, (stk, good))
            answers = flood(site.portal_port, requests, sources=DARAJA_ADDRESSES, concurrency=16)

            assert answers[middle].status == 200
            hostile = answers[:middle] + answers[middle + 1:]
            assert {a.status for a in hostile} == {400}  # no 500, no 503: every one read and refused
            assert all(json.loads(a.body)["ResultCode"] == 1 and json.loads(a.body)["ResultDesc"].startswith("Rejected")
                       for a in hostile)
            wait_for(lambda: Payment.get_by_id(payment.id).status == "paid", 60, "the payment in the flood applied")
            assert Subscription.select().count() == 1 and Payment.get_by_id(payment.id).receipt == "RFL00000001"

            for path in (config.app_db_path, config.queue_db_path):
                checkpoint(path)
            grown = folder_bytes(config.state_dir) - before
            assert grown < 10 * 2**20, f"the state folder grew by {grown / 2**20:.1f} MB"
            # what was kept: a sample (two hours' worth if the flood ran over an hour's end), whole money
            hours = sampling.tally(since=now.replace(minute=0, second=0, microsecond=0))
            seen = {kind: sum(r["seen"] for r in hours if r["kind"] == kind) for kind in sampling.KINDS}
            assert seen[sampling.STK_MALFORMED] == FLOOD * 4 // 5 and seen[sampling.C2B_MALFORMED] == FLOOD // 5
            assert MpesaCallback.select().where(MpesaCallback.outcome == "malformed").count() <= 2 * sampling.PER_HOUR
            assert C2BTransaction.select().where(C2BTransaction.outcome == "malformed").count() <= 2 * sampling.PER_HOUR
            assert MpesaCallback.get(MpesaCallback.checkout_request_id == "ws_CO_in_the_flood").body == good.decode()
            assert "Traceback" not in site.log("portal")
        finally:
            site.stop()
            db.close()
