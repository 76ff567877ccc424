"""Central sync carries home subscribers and their payments like everything else: their
events reach a real receiver once, without their PPPoE password, and their money counts in
the site's revenue there."""

from __future__ import annotations

import json
from decimal import Decimal

from hotspotd.central.overview import overview
from hotspotd.central.store import Event as CentralEvent
from hotspotd.pppoe import billing, paybill
from hotspotd.store.db import utcnow, write_transaction
from hotspotd.sync.passes import run_pass

from ..sync.conftest import box, central  # noqa: F401 (fixtures)


def test_subscribers_and_their_payments_reach_central(box, config, subscribe, receiver_url):  # noqa: F811
    now = utcnow()
    sub = subscribe(password="Secret-PPP-9")
    with write_transaction():
        payment_id = paybill.receive(sub.account, receipt="SKL51ZDR4F", amount=Decimal(1500), now=now)
    billing.apply_received([payment_id], now, 0.0)
    result = run_pass(config, box.client)
    assert result.ok, result.error
    arrived = {e.type: e.data for e in CentralEvent.select().where(CentralEvent.site == box.site_id)}
    data = arrived["subscriber.created"]
    data = json.loads(data) if isinstance(data, str) else data
    assert data["account"] == sub.account and data["username"] == sub.username
    assert "Secret-PPP-9" not in json.dumps(arrived) and "password" not in json.dumps(arrived)
    assert {"subscriber.extended", "payment.processed"} <= set(arrived)
    site = next(s for s in overview(utcnow(), "Africa/Nairobi")["sites"] if s["id"] == box.site_id)
    assert site["revenue_today"] == 1500 and site["payments_today"] == 1
