"""Sync status reaches the console's JSON (`GET /api/admin/sync`) and /metrics."""

from __future__ import annotations

from datetime import timedelta

from hotspotd import events
from hotspotd.console.admins import add_admin
from hotspotd.store.db import utcnow, write_transaction
from hotspotd.store.models import Event
from hotspotd.sync import state
from hotspotd.console.actions import Console
from hotspotd.web import admin

from ..web.conftest import Client


def test_the_console_and_metrics_show_sync(runtime, config):
    config.central.url = "https://central.example.com"
    app = admin.make_app(config, Console(runtime))
    then = utcnow() - timedelta(minutes=10)
    with write_transaction():
        for _ in range(3):
            events.emit("system.critical", {"component": "test", "message": "m"}, then)
    state.record_failure(utcnow(), "central server unreachable: ConnectionError", 1800)
    add_admin("boss", "correct horse", utcnow())
    anonymous, boss = Client(app), Client(app)
    assert boss.login("boss", "correct horse") == 200
    everything = Event.select().count()  # nothing was ever sent: the audit log of the login waits too
    assert everything >= 4

    assert anonymous.json("GET", "/api/admin/sync")[0] == 401
    status, body = boss.json("GET", "/api/admin/sync")
    assert status == 200
    assert body["enabled"] is True and body["waiting"] == everything
    assert body["last_success"] is None and "unreachable" in body["last_error"] and body["failures"] == 1
    assert 590 <= body["oldest_waiting_age_s"] <= 700  # the events backdated ten minutes are the oldest

    assert anonymous.json("GET", "/metrics")[0] == 401
    status, text = boss.json("GET", "/metrics")
    assert status == 200
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("hotspotd_sync"))
    assert float(lines["hotspotd_sync_waiting_events"]) == everything
    assert float(lines["hotspotd_sync_failures"]) == 1
    assert float(lines["hotspotd_sync_last_success_timestamp_seconds"]) == 0
    assert 590 <= float(lines["hotspotd_sync_oldest_waiting_seconds"]) <= 700
