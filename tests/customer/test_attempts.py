"""Attempt budgets: per device and per address, refilled with time; the numbers the README gives."""

import pytest

from hotspotd.customer.attempts import BUDGETS, MAX_KEYS, Attempts
from hotspotd.errors import RateLimited

from ..clock import FakeClock


def guesses_in(attempts: Attempts, clock: FakeClock, seconds: float, *, mac, address) -> int:
    allowed, end = 0, clock.now + seconds
    while clock.now < end:
        try:
            attempts.take("voucher", mac=mac, address=address)
            allowed += 1
        except RateLimited:
            pass
        clock.now += 1
    return allowed


def test_one_address_gets_at_most_seventy_voucher_guesses_in_its_first_hour_and_sixty_after():
    clock = FakeClock(0.0)
    attempts = Attempts(clock)
    macs = iter(f"AA:BB:CC:00:{i // 256:02X}:{i % 256:02X}" for i in range(100_000))  # a new MAC every try
    rotating = Attempts.check

    def check(action, *, mac, address):
        return rotating(attempts, action, mac=next(macs), address=address)

    attempts.check = check  # type: ignore[method-assign]
    # from 0:00:00 to 1:00:00 (a refill may land a float's width after the second it is due)
    assert 69 <= guesses_in(attempts, clock, 3601, mac=None, address="10.5.50.2") <= 70
    assert 59 <= guesses_in(attempts, clock, 3600, mac=None, address="10.5.50.2") <= 60


def test_one_device_keeping_its_mac_gets_at_most_thirty_five_then_thirty():
    clock = FakeClock(0.0)
    attempts = Attempts(clock)
    assert 34 <= guesses_in(attempts, clock, 3601, mac="aa:bb:cc:00:00:01", address=None) <= 35
    assert 29 <= guesses_in(attempts, clock, 3600, mac="AA:BB:CC:00:00:01", address=None) <= 30


def test_a_refusal_says_when_to_come_back():
    clock = FakeClock(0.0)
    attempts = Attempts(clock)
    for _ in range(BUDGETS["trial"][0].burst):
        attempts.take("trial", mac="AA:BB:CC:00:00:01", address="10.5.50.2")
    with pytest.raises(RateLimited) as caught:
        attempts.take("trial", mac="AA:BB:CC:00:00:01", address="10.5.50.2")
    assert caught.value.retry_after == 300 and "300 seconds" in str(caught.value)


def test_a_client_rotating_made_up_macs_from_one_address_fills_no_map():
    clock = FakeClock(0.0)
    attempts = Attempts(clock)
    allowed = 0
    for n in range(20_000):
        try:
            attempts.take("pay", mac=f"02:00:00:{n >> 16 & 255:02X}:{n >> 8 & 255:02X}:{n & 255:02X}",
                           address="10.5.50.2")
            allowed += 1
        except RateLimited:
            pass
    by_mac, by_address = attempts._limits["pay"]
    assert allowed == BUDGETS["pay"][1].burst == len(by_mac._buckets) and len(by_address._buckets) == 1


def test_a_flood_from_many_addresses_is_held_by_the_site_budget_and_the_maps_stay_small():
    import tracemalloc

    clock = FakeClock(0.0)
    attempts = Attempts(clock, payments_per_minute=120)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    allowed = {"pay": 0, "trial": 0, "voucher": 0}
    for n in range(30_000):  # 30 s of 1,000 requests a second, every one from a new address and MAC
        if n % 1000 == 0:
            clock.now += 1
        for action in allowed:
            try:
                attempts.take(action, mac=f"02:00:{n >> 24 & 255:02X}:{n >> 16 & 255:02X}:{n >> 8 & 255:02X}:"
                                           f"{n & 255:02X}", address=f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")
                allowed[action] += 1
            except RateLimited:
                pass
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert 300 <= allowed["pay"] <= 300 + 2 * 30 and allowed["trial"] <= 60 + 30 // 10  # the site's records
    assert allowed["voucher"] == 30_000  # writes nothing unless the code is right: its own budgets only
    for by_mac, by_address in attempts._limits.values():
        assert len(by_mac._buckets) <= MAX_KEYS and len(by_address._buckets) <= MAX_KEYS
    assert grown < 3 * 2 * MAX_KEYS * 400  # three actions, two maps, well under 400 bytes a key
