"""Rate limits for what untrusted clients may try: payments, voucher guesses, logins.

A `RateLimit` allows `burst` attempts per key at once and refills `rate` attempts per
second after (a token bucket per key), in memory, in one process: the portal and the admin
are single processes, and a limit that forgets on restart costs an attacker one restart.
Keys are whatever the caller counts by: a MAC, an IP address, a phone number, an account.
It never grows without bound: the least recently used keys are forgotten past `max_keys`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Callable, Hashable


class RateLimit:
    def __init__(self, *, rate: float, burst: int, max_keys: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`rate` attempts per second refill, up to `burst` at once."""
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def _level(self, key: Hashable, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.rate)

    def allow(self, key: Hashable, cost: float = 1.0) -> bool:
        """Take `cost` attempts for `key` if it has them; False when it must wait."""
        now = self.clock()
        with self._lock:
            tokens = self._level(key, now)
            allowed = tokens >= cost
            self._buckets[key] = (tokens - cost if allowed else tokens, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return allowed

    def retry_after(self, key: Hashable, cost: float = 1.0) -> float:
        """Seconds until `key` has `cost` attempts again (0 when it has them now)."""
        with self._lock:
            missing = cost - self._level(key, self.clock())
        return 0.0 if missing <= 0 else math.ceil(missing / self.rate * 10) / 10

    def forget(self, key: Hashable) -> None:
        """Give `key` its full burst back (e.g. after a successful login)."""
        with self._lock:
            self._buckets.pop(key, None)
