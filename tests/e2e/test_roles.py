"""Roles as processes: clean SIGTERM, and `hotspotd run` watching its children."""

import signal
import subprocess
import sys
import time

import pytest

from hotspotd.sim.daraja import DarajaSimulator

from .site import Site, admin_login, http, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def bare_site(tmp_path):
    with DarajaSimulator() as sim:
        site = Site(tmp_path, sim.url)
        yield site
        site.stop()


@pytest.mark.parametrize("role", ["portal", "worker", "admin"])
def test_role_stops_cleanly_on_sigterm_within_5_seconds(bare_site, role):
    bare_site.start(role)
    if role == "worker":
        wait_for(lambda: "worker consuming" in bare_site.log(role), 30, "worker start")
    started = time.monotonic()
    assert bare_site.kill(role, signal.SIGTERM) == 0, bare_site.log(role)
    assert time.monotonic() - started < 5


def test_role_refuses_a_database_that_was_not_initialised(tmp_path):
    config = tmp_path / "c.ini"
    config.write_text(f"[site]\nstate_dir = {tmp_path / 'empty'}\n[mpesa]\nconsumer_key = k\nconsumer_secret = s\n"
                      "passkey = p\ncallback_token = a-callback-token-0123456789\n")
    result = subprocess.run([sys.executable, "-m", "hotspotd", "--config", str(config), "run", "--role", "worker"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "run `hotspotd init` first" in result.stderr


def test_admin_api_needs_a_login_and_streams_events(bare_site):
    bare_site.cli("admin", "add", "boss", stdin="correct horse\n")
    bare_site.start("admin")
    base = f"http://127.0.0.1:{bare_site.admin_port}"
    assert http("GET", base + "/api/admin/events")[0] == 401
    assert admin_login(base, "boss", "wrong")[0] == 401
    assert admin_login(base, "nobody", "correct horse")[0] == 401
    status, boss = admin_login(base, "boss", "correct horse")
    assert status == 200
    bare_site.cli("queue", "mode", "immediate")
    status, events = boss.get("/api/admin/events")
    assert status == 200 and events[-1]["type"] == "system.mode_changed"
    assert http("GET", base + "/metrics")[0] == 401  # a login or the scrape token now
    status, text = boss.get("/metrics")
    assert status == 200 and 'hotspotd_payments{status="paid"} 0.0' in text


def test_websocket_pushes_new_events_as_they_happen(bare_site):
    import json

    from .wsclient import WebSocket

    bare_site.cli("admin", "add", "boss", stdin="correct horse\n")
    bare_site.start("admin")
    base = f"http://127.0.0.1:{bare_site.admin_port}"
    refused = WebSocket("127.0.0.1", bare_site.admin_port, "/ws", {"Origin": base})
    assert refused.status == 401
    refused.close()
    _, boss = admin_login(base, "boss", "correct horse")
    ws = WebSocket("127.0.0.1", bare_site.admin_port, "/ws", {"Cookie": boss.cookie, "Origin": base})
    assert ws.status == 101
    bare_site.cli("queue", "mode", "immediate")
    message = json.loads(ws.receive())
    if message["type"] == "admin.action":  # the login itself, when the hub had not yet seen it as the socket opened
        message = json.loads(ws.receive())
    assert message["type"] == "system.mode_changed" and message["data"]["queue_mode"] == "immediate"
    assert set(message) == {"id", "type", "at", "data"} and message["at"].endswith("Z")
    bare_site.cli("queue", "mode", "async")
    assert json.loads(ws.receive())["id"] == message["id"] + 1
    ws.close()


def test_websocket_upgrade_needs_a_login_from_the_same_origin(bare_site):
    from .wsclient import WebSocket

    bare_site.cli("admin", "add", "boss", stdin="correct horse\n")
    bare_site.start("admin")
    base = f"http://127.0.0.1:{bare_site.admin_port}"
    _, boss = admin_login(base, "boss", "correct horse")
    _, ended = admin_login(base, "boss", "correct horse")
    assert ended.post("/logout")[0] == 200
    refused = {
        "no cookie": {"Origin": base},
        "a made-up cookie": {"Cookie": "hotspotd_admin=" + "A" * 43, "Origin": base},
        "a logged-out cookie": {"Cookie": ended.cookie, "Origin": base},
        "another site's page": {"Cookie": boss.cookie, "Origin": "http://evil.example"},
        "no Origin": {"Cookie": boss.cookie},
    }
    for what, headers in refused.items():
        ws = WebSocket("127.0.0.1", bare_site.admin_port, "/ws", headers)
        try:
            assert ws.status in (401, 403), f"{what}: the upgrade answered {ws.status}"
        finally:
            ws.close()
    ws = WebSocket("127.0.0.1", bare_site.admin_port, "/ws", {"Cookie": boss.cookie, "Origin": base})
    assert ws.status == 101  # the right login still gets in
    ws.close()
