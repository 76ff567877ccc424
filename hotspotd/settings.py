"""Site settings an operator changes from the console without a restart: the site's name,
the help phone number and notice shown on the portal, the time zone times are shown in, and
the WiFi network's name printed on voucher sheets.

The config file gives the defaults (`[site] name, help_phone, notice, timezone`); what the
operator sets is kept in the `setting` table and wins.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .console import audit
from .console.audit import Actor
from .config import Config
from .errors import InvalidInput
from .store.db import write_transaction
from .store.models import Setting

_PHONE = re.compile(r"^\+?[0-9 ]{3,20}$")


@dataclass(frozen=True)
class SiteSettings:
    name: str
    help_phone: str
    notice: str
    timezone: str
    wifi_name: str = ""

    @property
    def wifi(self) -> str:
        """The WiFi name customers look for: the one set, or the site's name."""
        return self.wifi_name or self.name

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


FIELDS = tuple(SiteSettings.__dataclass_fields__)
_KEY = "site.{}".format


def site_settings(config: Config) -> SiteSettings:
    """The settings in force: the operator's, over the config file's defaults."""
    stored = {row.key: row.value for row in Setting.select().where(Setting.key.in_([_KEY(f) for f in FIELDS]))}
    return SiteSettings(**{f: stored.get(_KEY(f), getattr(config.site, f)) for f in FIELDS})


def _clean(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text")
    value = value.strip()
    if field == "name" and not 1 <= len(value) <= 60:
        raise InvalidInput("the site name needs 1 to 60 characters")
    if field == "help_phone" and value and not _PHONE.match(value):
        raise InvalidInput("the help phone number may hold digits, spaces and a leading +")
    if field == "wifi_name" and len(value) > 32:
        raise InvalidInput("a WiFi name (SSID) may be 32 characters at most")
    if field == "notice" and len(value) > 280:
        raise InvalidInput("the notice may be 280 characters at most")
    if field == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"unknown time zone {value!r} (e.g. Africa/Nairobi)") from None
    return value


def update_site_settings(config: Config, changes: dict[str, Any], now: datetime, *,
                         by: Actor | None = None) -> SiteSettings:
    """Change some settings (all checked before any is written); returns those in force.
    With `by`, the change is written to the audit log in the same transaction."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"unknown setting(s): {', '.join(sorted(unknown))}")
    clean = {field: _clean(field, value) for field, value in changes.items()}
    with write_transaction():
        for field, value in clean.items():
            Setting.insert(key=_KEY(field), value=value, updated_at=now).on_conflict_replace().execute()
        if by is not None:
            audit.record(by, "settings.update", "site settings", now, changes=clean)
    return site_settings(config)


def clean_site_settings(changes: dict[str, Any]) -> dict[str, str]:
    """Check changes as `update_site_settings` would, without writing (central sync checks
    a change before it is sent to the boxes)."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"unknown setting(s): {', '.join(sorted(unknown))}")
    return {field: _clean(field, value) for field, value in changes.items()}
