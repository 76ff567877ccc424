"""The `[pppoe]` settings: home subscribers' addresses on the router, what a subscriber gets
when their period has ended, and when they are reminded. `hotspotd.config` takes them into
its one table of settings (so they load, validate and document like every other).

The names on the router are fixed (`POOL`, `SUSPENDED_POOL`, `PROFILE`, ...): deploy makes
them and RADIUS names them in its answers, so the two can never disagree.
"""

from __future__ import annotations

import ipaddress

from ..config_values import choice, int_at_least_0, ip_address, positive_int, text

# What deploy makes on the router and RADIUS names (docs/protocols.md §8.2, §8.5).
PROFILE = "hotspotd-pppoe"  # the PPP profile of subscribers on a paid plan
SUSPENDED_PROFILE = "hotspotd-expired"  # ... and of suspended ones
POOL = "hotspotd-pppoe"  # addresses for subscribers on a plan
SUSPENDED_POOL = "hotspotd-suspended"  # addresses for suspended subscribers
ADDRESS_LIST = "hotspotd-suspended"  # the firewall list suspended addresses join
AUTHENTICATION = "pap,chap,mschap2"  # what hotspotd's RADIUS checks (no MS-CHAPv1)

REDIRECT, CUT_OFF = "redirect", "cut_off"


def ranges(value: str) -> str:
    """IPv4 ranges as RouterOS writes a pool: `10.20.0.2-10.20.255.254[,a-b]`."""
    value = value.strip().replace(" ", "")
    try:
        for part in value.split(","):
            first, _, last = part.partition("-")
            low, high = ipaddress.IPv4Address(first), ipaddress.IPv4Address(last or first)
            if high < low:
                raise ValueError
    except ValueError:
        raise ValueError(f"must be IPv4 ranges like 10.20.0.2-10.20.255.254 (got {value!r})") from None
    return value


def rate(value: str) -> str:
    value = value.strip()
    if not value or any(ch.isspace() or ch in "\"'\\" for ch in value):
        raise ValueError(f"must be a rate like 256k/256k (got {value!r})")
    return value


SETTINGS: tuple[tuple, ...] = (
    ("pppoe", "suspended", REDIRECT, choice(REDIRECT, CUT_OFF),
     "What a home subscriber whose period (and grace) has ended gets: redirect (online in the suspended pool, "
     "every web page the \"please pay\" page) or cut_off (refused until they pay)."),
    ("pppoe", "grace_hours", "0", int_at_least_0,
     "Hours a subscriber stays on the plan after their period ends, before suspension."),
    ("pppoe", "reminder_days", "3", int_at_least_0,
     "Days before the period ends that the first reminder goes; another goes on the day (0: only that one)."),
    ("pppoe", "pool_ranges", "10.20.0.2-10.20.255.254", ranges,
     "Addresses the router gives subscribers on a plan (its pool hotspotd-pppoe)."),
    ("pppoe", "local_address", "10.20.0.1", ip_address, "The router's own address on the PPPoE links."),
    ("pppoe", "suspended_ranges", "10.21.0.2-10.21.0.254", ranges,
     "Addresses of suspended subscribers (pool hotspotd-suspended): only DNS and the portal answer them."),
    ("pppoe", "suspended_rate", "256k/256k", rate, "Speed of a suspended subscriber (upload/download)."),
    ("pppoe", "suspended_session_timeout", "300", positive_int,
     "Seconds a suspended subscriber's session lasts before the CPE redials (and is asked again)."),
    ("pppoe", "service_name", "", text, "The PPPoE service name; empty: any (the router's default)."),
)
