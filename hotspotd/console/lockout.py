"""Login throttling for the console: slower after each failure, locked after many.

Counted per key (the caller uses one key per account and one per address): after the
first few failures each further attempt must wait longer (1, 2, 4 ... up to 30 s), and
after `lock_after` failures within `window` seconds the key is locked for `lock_for`
seconds. A success clears the key. An attempt that arrives too early is refused before
any password is checked, so guessing costs an attacker time and costs hotspotd nothing.

Kept in memory, in the one admin process (a restart forgets it; an attacker on the LAN
cannot restart it). Never grows without bound: keys are dropped once quiet, and the
oldest go first past `max_keys`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Hashable, Iterable

FREE_FAILURES = 3  # failures before each attempt must wait
MAX_DELAY = 30.0


@dataclass
class _State:
    failures: int = 0
    first_at: float = 0.0
    next_at: float = 0.0  # no attempt before this
    locked_until: float = 0.0


class Lockout:
    def __init__(self, *, lock_after: int = 10, lock_for: float = 900.0, window: float = 900.0,
                 max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.lock_after = lock_after
        self.lock_for = lock_for
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._keys: OrderedDict[Hashable, _State] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, keys: Iterable[Hashable]) -> float:
        """Seconds before an attempt for all `keys` may be made (0: now)."""
        now = self.clock()
        with self._lock:
            waits = [max(s.next_at, s.locked_until) - now for s in map(self._keys.get, keys) if s]
        return max([0.0, *waits])

    def locked(self, key: Hashable) -> bool:
        with self._lock:
            state = self._keys.get(key)
            return bool(state and state.locked_until > self.clock())

    def failed(self, keys: Iterable[Hashable]) -> list[Hashable]:
        """Count a failed attempt against each key; returns the keys locked by it."""
        now, newly_locked = self.clock(), []
        with self._lock:
            for key in keys:
                state = self._keys.get(key)
                if state is None or now - state.first_at > self.window and state.locked_until <= now:
                    state = _State(first_at=now)
                state.failures += 1
                if state.failures > FREE_FAILURES:
                    state.next_at = now + min(MAX_DELAY, 2.0 ** (state.failures - FREE_FAILURES - 1))
                if state.failures >= self.lock_after and state.locked_until <= now:
                    state.locked_until = now + self.lock_for
                    newly_locked.append(key)
                self._keys[key] = state
                self._keys.move_to_end(key)
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
        return newly_locked

    def succeeded(self, keys: Iterable[Hashable]) -> None:
        with self._lock:
            for key in keys:
                self._keys.pop(key, None)
