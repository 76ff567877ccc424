"""Router records (NAS): the MikroTiks hotspotd serves, with their API login and RADIUS secret.

Service functions behind `hotspotd router add/list`; `router_views()` is the one form the
RADIUS role and the disconnect sweep read them in. The RADIUS role picks up a new or
changed router within a second (see `hotspotd.access_view.ViewLoader`).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any, NamedTuple

from ..errors import Conflict, InvalidInput
from ..store.db import db, utcnow, write_transaction
from ..store.models import Router, iso


class RouterView(NamedTuple):
    """A router as RADIUS needs it: where it sends from, its secret, where it takes
    Disconnect-Requests."""

    id: int
    name: str
    host: str
    nas_ip: str
    secret: bytes
    coa_port: int
    require_message_authenticator: bool | None  # None = the site default


_VIEWS = ('SELECT "id", "name", "host", "nas_ip", "secret", "coa_port", "require_message_authenticator" '
          'FROM "router" ORDER BY "id"')


def router_views() -> list[RouterView]:
    """Every router, as RADIUS reads it."""
    return [RouterView(rid, name, host, nas_ip, secret.encode(), coa_port, None if require is None else bool(require))
            for rid, name, host, nas_ip, secret, coa_port, require in db.execute_sql(_VIEWS).fetchall()]


def add_router(name: str, host: str, secret: str, nas_ip: str | None = None, *, api_port: int = 8728,
               api_user: str = "", api_password: str = "", coa_port: int = 3799,
               require_message_authenticator: bool | None = None, now: datetime | None = None) -> Router:
    """Record a router. `nas_ip` is the address its RADIUS packets come from (default:
    `host`, which must then be an IP address); `coa_port` is where it takes
    Disconnect-Requests (`/radius incoming set accept=yes port=3799`).
    `require_message_authenticator` None follows `[radius] require_message_authenticator`.
    """
    name, host, secret = name.strip(), host.strip(), secret.strip()
    if not name or not host:
        raise InvalidInput("a router needs a name and a host")
    if len(secret) < 8:
        raise InvalidInput("the RADIUS secret must be at least 8 characters")
    try:
        nas_ip = str(ipaddress.ip_address((nas_ip or host).strip()))
    except ValueError:
        raise InvalidInput(f"NAS address must be an IP address (got {nas_ip or host!r}); give --nas-ip") from None
    for port, what in ((api_port, "API port"), (coa_port, "CoA port")):
        if not 0 < port < 65536:
            raise InvalidInput(f"{what} must be 1-65535 (got {port})")
    with write_transaction():
        if Router.select().where(Router.name == name).exists():
            raise Conflict(f"a router named {name!r} exists")
        if Router.select().where(Router.nas_ip == nas_ip).exists():
            raise Conflict(f"a router with NAS address {nas_ip} exists")
        return Router.create(name=name, host=host, api_port=api_port, api_user=api_user, api_password=api_password,
                             secret=secret, nas_ip=nas_ip, coa_port=coa_port,
                             require_message_authenticator=require_message_authenticator,
                             created_at=now or utcnow())


def list_routers() -> list[dict[str, Any]]:
    """Every router as a plain dict (for `router list --json`); secrets are left out."""
    return [{
        "id": r.id, "name": r.name, "host": r.host, "api_port": r.api_port, "api_user": r.api_user,
        "nas_ip": r.nas_ip, "coa_port": r.coa_port,
        "require_message_authenticator": r.require_message_authenticator,
        "status": r.status, "last_seen_at": iso(r.last_seen_at) if r.last_seen_at else None,
    } for r in Router.select().order_by(Router.id)]
