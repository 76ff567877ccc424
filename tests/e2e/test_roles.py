"""Roles as processes: clean SIGTERM, and `hotspotd run` watching its children."""

import signal
import subprocess
import sys
import time

import pytest

from hotspotd.sim.daraja import DarajaSimulator

from .site import Site, http, wait_for

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
    config.write_text(f"[site]\nstate_dir = {tmp_path / 'empty'}\n")
    result = subprocess.run([sys.executable, "-m", "hotspotd", "--config", str(config), "run", "--role", "worker"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "run `hotspotd init` first" in result.stderr


def test_admin_api_needs_a_login_and_streams_events(bare_site):
    bare_site.cli("admin", "add", "boss", stdin="correct horse\n")
    bare_site.start("admin")
    base = f"http://127.0.0.1:{bare_site.admin_port}"
    assert http("GET", base + "/api/admin/events")[0] == 401
    import base64
    good = {"Authorization": "Basic " + base64.b64encode(b"boss:correct horse").decode()}
    bad = {"Authorization": "Basic " + base64.b64encode(b"boss:wrong").decode()}
    assert http("GET", base + "/api/admin/events", headers=bad)[0] == 401
    bare_site.cli("queue", "mode", "immediate")
    status, events = http("GET", base + "/api/admin/events", headers=good)
    assert status == 200 and events[-1]["type"] == "system.mode_changed"
    status, text = http("GET", base + "/metrics")
    assert status == 200 and 'hotspotd_payments{status="paid"} 0.0' in text


def test_websocket_pushes_new_events_as_they_happen(bare_site):
    import base64
    import json

    from .wsclient import WebSocket

    bare_site.cli("admin", "add", "boss", stdin="correct horse\n")
    bare_site.start("admin")
    auth = {"Authorization": "Basic " + base64.b64encode(b"boss:correct horse").decode()}
    refused = WebSocket("127.0.0.1", bare_site.admin_port, "/ws")
    assert refused.status == 401
    refused.close()
    ws = WebSocket("127.0.0.1", bare_site.admin_port, "/ws", auth)
    assert ws.status == 101
    bare_site.cli("queue", "mode", "immediate")
    message = json.loads(ws.receive())
    assert message["type"] == "system.mode_changed" and message["data"]["queue_mode"] == "immediate"
    assert set(message) == {"id", "type", "at", "data"} and message["at"].endswith("Z")
    bare_site.cli("queue", "mode", "async")
    assert json.loads(ws.receive())["id"] == message["id"] + 1
    ws.close()


def test_websocket_upgrade_needs_the_right_password(bare_site):
    import base64

    from .wsclient import WebSocket

    bare_site.cli("admin", "add", "boss", stdin="correct horse\n")
    bare_site.start("admin")

    def basic(raw: bytes) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    refused = {
        "wrong password": basic(b"boss:wrong"),
        "no such admin": basic(b"nobody:correct horse"),
        "no colon": basic(b"boss"),
        "not base64": {"Authorization": "Basic !!not-base64!!"},
        "not UTF-8": basic(b"boss:\xff\xfe"),
        "empty": {"Authorization": "Basic "},
        "not Basic": {"Authorization": "Bearer " + base64.b64encode(b"boss:correct horse").decode()},
    }
    for what, headers in refused.items():
        ws = WebSocket("127.0.0.1", bare_site.admin_port, "/ws", headers)
        try:
            assert ws.status == 401, f"{what}: the upgrade answered {ws.status}"
        finally:
            ws.close()
    ws = WebSocket("127.0.0.1", bare_site.admin_port, "/ws", basic(b"boss:correct horse"))
    assert ws.status == 101  # the right login still gets in
    ws.close()
