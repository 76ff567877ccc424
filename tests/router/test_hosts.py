"""Who is asking: the device behind a request's address, asked of every router's hotspot host
table over the wire (the real client, pooled, against RouterOS simulators), remembered
briefly; and the difference between "no router sees it" and "a router could not be asked"."""

from __future__ import annotations

import time

import pytest

from hotspotd.errors import InvalidInput
from hotspotd.router import add_router
from hotspotd.router.hosts import HostFinder, Outcome

from ..clock import FakeClock
from .conftest import PASSWORD, register

PHONE, TABLET = "AA:BB:CC:00:05:07", "AA:BB:CC:00:05:08"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def finder(runtime, clock):
    found = HostFinder.for_runtime(runtime, clock=clock)
    yield found
    found.close()


def test_a_device_is_found_by_its_address_with_its_router_and_mac(finder, routeros, store, now):
    register(routeros, now=now)
    routeros.router.connect_device(PHONE, "127.0.5.7")
    answer = finder.lookup("127.0.5.7")
    assert answer.outcome == Outcome.FOUND and answer.found
    device = answer.device
    assert (device.mac, device.address, device.router, device.server) == (PHONE, "127.0.5.7", "gate", "hotspot1")
    assert device.authorized is False and device.bypassed is False
    assert answer.asked == ("gate",) and answer.failed == () and answer.router_address is None


def test_the_translated_address_finds_the_device_too(finder, routeros, store, now):
    register(routeros, now=now)
    routeros.router.connect_device(TABLET, "10.5.50.8", to_address="127.0.6.8")
    device = finder.lookup("127.0.6.8").device
    assert (device.mac, device.address, device.to_address) == (TABLET, "10.5.50.8", "127.0.6.8")


def test_an_address_no_router_sees_is_unknown_and_a_routers_own_is_named(finder, make_routeros, store, now):
    gate = make_routeros()
    add_router("gate", "127.0.0.1", "radius-secret-123", "127.0.3.1", api_port=gate.port, api_user="admin",
               api_password=PASSWORD, now=now)
    answer = finder.lookup("127.0.5.99")
    assert answer.outcome == Outcome.UNKNOWN and answer.device is None and answer.asked == ("gate",)
    # customers arriving from the router's address: they come through its masquerade
    assert finder.lookup("127.0.3.1").router_address == "gate"


def test_answers_are_remembered_briefly_and_a_miss_asks_again(finder, routeros, store, now, clock):
    register(routeros, now=now)
    routeros.router.connect_device(PHONE, "127.0.5.7")
    assert finder.lookup("127.0.5.7").found
    asked = finder.asked
    clock.now += 2
    assert finder.lookup("127.0.5.7").found and finder.asked == asked  # remembered
    assert finder.lookup("127.0.5.8").outcome == Outcome.UNKNOWN and finder.asked == asked + 1
    routeros.router.connect_device(TABLET, "127.0.5.8")  # the tablet joins the WiFi
    clock.now += 1.5
    assert finder.lookup("127.0.5.8").device.mac == TABLET  # an unknown is not kept long
    routeros.router.add_active("u1", PHONE, "127.0.5.7")
    assert finder.lookup("127.0.5.7").device.authorized is False  # still the remembered answer
    assert finder.lookup("127.0.5.7", fresh=True).device.authorized is True
    clock.now += 6
    routeros.router.disconnect_device(mac=PHONE)
    assert finder.lookup("127.0.5.7").outcome == Outcome.UNKNOWN


def test_every_router_is_asked_at_once_and_the_one_that_sees_the_device_answers(finder, make_routeros, store, now):
    sims = [make_routeros() for _ in range(3)]
    for n, sim in enumerate(sims, 1):
        add_router(f"ap{n}", "127.0.0.1", "radius-secret-123", f"127.0.3.{n}", api_port=sim.port,
                   api_user="admin", api_password=PASSWORD, now=now)
    sims[1].router.connect_device(PHONE, "127.0.5.7")
    sims[2].router.connect_device(TABLET, "127.0.5.8")
    answer = finder.lookup("127.0.5.7")
    assert answer.device.router == "ap2" and answer.asked == ("ap1", "ap2", "ap3")
    assert finder.lookup("127.0.5.8").device.router == "ap3"
    # a stale host on ap1 and the device logged in at ap3: the logged-in one wins
    sims[0].router.connect_device(TABLET, "127.0.5.8")
    sims[2].router.add_active("u1", TABLET, "127.0.5.8")
    assert finder.lookup("127.0.5.8", fresh=True).device.router == "ap3"


def test_a_router_that_is_down_means_could_not_ask_unless_another_sees_the_device(finder, make_routeros, store,
                                                                                   now):
    up, down = make_routeros(), make_routeros()
    for name, sim, nas in (("up", up, "127.0.3.1"), ("down", down, "127.0.3.2")):
        add_router(name, "127.0.0.1", "radius-secret-123", nas, api_port=sim.port, api_user="admin",
                   api_password=PASSWORD, now=now)
    down.refuse()
    answer = finder.lookup("127.0.5.7")
    assert answer.outcome == Outcome.COULD_NOT_ASK and answer.asked == ("up",)
    assert len(answer.failed) == 1 and answer.failed[0].startswith("down: ")
    up.router.connect_device(PHONE, "127.0.5.7")
    assert finder.lookup("127.0.5.7").device.router == "up"


def test_a_silent_router_costs_at_most_the_connect_timeout(runtime, make_routeros, store, now):
    runtime.config.routers.connect_timeout = 1.0
    finder = HostFinder.for_runtime(runtime)
    silent, up = make_routeros(), make_routeros()
    for name, sim, nas in (("silent", silent, "127.0.3.1"), ("up", up, "127.0.3.2")):
        add_router(name, "127.0.0.1", "radius-secret-123", nas, api_port=sim.port, api_user="admin",
                   api_password=PASSWORD, now=now)
    up.router.connect_device(PHONE, "127.0.5.7")
    silent.silent = True
    try:
        for address, outcome in (("127.0.5.8", Outcome.COULD_NOT_ASK), ("127.0.5.7", Outcome.FOUND),
                                 ("127.0.5.9", Outcome.COULD_NOT_ASK)):
            started = time.monotonic()
            answer = finder.lookup(address)
            assert time.monotonic() - started < 1.0 + 0.5, f"{address} took too long"
            assert answer.outcome == outcome and answer.asked == ("up",)
            assert answer.failed and answer.failed[0].startswith("silent: ")
    finally:
        finder.close()


def test_without_a_router_with_an_api_login_nothing_can_be_asked(finder, store, now):
    assert finder.lookup("127.0.5.7").failed == ("no router recorded",)
    add_router("radius-only", "127.0.0.1", "radius-secret-123", "127.0.3.1", now=now)
    finder.forget()
    answer = finder.lookup("127.0.5.7")
    assert answer.outcome == Outcome.COULD_NOT_ASK and answer.failed == ("no router has an API login",)


def test_addresses_are_read_as_addresses(finder, routeros, store, now):
    register(routeros, now=now)
    routeros.router.connect_device(PHONE, "127.0.5.7")
    assert finder.lookup("::ffff:127.0.5.7").device.mac == PHONE  # a dual-stack server's view of IPv4
    with pytest.raises(InvalidInput):
        finder.lookup("127.0.5.7; drop")
