"""Device MAC addresses as the router reports them over RADIUS: AA:BB:CC:DD:EE:FF."""

from __future__ import annotations

import re

_NOT_HEX = re.compile(r"[^0-9A-Fa-f]")


def normalize_mac(value: str | None) -> str | None:
    """`bc-24-11-eb-56-4d`, `BC2411EB564D`, ... -> `BC:24:11:EB:56:4D`; None if not a MAC."""
    if not value:
        return None
    digits = _NOT_HEX.sub("", value)
    if len(digits) != 12 or len(value) > 17:
        return None
    digits = digits.upper()
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
