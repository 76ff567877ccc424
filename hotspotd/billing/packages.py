"""Packages: what is sold. Durations, data caps and rate limits as operators write them."""

from __future__ import annotations

import re
from datetime import datetime

from ..console import audit
from ..console.audit import Actor
from ..errors import InvalidInput, NotFound
from ..store.db import write_transaction
from ..store.models import Package

_DURATION_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DATA_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
               "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
_RATE = re.compile(r"^\d+(\.\d+)?[kKmMgG]?(/\d+(\.\d+)?[kKmMgG]?)?$")

# What a package is for: the hotspot portal sells HOTSPOT packages to passers-by; a PPPOE
# plan is a home subscriber's monthly plan (hotspotd.pppoe). The two never mix: the portal
# neither lists nor sells a plan, and a subscriber is only ever on a plan.
HOTSPOT, PPPOE = "hotspot", "pppoe"
SERVICES = (HOTSPOT, PPPOE)


def parse_duration(text: str) -> int:
    """'1h', '30m', '1d', '1w', '2h30m', '90' (seconds) -> seconds."""
    text = (text or "").strip().lower().replace(" ", "")
    if text.isdigit():
        seconds = int(text)
    else:
        parts = re.findall(r"(\d+)([wdhms])", text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise InvalidInput(f"duration {text!r}: write it like 30m, 1h, 1d, 1w or 2h30m")
        seconds = sum(int(n) * _DURATION_UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise InvalidInput("duration must be more than zero")
    return seconds


def format_duration(seconds: int) -> str:
    parts = []
    for unit, size in _DURATION_UNITS.items():
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def parse_data(text: str | None) -> int | None:
    """'1GB', '500MB', '' (no cap) -> bytes or None. Decimal units, as phones show them."""
    if text is None or not str(text).strip() or str(text).strip().lower() in ("0", "none", "unlimited"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)", str(text).strip())
    if not match or match.group(2).upper() not in _DATA_UNITS:
        raise InvalidInput(f"data cap {text!r}: write it like 500MB or 1GB")
    value = int(float(match.group(1)) * _DATA_UNITS[match.group(2).upper()])
    if value <= 0:
        raise InvalidInput("data cap must be more than zero")
    return value


def format_data(value: int | None) -> str:
    if value is None:
        return "unlimited"
    for unit in ("TB", "GB", "MB", "KB"):
        if value >= _DATA_UNITS[unit]:
            return f"{value / _DATA_UNITS[unit]:g}{unit}"
    return f"{value}B"


def parse_rate(text: str | None) -> str:
    """A MikroTik rate-limit 'upload/download' as the router sees it (rx/tx), e.g. 2M/5M."""
    text = (text or "").strip()
    if text and not _RATE.match(text):
        raise InvalidInput(f"rate {text!r}: write it like 2M/5M (upload/download) or 512k")
    return text


def add_package(*, name: str, price: int, duration: str, rate: str = "", data: str | None = None,
                devices: int = 1, now: datetime, by: Actor | None = None, service: str = HOTSPOT) -> Package:
    """A new package for the hotspot, or (`service` pppoe) a plan for home subscribers:
    one device (the CPE) and no data cap."""
    if service not in SERVICES:
        raise InvalidInput(f"service must be one of {', '.join(SERVICES)}")
    if service == PPPOE and (parse_data(data) is not None or str(devices) != "1"):
        raise InvalidInput("a PPPoE plan has one device (the subscriber's router) and no data cap")
    name = (str(name) if name is not None else "").strip()
    if not name or len(name) > 60:
        raise InvalidInput("a package needs a name of 1-60 characters")
    price = _whole(price, "price", 1, "price must be at least 1 shilling (M-Pesa's minimum)")
    devices = _whole(devices, "devices", 1, "devices must be 1 or more")
    duration_s, rate_limit, data_limit = parse_duration(str(duration or "")), parse_rate(rate), parse_data(data)
    with write_transaction():
        package = Package.create(name=name, price=price, duration_s=duration_s, rate_limit=rate_limit,
                                 data_limit=data_limit, devices=devices, created_at=now, service=service)
        if by is not None:
            audit.record(by, "package.add", f"package {package.id} ({name})", now, price=price, service=service)
        return package


MAX_ID = 2**63 - 1  # SQLite's largest integer


def row_id(value: object) -> int | None:
    """A row id from a whole number or a string of ASCII digits (a URL part, a CLI
    argument); None for anything else (True, 1.9, 10**30, "1e3")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    return value if isinstance(value, int) and 1 <= value <= MAX_ID else None


def get_package(package_id: object, *, for_sale: bool = True, service: str = HOTSPOT) -> Package:
    """A package by id; `for_sale`: only an active one of `service` (the portal never sells a
    PPPoE plan, nor a subscriber a hotspot package)."""
    wanted = row_id(package_id)
    package = None if wanted is None else Package.get_or_none(Package.id == wanted)
    if package is None or (for_sale and package.service != service):
        raise NotFound("No such package")
    if for_sale and not package.active:
        raise NotFound("That package is no longer sold")
    return package


def list_packages(*, include_inactive: bool = False, service: str | None = HOTSPOT) -> list[Package]:
    """Packages of `service` (None: every one), cheapest first; active ones unless told."""
    query = Package.select().order_by(Package.price, Package.id)
    if service is not None:
        query = query.where(Package.service == service)
    if not include_inactive:
        query = query.where(Package.active == True)  # noqa: E712 (peewee expression)
    return list(query)


def package_dict(package: Package) -> dict:
    return {
        "id": package.id, "name": package.name, "price": package.price,
        "duration": format_duration(package.duration_s), "duration_s": package.duration_s,
        "rate": package.rate_limit, "data": format_data(package.data_limit), "data_limit": package.data_limit,
        "devices": package.devices, "active": package.active, "service": package.service,
    }


def update_package(package_id: object, changes: dict, now: datetime, *, by: Actor) -> Package:
    """Change a package (name, price, duration, rate, data, devices, active). Subscriptions
    already sold keep their own time and data; the rate and device limit apply to logins
    from now on. Retiring (active false) stops it being sold; it stays on past sales."""
    package = get_package(package_id, for_sale=False)
    unknown = set(changes) - {"name", "price", "duration", "rate", "data", "devices", "active"}
    if unknown:
        raise InvalidInput(f"unknown package field(s): {', '.join(sorted(unknown))}")
    values: dict = {}
    if "name" in changes:
        name = str(changes["name"] or "").strip()
        if not name or len(name) > 60:
            raise InvalidInput("a package needs a name of 1-60 characters")
        values["name"] = name
    if "price" in changes:
        values["price"] = _whole(changes["price"], "price", 1, "price must be at least 1 shilling (M-Pesa's minimum)")
    if "duration" in changes:
        values["duration_s"] = parse_duration(str(changes["duration"]))
    if "rate" in changes:
        values["rate_limit"] = parse_rate(changes["rate"])
    if "data" in changes:
        values["data_limit"] = parse_data(changes["data"])
    if "devices" in changes:
        values["devices"] = _whole(changes["devices"], "devices", 1, "devices must be 1 or more")
    if "active" in changes:
        if not isinstance(changes["active"], bool):
            raise InvalidInput("active must be true or false")
        values["active"] = changes["active"]
    with write_transaction():
        Package.update(values).where(Package.id == package.id).execute()
        action = ("package.retire" if values.get("active") is False else
                  "package.restore" if values.get("active") is True and len(values) == 1 else "package.edit")
        audit.record(by, action, f"package {package.id} ({package.name})", now,
                     changes={k: v for k, v in changes.items()})
    return Package.get_by_id(package.id)


def _whole(value: object, field: str, minimum: int, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise InvalidInput(f"{field} must be a whole number")
    number = int(str(value).strip())
    if number < minimum or number > 10**9:
        raise InvalidInput(message)
    return number
