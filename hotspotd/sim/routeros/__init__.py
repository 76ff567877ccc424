"""A RouterOS API simulator for the demo and the tests: a wire-level server on loopback
holding a MikroTik's hotspot users, profiles, active sessions, PPPoE, RADIUS entries,
walled garden, hotspot profiles and system resource in memory.

    wire.py     length prefixes and sentences (docs/protocols.md §1.2-§1.3)
    menus.py    menus of items with .ids, and ? queries
    router.py   what each command does and replies (docs/protocols.md §1.4, §1.7, §2)
    radius.py   the router as a RADIUS client for /ip/hotspot/active/login (docs/protocols.md §3.1-§3.3)
    ppp.py      the PPPoE server: CPEs dialling over RADIUS, accounting, Disconnect-Requests (docs/protocols.md §8)
    server.py   TCP, login, and the ways a router misbehaves
"""

from .router import Router
from .server import RouterOSSimulator

__all__ = ["Router", "RouterOSSimulator"]
