"""One client cannot shut everyone out: 520 connections each holding an unfinished request,
from one address or from many, while the landing page and Daraja's callback keep answering."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from contextlib import ExitStack

import pytest

from .site import CALLBACK_TOKEN, Site, free_port, http, wait_for

pytestmark = pytest.mark.e2e

ATTACK = 520
UNFINISHED = (b"POST /api/portal/pay HTTP/1.1\r\nHost: portal\r\nContent-Type: application/json\r\n"
              b"Content-Length: 200\r\n\r\n{\"package_id\": ")
ORPHAN = json.dumps({"Body": {"stkCallback": {"MerchantRequestID": "m", "CheckoutRequestID": "ws_CO_unknown",
                                              "ResultCode": 1032, "ResultDesc": "Request cancelled by user"}}})


@pytest.fixture(scope="module")
def site(tmp_path_factory, daraja):
    site = Site(tmp_path_factory.mktemp("slow"), daraja.url, portal={"request_timeout": "3"})
    site.start("portal")
    yield site
    site.stop()


def hold(port: int, sources: list[str], per_source: int, stack: ExitStack) -> list[socket.socket]:
    """Open connections from each source address and send half a request on each (those
    the portal refuses at once are closed again on its side)."""
    held = []
    for source in sources:
        for _ in range(per_source):
            sock = stack.enter_context(socket.socket())
            sock.settimeout(5)
            sock.bind((source, 0))
            try:
                sock.connect(("127.0.0.1", port))
                sock.sendall(UNFINISHED)
            except OSError:
                continue
            held.append(sock)
    return held


def answered_quickly(site: Site, seconds: float = 3.0) -> float:
    """The landing page and a callback both answer within `seconds`; returns the slower time."""
    started = time.monotonic()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{site.portal}/?mac=AA:BB:CC:00:00:01", timeout=seconds) as page:
        assert page.status == 200 and b"M-Pesa" in page.read()
    status, body = http("POST", site.callback_url, raw=ORPHAN.encode(), timeout=seconds)
    assert (status, body) == (200, {"ResultCode": 0, "ResultDesc": "Accepted"})
    return time.monotonic() - started


def closed_by_the_portal(sock: socket.socket) -> bool:
    sock.settimeout(0.05)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:  # reset
        return True


def test_one_address_holding_520_unfinished_requests_shuts_nobody_out(site):
    with ExitStack() as stack:
        held = hold(site.portal_port, ["127.0.0.2"], ATTACK, stack)
        assert len(held) == ATTACK  # the kernel accepted them all; the portal keeps at most 32
        assert answered_quickly(site) < 3.0
        kept = wait_for(lambda: [s for s in held if not closed_by_the_portal(s)] or None, 10,
                        "the portal to refuse the connections past its bound")
        assert len(kept) <= 32
        # ... and those it kept are cut once their request is 3 s late.
        wait_for(lambda: all(closed_by_the_portal(s) for s in kept), 15, "unfinished requests to be timed out")
    assert "refused" in site.log("portal")


def test_520_unfinished_requests_from_many_addresses_make_room_for_others(site):
    sources = [f"127.0.1.{i}" for i in range(1, 27)]  # 26 addresses x 20: each under its bound, 520 in all
    with ExitStack() as stack:
        held = hold(site.portal_port, sources, ATTACK // len(sources), stack)
        assert len(held) == ATTACK
        for _ in range(3):
            assert answered_quickly(site) < 3.0
        # The oldest unfinished requests were closed to make room when the portal was full.
        assert wait_for(lambda: "connection limit reached" in site.log("portal"), 10, "room made")


def test_callbacks_on_their_own_listener_answer_while_the_portal_is_flooded(tmp_path, daraja):
    callback_port = free_port()
    site = Site(tmp_path, daraja.url, portal={"callback_listen": f"127.0.0.1:{callback_port}"})
    try:
        site.start("portal")
        url = f"http://127.0.0.1:{callback_port}/api/payments/stk-callback/{CALLBACK_TOKEN}"
        assert http("GET", f"http://127.0.0.1:{callback_port}/")[0] == 404  # only Daraja's routes there
        with ExitStack() as stack:
            hold(site.portal_port, [f"127.0.2.{i}" for i in range(1, 27)], ATTACK // 26, stack)
            for _ in range(5):
                started = time.monotonic()
                assert http("POST", url, raw=ORPHAN.encode(), timeout=3)[0] == 200
                assert time.monotonic() - started < 3.0
    finally:
        site.stop()
