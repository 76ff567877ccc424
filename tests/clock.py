"""The tests' one fake clock, and the queue's consumer driven by it.

`FakeClock()` is what code that takes a `clock` is given: calling it (or reading `.now`)
gives monotonic seconds, `wall()` the UTC time that goes with them; `advance(seconds)` (or
`clock.now += seconds`) moves both. A test moves time by hand and never waits for it.

`consume(queue, at)` is one pass of the queue's consumer at the wall time `at`, as huey's
own tests drive theirs (`worker.loop(now)`): a retry scheduled for 30 s later runs when
the test says 30 s have passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

START = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self, now: float = 1000.0, *, wall: datetime = START) -> None:
        self.now = now
        self._origin = (now, wall)

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime:
        """The UTC time (aware) at this clock's `now`."""
        start, wall = self._origin
        return wall + timedelta(seconds=self.now - start)

    def advance(self, seconds: float) -> float:
        """Move the clock on; returns the new `now`."""
        self.now += seconds
        return self.now


def consume(queue, at: datetime) -> int:
    """Run what the queue's consumer would run at `at`: the scheduled tasks due by then
    (retries, delays) become ready, then every ready task runs, in order. Returns how many ran."""
    huey = queue.huey
    stamp = at.astimezone(timezone.utc).replace(tzinfo=None)  # huey keeps naive UTC times
    for task in huey.read_schedule(stamp):
        huey.enqueue(task)
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task, stamp)
        ran += 1
    return ran
