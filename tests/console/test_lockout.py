"""Console login lockouts are kept in memory: a flood of names and addresses cannot grow them."""

import tracemalloc

from hotspotd.console.lockout import Lockout

from ..clock import FakeClock


def test_a_flood_of_failed_logins_keeps_at_most_max_keys_and_a_few_megabytes():
    clock = FakeClock()
    lockout = Lockout(clock=clock)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(60_000):
        lockout.failed([("account", f"guess{n}"), ("address", f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")])
        clock.advance(0.001)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(lockout._keys) == lockout.max_keys == 10_000
    assert grown < 5 * 2**20
    assert ("account", "guess59999") in lockout._keys  # the newest are remembered, the oldest forgotten
    assert ("account", "guess0") not in lockout._keys
