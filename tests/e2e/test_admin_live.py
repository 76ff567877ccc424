"""The admin role as a real process: live events to many pages at once, resuming after a
reconnect without losing or doubling one, and password checks that never stall the pages."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

from hotspotd import config as config_mod
from hotspotd.console import audit
from hotspotd import events
from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.store.db import db, open_database, utcnow, write_transaction

from .site import Site, admin_login
from .site import http as get
from .wsclient import WebSocket

pytestmark = pytest.mark.e2e


@pytest.fixture
def console_site(tmp_path):
    with DarajaSimulator() as sim:
        site = Site(tmp_path, sim.url)
        site.cli("admin", "add", "boss", stdin="correct horse\n")
        site.start("admin")
        open_database(config_mod.load(site.config_path).app_db_path)  # this test writes events itself
        yield site
        site.stop()
        db.close()


def emit(n: int, marker: str) -> list[int]:
    ids = []
    for i in range(n):
        with write_transaction():
            ids.append(events.emit("system.critical", {"component": "test", "message": f"{marker} {i}"}, utcnow()))
    return ids


def socket_for(site: Site, login, after: int | None = None) -> WebSocket:
    base = f"http://127.0.0.1:{site.admin_port}"
    path = "/ws" + (f"?after={after}" if after is not None else "")
    ws = WebSocket("127.0.0.1", site.admin_port, path, {"Cookie": login.cookie, "Origin": base}, timeout=30)
    assert ws.status == 101
    return ws


def test_every_socket_gets_every_event_and_a_reconnect_resumes_where_it_left(console_site):
    base = f"http://127.0.0.1:{console_site.admin_port}"
    _, boss = admin_login(base, "boss", "correct horse")
    start = boss.get("/api/admin/me")[1]["last_event_id"]  # from here: nothing between connect and subscribe is lost
    sockets = [socket_for(console_site, boss, after=start) for _ in range(20)]
    sent = emit(5, "first")
    for ws in sockets:
        assert [json.loads(ws.receive())["id"] for _ in sent] == sent
    last_seen = sent[2]
    for ws in sockets:
        ws.close()
    missed = emit(4, "while away")
    resumed = socket_for(console_site, boss, after=last_seen)
    live = emit(2, "after")
    got = [json.loads(resumed.receive())["id"] for _ in range(2 + 4 + 2)]
    assert got == sent[3:] + missed + live  # nothing lost, nothing twice, in order
    resumed.close()


def test_an_operator_socket_carries_no_audit_entries(console_site):
    """The audit log is admin-only (its page); /ws must not hand it to operators, live or from the backlog."""
    console_site.cli("admin", "add", "clerk", "--role", "operator", stdin="staple paper clip\n")
    base = f"http://127.0.0.1:{console_site.admin_port}"
    _, boss = admin_login(base, "boss", "correct horse")
    _, clerk = admin_login(base, "clerk", "staple paper clip")
    start = boss.get("/api/admin/me")[1]["last_event_id"]

    def mixed(marker: str) -> tuple[list[int], list[int]]:
        audited, other = [], []
        for i in range(3):
            with write_transaction():
                audited.append(audit.record(audit.COMMAND_LINE, "test.secret", f"{marker} {i}", utcnow()))
            other += emit(1, marker)
        return audited, other

    live_socket = {"boss": socket_for(console_site, boss, after=start), "clerk": socket_for(console_site, clerk,
                                                                                             after=start)}
    audited, other = mixed("live")
    assert [json.loads(live_socket["boss"].receive())["id"] for _ in range(6)] == sorted(audited + other)
    assert [json.loads(live_socket["clerk"].receive())["id"] for _ in other] == other
    for ws in live_socket.values():
        ws.close()
    backlog = socket_for(console_site, clerk, after=start)  # the same events, now from the table
    assert [json.loads(backlog.receive())["id"] for _ in other] == other
    later, after = mixed("after")
    assert [json.loads(backlog.receive())["id"] for _ in after] == after  # the audit entries between were skipped
    backlog.close()


def test_an_event_reaches_the_page_soon_after_its_commit(console_site):
    base = f"http://127.0.0.1:{console_site.admin_port}"
    _, boss = admin_login(base, "boss", "correct horse")
    ws = socket_for(console_site, boss, after=boss.get("/api/admin/me")[1]["last_event_id"])
    delays = []
    for i in range(20):
        emit(1, "timed")
        committed = time.monotonic()
        ws.receive()
        delays.append(time.monotonic() - committed)
    ws.close()
    delays.sort()
    # The bench measures this under load (target p99 < 100 ms); here only that it is not polling at 0.5 s.
    assert delays[len(delays) // 2] < 0.25, delays


def test_fifty_wrong_passwords_at_once_do_not_stall_the_pages(console_site):
    base = f"http://127.0.0.1:{console_site.admin_port}"
    answers, pings = [], []
    start = threading.Event()

    def guess(i: int) -> None:
        # Each from its own address (all of 127.0.0.0/8 is this machine), as 50 devices on the LAN
        # would: the per-address throttle does not stop them, so every one costs a password check.
        connection = http.client.HTTPConnection("127.0.0.1", console_site.admin_port, timeout=60,
                                                source_address=(f"127.0.0.{10 + i}", 0))
        body = json.dumps({"username": f"someone{i}", "password": "not the password"})
        start.wait()
        connection.request("POST", "/login", body, {"Content-Type": "application/json", "Origin": base})
        answers.append(connection.getresponse().status)
        connection.close()

    def ping() -> None:
        start.wait()
        while len(answers) < 50:
            began = time.monotonic()
            status, _ = get("GET", base + "/healthz", timeout=30)
            pings.append((status, time.monotonic() - began))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(50)] + [threading.Thread(target=ping)]
    for t in threads:
        t.start()
    began = time.monotonic()
    start.set()
    for t in threads:
        t.join(120)
    took = time.monotonic() - began
    assert answers == [401] * 50  # each was checked, none throttled
    slowest = max(d for _, d in pings)
    assert all(s == 200 for s, _ in pings) and len(pings) >= 3, pings
    # Before: scrypt on the event loop held every page for ~5 s. Now the pages wait for the CPU only.
    print(f"50 password checks took {took:.2f} s; /healthz answered {len(pings)} times, slowest {slowest:.3f} s")
    assert slowest < 1.0, f"/healthz took {slowest:.2f} s while 50 passwords were checked ({took:.1f} s in all)"
