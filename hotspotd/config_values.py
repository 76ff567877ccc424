"""What a setting's value may be: each parser takes the text from the INI file and returns
the typed value, or raises ValueError saying what is wrong (the config table in
`hotspotd.config` names one per setting)."""

from __future__ import annotations

import ipaddress
import re
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def text(value: str) -> str:
    return value.strip()


def whole_number(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(f"must be a whole number (got {value!r})") from None


def positive_int(value: str) -> int:
    number = whole_number(value)
    if number < 1:
        raise ValueError(f"must be 1 or more (got {number})")
    return number


def int_at_least_0(value: str) -> int:
    number = whole_number(value)
    if number < 0:
        raise ValueError(f"must be 0 or more (got {number})")
    return number


def percent(value: str) -> int:
    number = whole_number(value)
    if not 0 <= number <= 100:
        raise ValueError(f"must be a percentage 0-100 (got {number})")
    return number


def hour(value: str) -> int:
    number = whole_number(value)
    if not 0 <= number <= 23:
        raise ValueError(f"must be an hour 0-23 (got {number})")
    return number


def port(value: str) -> int:
    number = whole_number(value)
    if not 0 <= number <= 65535:
        raise ValueError(f"must be a port number 0-65535 (got {number})")
    return number


def seconds(value: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError(f"must be a number of seconds (got {value!r})") from None
    if number < 0:
        raise ValueError(f"must not be negative (got {number})")
    return number


def yes_no(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "yes", "true", "on"):
        return True
    if lowered in ("0", "no", "false", "off"):
        return False
    raise ValueError(f"must be yes or no (got {value!r})")


def listen(value: str) -> tuple[str, int]:
    host, sep, number = value.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"must be host:port, e.g. 0.0.0.0:8080 (got {value!r})")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise ValueError(f"host must be an IP address (got {host!r})") from None
    return host, port(number)


def optional_listen(value: str) -> tuple[str, int] | None:
    return listen(value) if value.strip() else None


def ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"must be an IP address (got {value!r})") from None


def timezone(value: str) -> str:
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (e.g. Africa/Nairobi)") from None
    return value.strip()


def choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        lowered = value.strip().lower()
        if lowered not in choices:
            raise ValueError(f"must be one of {', '.join(c or '(empty)' for c in choices)} (got {value!r})")
        return lowered

    return parse


def digits(value: str) -> str:
    value = value.strip()
    if value and not value.isdigit():
        raise ValueError(f"must be digits only (got {value!r})")
    return value


def url(value: str) -> str:
    value = value.strip().rstrip("/")
    if value and not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"must start with http:// or https:// (got {value!r})")
    return value


def database_url(value: str) -> str:
    value = value.strip()
    if value and not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ValueError(f"must start with sqlite:/// or postgresql:// (got {value!r})")
    return value


def token(value: str) -> str:
    value = value.strip()
    if value and (len(value) < 16 or not re.fullmatch(r"[A-Za-z0-9._~+/=-]+", value)):
        raise ValueError("must be at least 16 letters, digits or -._~+/= (or empty)")
    return value
