"""Sites known to the receiver: registering one (its id and key), finding one."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from ..errors import Conflict, InvalidInput, NotFound
from .store import CentralStore, Site


@dataclass(frozen=True)
class Registration:
    site_id: str
    site_key: str
    name: str


def slug(name: str) -> str:
    """A site id from its name: lower case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]


def add_site(store: CentralStore, name: str, now: datetime) -> Registration:
    """Register a site; the key is made here and shown once (the receiver keeps it to
    check signatures, as a RADIUS server keeps its shared secrets)."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 60:
        raise InvalidInput("a site needs a name of 1 to 60 characters")
    site_id = slug(name)
    if not site_id:
        raise InvalidInput("a site name needs at least one letter or digit")
    key = secrets.token_urlsafe(32)
    with store.write():
        if Site.select().where((Site.id == site_id) | (Site.name == name)).exists():
            raise Conflict(f"a site named {name!r} (id {site_id}) exists already")
        Site.create(id=site_id, name=name, key=key, created_at=now)
    return Registration(site_id, key, name)


def get_site(site_id: str) -> Site:
    site = Site.get_or_none(Site.id == site_id)
    if site is None:
        raise NotFound(f"no site {site_id!r}")
    return site


def list_sites() -> list[Site]:
    return list(Site.select().order_by(Site.name))
