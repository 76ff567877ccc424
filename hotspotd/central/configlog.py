"""Configuration the central side owns, as a log of numbered changes.

Every change the operator makes (a package or its price, a batch of vouchers, blocked
devices, settings) is one `config_change` row; its id is the version. A site pulls the
changes meant for every site and those meant for it, after the version it runs, in order
(docs/sync.md). The log, not a snapshot, is what makes "exactly once and in order" easy:
a box that was offline for a week gets the week's changes one after the other, and a new
site gets the whole history of changes meant for every site.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..billing import packages as box_packages
from ..billing import vouchers as box_vouchers
from ..errors import InvalidInput, NotFound
from ..mac import normalize_mac
from ..settings import clean_site_settings
from ..sync import protocol
from .sites import get_site
from .store import CentralStore, ConfigChange, Package

KINDS = ("package.set", "vouchers.issue", "devices.block", "devices.unblock", "settings.set")
SYNC_SETTINGS = ("full_phone_numbers",)


def add_change(store: CentralStore, kind: str, data: dict[str, Any], site_id: str | None, now: datetime) -> int:
    """Append one change (for one site, or every site when `site_id` is None); its version."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown change {kind!r}")
    if site_id is not None:
        get_site(site_id)
    with store.write():
        return ConfigChange.create(site=site_id, kind=kind, data=data, created_at=now).id


def changes_for(site_id: str, have: int, limit: int = protocol.CONFIG_CHANGES) -> dict[str, Any]:
    """What a site pulls: {"version", "changes": [{version, kind, data}], "more"}."""
    query = (ConfigChange.select(ConfigChange.id, ConfigChange.kind, ConfigChange.data)
             .where(((ConfigChange.site.is_null()) | (ConfigChange.site == site_id)) & (ConfigChange.id > have))
             .order_by(ConfigChange.id).limit(limit + 1))
    rows = list(query)
    changes = [{"version": c.id, "kind": c.kind, "data": c.data} for c in rows[:limit]]
    return {"version": changes[-1]["version"] if changes else have, "changes": changes, "more": len(rows) > limit}


# -- what the operator does (the `hotspotd central ...` commands)

def package_data(package: Package) -> dict[str, Any]:
    return {"package": package.id, "name": package.name, "price": package.price, "duration_s": package.duration_s,
            "rate": package.rate_limit, "data_limit": package.data_limit, "devices": package.devices,
            "active": package.active}


def add_package(store: CentralStore, *, name: str, price: int, duration: str, rate: str = "", data: str | None = None,
                devices: int = 1, now: datetime) -> Package:
    """A package sold at every site; announced to them as `package.set`."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 60:
        raise InvalidInput("a package needs a name of 1 to 60 characters")
    if int(price) < 1 or int(devices) < 1:
        raise InvalidInput("price and devices must be at least 1")
    with store.write():
        package = Package.create(name=name, price=int(price), duration_s=box_packages.parse_duration(duration),
                                 rate_limit=box_packages.parse_rate(rate), data_limit=box_packages.parse_data(data),
                                 devices=int(devices), active=True, created_at=now)
        add_change(store, "package.set", package_data(package), None, now)
    return package


def set_package(store: CentralStore, package_id: int, *, price: int | None = None, name: str | None = None,
                active: bool | None = None, site_id: str | None = None, now: datetime) -> dict[str, Any]:
    """Change a package (its price, name, whether it is sold) everywhere, or at one site
    only (the central record keeps what every site gets)."""
    package = Package.get_or_none(Package.id == package_id)
    if package is None:
        raise NotFound(f"no central package {package_id}")
    if price is not None and int(price) < 1:
        raise InvalidInput("price must be at least 1 shilling")
    if name is not None and not 1 <= len(name.strip()) <= 60:
        raise InvalidInput("a package needs a name of 1 to 60 characters")
    changed = {"price": price, "name": name.strip() if name else None, "active": active}
    with store.write():
        if site_id is None:
            for field, value in changed.items():
                if value is not None:
                    setattr(package, field, value)
            package.save()
        data = {**package_data(package), **{k: v for k, v in changed.items() if v is not None}}
        add_change(store, "package.set", data, site_id, now)
    return data


def issue_vouchers(store: CentralStore, site_id: str, package_id: int, count: int, now: datetime) -> list[str]:
    """A batch of voucher codes for one site (a code is redeemable once, at one site)."""
    if not 1 <= count <= 10000:
        raise InvalidInput("count must be between 1 and 10000")
    if Package.get_or_none(Package.id == package_id) is None:
        raise NotFound(f"no central package {package_id}")
    codes = sorted({box_vouchers.new_code() for _ in range(count)})
    while len(codes) < count:  # a repeat among ~50-bit codes: practically never
        codes = sorted(set(codes) | {box_vouchers.new_code()})
    batch = "c-" + now.strftime("%Y%m%d%H%M%S") + "-" + box_vouchers.new_code()[:4].lower()
    add_change(store, "vouchers.issue", {"package": package_id, "batch": batch, "codes": codes}, site_id, now)
    return codes


def _macs(macs: list[str]) -> list[str]:
    clean = []
    for mac in macs:
        normal = normalize_mac(mac)
        if normal is None:
            raise InvalidInput(f"{mac!r} is not a device (MAC) address")
        clean.append(normal)
    if not clean:
        raise InvalidInput("name at least one device address")
    return clean


def block_devices(store: CentralStore, macs: list[str], reason: str, site_id: str | None, now: datetime) -> int:
    return add_change(store, "devices.block", {"macs": _macs(macs), "reason": (reason or "blocked")[:200]}, site_id,
                      now)


def unblock_devices(store: CentralStore, macs: list[str], site_id: str | None, now: datetime) -> int:
    return add_change(store, "devices.unblock", {"macs": _macs(macs)}, site_id, now)


def set_settings(store: CentralStore, values: dict[str, Any], site_id: str | None, now: datetime) -> int:
    """Site settings (as the console sets them) and `full_phone_numbers` for every site or one."""
    sync_values = {k: values[k] for k in SYNC_SETTINGS if k in values}
    for key, value in sync_values.items():
        if not isinstance(value, bool):
            raise InvalidInput(f"{key} must be yes or no")
    site_values = clean_site_settings({k: v for k, v in values.items() if k not in SYNC_SETTINGS})
    if not site_values and not sync_values:
        raise InvalidInput("name at least one setting")
    return add_change(store, "settings.set", {**site_values, **sync_values}, site_id, now)
