"""The RFC 8908 captive-portal API: what a phone asks (GET /api/captive, learnt from DHCP
option 114) to show "time left" in its own interface.

The asking device is known by the address its request comes from, matched against the
open RADIUS sessions: a device online on a subscription with time and data left is not
captive and is told `seconds-remaining` (and `bytes-remaining` for a data cap); any other
device is captive and is sent to the portal.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from . import account
from ..store.db import storage_errors, utcnow

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

MEDIA_TYPE = "application/captive+json"


class Captive:
    """The captive-portal API of one portal process."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.rt = runtime
        self.clock = clock

    def view(self, address: str | None) -> dict[str, Any]:
        """The RFC 8908 JSON for the device at `address`."""
        portal = self.rt.config.portal.public_url + "/"
        now = self.clock()
        with storage_errors("captive"):
            left = account.left_at_address(address, now) if address else None
        if left is None:
            return {"captive": True, "user-portal-url": portal}
        seconds, data = left
        view = {"captive": False, "user-portal-url": portal, "seconds-remaining": seconds, "can-extend-session": True}
        if data is not None:
            view["bytes-remaining"] = data
        return view
