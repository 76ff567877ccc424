"""Rate limits: a burst, then a steady refill; keys apart; bounded memory."""

from hotspotd.plumbing.ratelimit import RateLimit

from ..clock import FakeClock


def test_a_burst_then_one_per_refill_and_keys_are_apart():
    clock = FakeClock()
    limit = RateLimit(rate=0.5, burst=3, clock=clock)
    assert [limit.allow("aa") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("bb")  # another key has its own burst
    assert limit.retry_after("aa") == 2.0
    clock.now += 2
    assert limit.allow("aa") and not limit.allow("aa")
    limit.forget("aa")
    assert limit.allow("aa")


def test_memory_is_bounded_by_forgetting_the_oldest_keys():
    limit = RateLimit(rate=1, burst=1, max_keys=100, clock=FakeClock())
    for n in range(1000):
        limit.allow(n)
    assert len(limit._buckets) == 100 and limit.allow(0)  # forgotten, so it starts full again
