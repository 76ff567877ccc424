"""What every record is built on: times stored as fixed-width UTC text, JSON fields, and the
base model bound to the app database (see `models.py` for the records themselves)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import peewee

from .db import db

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_db_time(value: datetime) -> str:
    """An aware datetime as stored: fixed-width UTC ISO text ending in Z."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given; hotspotd stores aware UTC times only")
    if value.utcoffset():
        value = value.astimezone(timezone.utc)
    # isoformat is C-fast; the same text as strftime(_FORMAT), e.g. ...T09:00:00.000000Z
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def iso(value: datetime) -> str:
    """A UTC time for people and APIs: ISO-8601 with Z (2026-11-23T09:00:00Z)."""
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def from_db_time(value: str) -> datetime:
    return datetime.strptime(value, _FORMAT).replace(tzinfo=timezone.utc)


class UTCDateTimeField(peewee.Field):
    field_type = "TEXT"

    def db_value(self, value: datetime | None) -> str | None:
        return None if value is None else to_db_time(value)

    def python_value(self, value: str | None) -> datetime | None:
        return None if value is None else from_db_time(value)


class JSONField(peewee.TextField):
    def db_value(self, value):
        return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(peewee.Model):
    class Meta:
        database = db
        legacy_table_names = False
        only_save_dirty = True  # an UPDATE names only the fields that changed
