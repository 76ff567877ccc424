"""A rogue router's endless reply: the client stops reading at its limits with a clear
error, closes the connection, and this process's memory stays bounded."""

from __future__ import annotations

import threading
import tracemalloc

import pytest

from hotspotd.router.api import RouterReplyTooLarge, Target
from hotspotd.router.client import Limits, connect
from hotspotd.router.pool import RouterClients
from hotspotd.sim.routeros import RouterOSSimulator

from ..loopback import wait_for


@pytest.fixture
def rogue():
    with RouterOSSimulator(password="pw") as sim:
        yield sim


def target(sim: RouterOSSimulator) -> Target:
    return Target(1, "rogue", "127.0.0.1", sim.port, "admin", "pw")


def ask_in_thread(call, deadline: float = 60.0):
    """Run `call` in a thread; the test fails (not hangs) if it never returns."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 (handed to the test)
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(deadline)
    assert not thread.is_alive(), f"the client was still reading an endless reply after {deadline:.0f} s"
    return outcome


# endless sentences are read one by one up to the limit (librouteros reads ~15,000 a second
# here, slower under tracemalloc): a lower sentence limit keeps the test quick; the memory
# held grows with it, and the default (50,000) held about 28 MB when measured
@pytest.mark.parametrize("flood, limits, words", [
    ("sentences", Limits(reply_sentences=10_000), "ran past 10000 sentences"),
    ("words", Limits(), "ran past 1000 words"),
    ("word", Limits(), "announced 268435455 bytes"),
])
def test_an_endless_reply_stops_at_the_limits_with_a_clear_error(rogue, flood, limits, words):
    client = connect(target(rogue), connect_timeout=2, timeout=2, limits=limits)
    rogue.flood = flood
    tracemalloc.start()
    try:
        outcome = ask_in_thread(lambda: client.print("/ip/hotspot/user"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    error = outcome.get("error")
    assert isinstance(error, RouterReplyTooLarge), outcome
    assert words in str(error) and "rogue: /ip/hotspot/user/print" in str(error)
    assert "stopped reading and closed the connection" in str(error)
    assert peak < 16 * 1024 * 1024, f"{peak / 1e6:.0f} MB held while reading the reply"
    assert client.broken  # the pool will not lend it again
    client.close()
    wait_for(lambda: rogue.open_connections == 0, 10, "the rogue's connection closed")


def test_the_limits_are_the_callers_and_a_normal_reply_is_within_them(rogue):
    for n in range(50):
        rogue.router.menus["/ip/hotspot/user"].add({"name": f"u{n}", "password": "x" * 30})
    small = Limits(reply_sentences=20)
    client = connect(target(rogue), connect_timeout=2, timeout=2, limits=small)
    with pytest.raises(RouterReplyTooLarge, match="ran past 20 sentences"):
        client.print("/ip/hotspot/user")
    client.close()
    client = connect(target(rogue), connect_timeout=2, timeout=2)
    assert len(client.print("/ip/hotspot/user")) == 50  # the defaults leave a real reply alone
    client.close()


def test_through_the_pool_a_flooding_router_costs_one_connection(rogue):
    clients = RouterClients(lambda t: connect(t, connect_timeout=2, timeout=2))
    rogue.flood = "word"
    with pytest.raises(RouterReplyTooLarge):
        with clients.session(target(rogue)) as api:
            api.print("/ip/hotspot/host")
    rogue.flood = None
    with clients.session(target(rogue)) as api:  # a new connection, and the router answers again
        assert api.print("/ip/hotspot/host") == []
    assert clients.opened == 2
    clients.close()
