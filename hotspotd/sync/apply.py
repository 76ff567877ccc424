"""Applying the configuration central owns: each change and its version in one
transaction, in version order, each exactly once (docs/sync.md, the change kinds).

A change that cannot be applied stops the pull there with a clear error; it is tried
again next time, so nothing is skipped or applied out of order.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from .. import devices
from ..config import Config
from ..errors import InvalidInput
from ..settings import FIELDS, update_site_settings
from ..store.db import db, write_transaction
from ..store.models import Package, Setting, Voucher
from .outbox import FULL_PHONES_KEY

log = logging.getLogger(__name__)


def config_version() -> int:
    return db.execute_sql('SELECT "config_version" FROM "sync_state" WHERE "id" = 1').fetchone()[0]


def _int(data: dict[str, Any], key: str, low: int = 1, *, optional: bool = False) -> int | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidInput(f"{key} must be a whole number of at least {low}")
    return value


def _package(data: dict[str, Any], now: datetime) -> None:
    central_id = _int(data, "package")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a package needs a name")
    fields = {"name": name.strip()[:60], "price": _int(data, "price"), "duration_s": _int(data, "duration_s"),
              "rate_limit": str(data.get("rate") or ""), "data_limit": _int(data, "data_limit", optional=True),
              "devices": _int(data, "devices"), "active": bool(data.get("active", True))}
    updated = Package.update(**fields).where(Package.central_id == central_id).execute()
    if not updated:
        Package.create(central_id=central_id, created_at=now, **fields)


def _vouchers(data: dict[str, Any], now: datetime) -> None:
    central_id = _int(data, "package")
    package = Package.get_or_none(Package.central_id == central_id)
    if package is None:
        raise InvalidInput(f"vouchers for central package {central_id}, which this box does not have")
    codes = data.get("codes")
    if not isinstance(codes, list) or not all(isinstance(c, str) and c.isalnum() and len(c) <= 32 for c in codes):
        raise InvalidInput("codes must be a list of voucher codes")
    batch = str(data.get("batch") or "central")[:64]
    rows = [{"code": code.upper(), "package": package.id, "batch": batch, "created_at": now} for code in codes]
    for start in range(0, len(rows), 500):
        Voucher.insert_many(rows[start:start + 500]).on_conflict_ignore().execute()  # a code it has stays as it is


def _macs(data: dict[str, Any]) -> list[str]:
    macs = data.get("macs")
    if not isinstance(macs, list) or not all(isinstance(m, str) for m in macs):
        raise InvalidInput("macs must be a list of device addresses")
    return macs


def _settings(config: Config, data: dict[str, Any], now: datetime) -> None:
    if FULL_PHONES_KEY.split(".", 1)[1] in data:
        value = data["full_phone_numbers"]
        if not isinstance(value, bool):
            raise InvalidInput("full_phone_numbers must be true or false")
        Setting.insert(key=FULL_PHONES_KEY, value=value, updated_at=now).on_conflict_replace().execute()
    site = {key: value for key, value in data.items() if key in FIELDS}
    if site:
        update_site_settings(config, site, now)


def apply_change(config: Config, kind: str, data: dict[str, Any], now: datetime) -> None:
    """Apply one change; inside the caller's write transaction."""
    if not isinstance(data, dict):
        raise InvalidInput("change data must be an object")
    if kind == "package.set":
        _package(data, now)
    elif kind == "vouchers.issue":
        _vouchers(data, now)
    elif kind == "devices.block":
        devices.block(_macs(data), str(data.get("reason") or "blocked by the operator")[:200], now, source="central")
    elif kind == "devices.unblock":
        devices.unblock(_macs(data))
    elif kind == "settings.set":
        _settings(config, data, now)
    else:
        raise InvalidInput(f"unknown kind of change {kind!r}: this box may need a newer hotspotd")


def apply_changes(config: Config, changes: list[dict[str, Any]], now: datetime) -> int:
    """Apply pulled changes in version order, each with its version in one transaction;
    those at or below the version the box runs are left alone. Returns how many applied."""
    applied = 0
    for change in sorted(changes, key=lambda c: c.get("version", 0) if isinstance(c, dict) else 0):
        version = change.get("version") if isinstance(change, dict) else None
        if isinstance(version, bool) or not isinstance(version, int):
            raise InvalidInput("a configuration change without a version")
        with write_transaction():
            if version <= config_version():
                continue
            try:
                apply_change(config, change.get("kind"), change.get("data"), now)
            except InvalidInput as exc:
                raise InvalidInput(f"configuration change {version} ({change.get('kind')}) not applied: {exc}") from None
            db.execute_sql('UPDATE "sync_state" SET "config_version" = ? WHERE "id" = 1', (version,))
        applied += 1
        log.info("applied configuration change %s (%s)", version, change.get("kind"))
    return applied
