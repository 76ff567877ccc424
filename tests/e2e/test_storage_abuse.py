"""Storage under abuse, from outside: 20,000 malformed Daraja callbacks and Paybill
confirmations through the real portal (a real HTTP server on loopback, from the few
addresses Daraja calls from) grow the state folder by well under 10 MB, every one is
answered a clean 400, and a real callback sent in the middle of the flood is recorded and
applied. Before the sample (issue 18) the same flood added 55 MB."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.store import sampling
from hotspotd.store.db import db
from hotspotd.store.models import C2BTransaction, MpesaCallback, Payment, Subscription

from .flood import flood, flooded_site
from .site import wait_for

pytestmark = pytest.mark.e2e

FLOOD = 20_000
DARAJA_ADDRESSES = [f"127.0.{n}.{n * 7 % 250 + 1}" for n in range(1, 5)]  # Daraja calls from a few addresses


def test_a_flood_of_malformed_callbacks_grows_the_state_folder_by_under_ten_megabytes(tmp_path):
    started = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    with DarajaSimulator() as sim:
        flooded = flooded_site(tmp_path, sim.url, FLOOD)
        try:
            payment, middle = flooded.payment, flooded.middle
            before = flooded.checkpointed_bytes()
            answers = flood(flooded.site.portal_port, flooded.requests, sources=DARAJA_ADDRESSES, concurrency=16)

            assert answers[middle].status == 200
            hostile = answers[:middle] + answers[middle + 1:]
            assert {a.status for a in hostile} == {400}  # no 500, no 503: every one read and refused
            assert all(json.loads(a.body)["ResultCode"] == 1 and json.loads(a.body)["ResultDesc"].startswith("Rejected")
                       for a in hostile)
            wait_for(lambda: Payment.get_by_id(payment.id).status == "paid", 60, "the payment in the flood applied")
            assert Subscription.select().count() == 1 and Payment.get_by_id(payment.id).receipt == "RFL00000001"

            grown = flooded.checkpointed_bytes() - before
            assert grown < 10 * 2**20, f"the state folder grew by {grown / 2**20:.1f} MB"
            # what was kept: a sample (two hours' worth if the flood ran over an hour's end), the money whole
            hours = sampling.tally(since=started)
            seen = {kind: sum(r["seen"] for r in hours if r["kind"] == kind) for kind in sampling.KINDS}
            assert seen[sampling.STK_MALFORMED] == FLOOD * 4 // 5 and seen[sampling.C2B_MALFORMED] == FLOOD // 5
            assert MpesaCallback.select().where(MpesaCallback.outcome == "malformed").count() <= 2 * sampling.PER_HOUR
            assert C2BTransaction.select().where(C2BTransaction.outcome == "malformed").count() <= 2 * sampling.PER_HOUR
            kept = MpesaCallback.get(MpesaCallback.checkout_request_id == "ws_CO_in_the_flood")
            assert kept.body.encode() == flooded.requests[middle][1] and not kept.sampled
            assert "Traceback" not in flooded.site.log("portal")
        finally:
            flooded.site.stop()
            db.close()
