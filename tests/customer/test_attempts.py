"""Attempt budgets: per device and per address, refilled with time; the numbers the README gives."""

import pytest

from hotspotd.customer.attempts import BUDGETS, Attempts
from hotspotd.errors import RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def guesses_in(attempts: Attempts, clock: Clock, seconds: float, *, mac, address) -> int:
    allowed, end = 0, clock.now + seconds
    while clock.now < end:
        try:
            attempts.check("voucher", mac=mac, address=address)
            allowed += 1
        except RateLimited:
            pass
        clock.now += 1
    return allowed


def test_one_address_gets_at_most_seventy_voucher_guesses_in_its_first_hour_and_sixty_after():
    clock = Clock()
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
    clock = Clock()
    attempts = Attempts(clock)
    assert 34 <= guesses_in(attempts, clock, 3601, mac="aa:bb:cc:00:00:01", address=None) <= 35
    assert 29 <= guesses_in(attempts, clock, 3600, mac="AA:BB:CC:00:00:01", address=None) <= 30


def test_a_refusal_says_when_to_come_back():
    clock = Clock()
    attempts = Attempts(clock)
    for _ in range(BUDGETS["trial"][0].burst):
        attempts.check("trial", mac="AA:BB:CC:00:00:01", address="10.5.50.2")
    with pytest.raises(RateLimited) as caught:
        attempts.check("trial", mac="AA:BB:CC:00:00:01", address="10.5.50.2")
    assert caught.value.retry_after == 300 and "300 seconds" in str(caught.value)
