"""Sync status reaches the console's JSON (`GET /api/admin/sync`) and /metrics."""

from __future__ import annotations

import base64
from datetime import timedelta

from hotspotd import events
from hotspotd.admins import add_admin
from hotspotd.store.db import utcnow, write_transaction
from hotspotd.sync import state
from hotspotd.web import admin
from hotspotd.web.admin.auth import Logins

from ..central.wire import call


def test_the_console_and_metrics_show_sync(store, config):
    add_admin("boss", "correct horse", utcnow())
    config.central.url = "https://central.example.com"
    app = admin.make_app(config, Logins())
    then = utcnow() - timedelta(minutes=10)
    with write_transaction():
        for _ in range(3):
            events.emit("system.critical", {"component": "test", "message": "m"}, then)
    state.record_failure(utcnow(), "central server unreachable: ConnectionError", 1800)

    auth = {"Authorization": "Basic " + base64.b64encode(b"boss:correct horse").decode()}
    assert call(app, "GET", "/api/admin/sync")[0] == 401
    status, _, body = call(app, "GET", "/api/admin/sync", headers=auth)
    assert status == 200
    assert body["enabled"] is True and body["waiting"] == 4  # and the sync.failed event
    assert body["last_success"] is None and "unreachable" in body["last_error"] and body["failures"] == 1
    assert 590 <= body["oldest_waiting_age_s"] <= 700

    status, _, text = call(app, "GET", "/metrics")
    assert status == 200
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("hotspotd_sync"))
    assert float(lines["hotspotd_sync_waiting_events"]) == 4
    assert float(lines["hotspotd_sync_failures"]) == 1
    assert float(lines["hotspotd_sync_last_success_timestamp_seconds"]) == 0
    assert 590 <= float(lines["hotspotd_sync_oldest_waiting_seconds"]) <= 700
