"""How often an untrusted client may try what can be abused: paying (each try sends an
M-Pesa prompt to someone's phone), voucher codes and M-Pesa codes (guessable secrets),
logins, the free trial.

Each action has a budget per device (its MAC: the one a router confirmed, else the one
the request claims) and per address (the IP the request came from, which a client
cannot choose): `burst` attempts at once, then one more every `every` seconds. Both must
allow an attempt. A request that comes from a router's own address (customers behind its
masquerade or its web proxy all arrive from there) is budgeted per device and for the
site, not per address: a queue of customers at a bus stage must not share one budget
(the portal warns the operator instead: `customer.identity`). Prompts have a third budget per phone number
(`hotspotd.customer.checkout`), so no client can flood a stranger's phone with prompts.

What a flood from many addresses costs: the actions that write records whether they
succeed or not (each payment started writes a `payment` row and its event; each trial a
customer and a subscription) also have one budget for the whole site, taken only by
attempts their address and device allowed: `[portal] payments_per_minute` (300 at once,
then 120 a minute, two a second; ~7,500 payments in an hour, ~6 MiB) and trials 60 at
once, then one every 10 s. An address with no attempts left is refused before its MAC is looked at, so
a client rotating made-up MACs from one address cannot fill the MAC map (each map also
forgets its oldest keys past `MAX_KEYS`).

Voucher guessing, in numbers: one address gets at most 10 + 3600/60 = 70 voucher
attempts in its first hour and 60 an hour after that (a device keeping its MAC, 5 + 30 =
35 and 30); a code is 10 symbols from 31, about 8.2e14 codes, so with 10,000 unused
vouchers on sale one guess hits with odds of about 1 in 8e10.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from ..devices import Asker
from ..errors import RateLimited
from ..plumbing.ratelimit import RateLimit


# Keys each map remembers: more devices than a hotspot sees in a day (~300 bytes each).
MAX_KEYS = 10_000


@dataclass(frozen=True)
class Budget:
    burst: int  # attempts at once
    every: float  # seconds until one more attempt is allowed

    def limit(self, clock: Callable[[], float], max_keys: int = MAX_KEYS) -> RateLimit:
        return RateLimit(rate=1.0 / self.every, burst=self.burst, max_keys=max_keys, clock=clock)


# action: (per device MAC, per address)
BUDGETS: dict[str, tuple[Budget, Budget]] = {
    "pay": (Budget(6, 60), Budget(20, 15)),
    "voucher": (Budget(5, 120), Budget(10, 60)),
    "restore": (Budget(5, 120), Budget(10, 60)),
    "login": (Budget(10, 30), Budget(30, 10)),
    "trial": (Budget(3, 300), Budget(10, 60)),
}
# M-Pesa prompts to one phone number: 3 at once, then one every 200 s (18 an hour).
PROMPTS_PER_PHONE = Budget(3, 200)
TRIALS_PER_SITE = Budget(60, 10)
SITE_BURST = 300  # payments at once, whatever the rate
_SITE = "site"


def payments_per_site(per_minute: int) -> Budget:
    """A queue of customers paying at once (300, or `per_minute` if more), then `per_minute`
    a minute: 200 customers at a bus stage paying together are never told to wait."""
    return Budget(max(per_minute, SITE_BURST), 60.0 / per_minute)


class Attempts:
    """The budgets of one portal process (in memory: see `hotspotd.plumbing.ratelimit`)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, payments_per_minute: int = 120) -> None:
        self._limits = {action: (by_mac.limit(clock), by_address.limit(clock))
                        for action, (by_mac, by_address) in BUDGETS.items()}
        self._site = {"pay": payments_per_site(payments_per_minute).limit(clock, 1),
                      "trial": TRIALS_PER_SITE.limit(clock, 1)}

    def check(self, action: str, device: Asker) -> None:
        """Take one `action` attempt for the asking device, its address and (for what writes
        records either way) the whole site; RateLimited when any has none left."""
        address = None if device.via_router else device.address
        self.take(action, mac=device.mac, address=address)

    def take(self, action: str, *, mac: str | None, address: str | None) -> None:
        """One attempt by MAC and address (None: not counted that way)."""
        by_mac, by_address = self._limits[action]
        if address and (wait := by_address.retry_after(address)):  # before a made-up MAC is remembered
            raise RateLimited(wait)
        site = self._site.get(action)
        for limit, key in ((by_mac, mac and mac.upper()), (by_address, address), (site, site and _SITE)):
            if key and not limit.allow(key):
                raise RateLimited(limit.retry_after(key))
