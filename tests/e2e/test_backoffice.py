"""The back office (`hotspotd run --role admin,worker`): the console and the worker in one
gevent process, as `hotspotd run` and the systemd units start them."""

import json
import re
import signal
import sqlite3
import time
from contextlib import closing

import pytest

from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.plumbing.processes import BACK_OFFICE

from .site import Site, admin_login, http, wait_for
from .wsclient import WebSocket

pytestmark = pytest.mark.e2e

MAC = "AA:BB:CC:0B:0F:01"


@pytest.fixture
def office(tmp_path):
    with DarajaSimulator(callback_delay=0.2) as sim:
        site = Site(tmp_path, sim.url)
        site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h", "--rate", "2M/5M")
        site.cli("admin", "add", "boss", stdin="correct horse\n")
        site.start("portal")
        site.start(BACK_OFFICE)
        try:
            yield site
        finally:
            site.stop()


def test_one_process_sells_and_the_console_sees_it_live(office):
    base = f"http://127.0.0.1:{office.admin_port}"
    _, boss = admin_login(base, "boss", "correct horse")
    ws = WebSocket("127.0.0.1", office.admin_port, "/ws", {"Cookie": boss.cookie, "Origin": base}, timeout=60)
    assert ws.status == 101
    status, body = http("POST", office.portal + "/api/portal/pay",
                        {"package_id": 1, "phone": "0712000001", "mac": MAC, "ip": "10.5.50.9"})
    assert status == 202
    # The worker greenlets apply the payment; the console's websocket pushes it as it happens.
    seen = []
    while not {"subscription.created", "payment.processed"} <= set(seen):
        seen.append(json.loads(ws.receive())["type"])
    # (the login's own event comes first when the feed had not yet seen it as the socket opened)
    assert [t for t in seen if t != "admin.action"][0] == "payment.initiated"
    ws.close()
    paid = wait_for(lambda: (lambda r: r[1] if r[1].get("status") == "paid" else None)(
        http("GET", f"{office.portal}/api/portal/payments/{body['payment_id']}?mac={MAC}")), 30, "paid")
    assert paid["username"] and paid["password"]
    # Both halves noted their start under their own names, from the same process.
    _, health = boss.get("/api/admin/health")
    started = {h["component"]: h["message"] for h in health["items"] if h["message"].startswith("started")}
    assert started["admin"] == started["worker"] == f"started (pid {office.procs[BACK_OFFICE].pid})"

    def applied() -> float | None:
        _, text = boss.get("/metrics")
        found = re.search(r'hotspotd_task_outcomes_total\{outcome="done",task="apply_payments"\} (\S+)', text)
        return float(found.group(1)) if found else None

    assert wait_for(applied, 30, "the task counts published") == 1.0
    # Every publisher publishes once more on its way out: the queue's counters come from the
    # worker half alone, not once per half.
    assert office.kill(BACK_OFFICE, signal.SIGTERM) == 0
    with closing(sqlite3.connect(office.folder / "state" / "hotspotd.db")) as conn:
        rows = conn.execute("SELECT source, value FROM counter WHERE name = 'task' AND label = 'apply_payments:done'")
        assert rows.fetchall() == [("worker", 1.0)]


def test_sigterm_stops_the_console_and_the_worker_together(office):
    proc = office.procs[BACK_OFFICE]
    started = time.monotonic()
    assert office.kill(BACK_OFFICE, signal.SIGTERM) == 0
    assert time.monotonic() - started < 5  # every role stops within 5 s of a SIGTERM
    log = office.log(BACK_OFFICE)
    assert "back office stopping" in log and "admin,worker stopped" in log and "Traceback" not in log
    assert proc.returncode == 0
    with pytest.raises(OSError):  # the console's port is closed with it
        http("GET", f"http://127.0.0.1:{office.admin_port}/healthz", timeout=5)
