"""Router records (NAS): the MikroTiks hotspotd serves, with their API login and RADIUS secret.

Service functions behind `hotspotd router add/list/remove` and the admin API;
`router_views()` is the one form the RADIUS role and the disconnect sweep read them in.
The RADIUS role picks up a new or changed router within a second (`ViewLoader`).

A router is in `radius` mode (customers are authenticated by hotspotd's RADIUS; the
default) or `api` mode (hotspot users are created on the router through its API).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from ..errors import Conflict, InvalidInput, NotFound
from ..store.db import db, utcnow, write_transaction
from ..store.models import Router, iso, to_db_time
from .api import Target


class RouterMode(StrEnum):
    RADIUS = "radius"
    API = "api"


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


def _fingerprint(value: str | None) -> str | None:
    if not value:
        return None
    clean = value.replace(":", "").strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", clean):
        raise InvalidInput("the certificate fingerprint must be a SHA-256 (64 hex digits, colons allowed)")
    return clean


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise the fields of a new or edited router."""
    out = dict(fields)
    for key in ("name", "host", "secret", "api_user", "api_password"):
        if key in out:
            out[key] = str(out[key] or "").strip()
    if "name" in out and not out["name"]:
        raise InvalidInput("a router needs a name")
    if "name" in out and re.search(r"[\x00-\x1f\x7f]", out["name"]):
        raise InvalidInput("a router's name cannot hold control characters (line breaks, tabs)")
    if "host" in out and not out["host"]:
        raise InvalidInput("a router needs a host")
    if "secret" in out and len(out["secret"]) < 8:
        raise InvalidInput("the RADIUS secret must be at least 8 characters")
    if "nas_ip" in out:
        try:
            out["nas_ip"] = str(ipaddress.ip_address(str(out["nas_ip"]).strip()))
        except ValueError:
            raise InvalidInput(f"NAS address must be an IP address (got {out['nas_ip']!r}); give --nas-ip") from None
    for key, what in (("api_port", "API port"), ("coa_port", "CoA port")):
        if key in out:
            try:
                out[key] = int(out[key])
            except (TypeError, ValueError):
                raise InvalidInput(f"{what} must be a number") from None
            if not 0 < out[key] < 65536:
                raise InvalidInput(f"{what} must be 1-65535 (got {out[key]})")
    if "mode" in out:
        if out["mode"] not in tuple(RouterMode):
            raise InvalidInput("mode must be radius or api")
    if "api_tls" in out:
        out["api_tls"] = bool(out["api_tls"])
    if "api_fingerprint" in out:
        out["api_fingerprint"] = _fingerprint(out["api_fingerprint"])
    return out


def _unique(fields: dict[str, Any], router_id: int | None) -> None:
    others = Router.select().where(Router.id != (router_id or 0))
    if "name" in fields and others.where(Router.name == fields["name"]).exists():
        raise Conflict(f"a router named {fields['name']!r} exists")
    if "nas_ip" in fields and others.where(Router.nas_ip == fields["nas_ip"]).exists():
        raise Conflict(f"a router with NAS address {fields['nas_ip']} exists")


def add_router(name: str, host: str, secret: str, nas_ip: str | None = None, *, api_port: int | None = None,
               api_user: str = "", api_password: str = "", coa_port: int = 3799, mode: str = "radius",
               api_tls: bool = False, api_fingerprint: str | None = None,
               require_message_authenticator: bool | None = None, now: datetime | None = None) -> Router:
    """Record a router. `nas_ip` is the address its RADIUS packets come from (default:
    `host`, which must then be an IP address); `coa_port` is where it takes
    Disconnect-Requests (`/radius incoming set accept=yes port=3799`). The API port is
    8728, or 8729 with TLS. `require_message_authenticator` None follows the site default.
    """
    fields = _checked({"name": name, "host": host, "secret": secret, "nas_ip": nas_ip or host,
                       "api_port": api_port or (8729 if api_tls else 8728), "api_user": api_user,
                       "api_password": api_password, "coa_port": coa_port, "mode": mode, "api_tls": api_tls,
                       "api_fingerprint": api_fingerprint})
    with write_transaction():
        _unique(fields, None)
        return Router.create(**fields, require_message_authenticator=require_message_authenticator,
                             created_at=now or utcnow())


EDITABLE = ("name", "host", "secret", "nas_ip", "api_port", "api_user", "api_password", "coa_port", "mode",
            "api_tls", "api_fingerprint")


def update_router(ref: int | str, changes: dict[str, Any]) -> Router:
    """Change some fields of a router (those in EDITABLE); others are refused."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))} (can: {', '.join(EDITABLE)})")
    fields = _checked(changes)
    with write_transaction():
        router = get_router(ref)
        _unique(fields, router.id)
        if fields:
            Router.update(fields).where(Router.id == router.id).execute()
        return Router.get_by_id(router.id)


def remove_router(ref: int | str) -> Router:
    """Forget a router (its sessions go with it)."""
    with write_transaction():
        router = get_router(ref)
        router.delete_instance()
        return router


def get_router(ref: int | str) -> Router:
    """A router by id or by name; NotFound otherwise."""
    router = None
    if isinstance(ref, int) or str(ref).isdigit():
        router = Router.get_or_none(Router.id == int(ref))
    if router is None:
        router = Router.get_or_none(Router.name == str(ref))
    if router is None:
        raise NotFound(f"no router {ref!r}")
    return router


def target(router: Router) -> Target:
    """How to reach the router's API."""
    return Target(router.id, router.name, router.host, router.api_port, router.api_user, router.api_password,
                  bool(router.api_tls), router.api_fingerprint)


def api_warnings(r: Router) -> list[str]:
    """What is weak in how hotspotd reaches the router's API, one line each (none for a
    router without an API login): the console's router view and `doctor` show them."""
    if not r.api_user:
        return []
    if not r.api_tls:
        return [f"the API is plain (port {r.api_port}): the API password crosses the network in clear; use "
                "api-ssl (port 8729, API over TLS) with the router's certificate fingerprint pinned"]
    if not r.api_fingerprint:
        return ["API over TLS without a pinned certificate: any certificate is accepted, anonymous ciphers too, "
                "so whoever sits between the box and the router can read the API password; pin the router's "
                "certificate (its SHA-256 fingerprint)"]
    return []


# How the portal says it saw a router's customers arrive from the router's own address
# (hotspotd.customer.identity.VIA_ROUTER writes it in the health log, at most once an hour).
_VIA_ROUTER = "customers reach hotspotd through router {name}'s own address%"
_RECENTLY = 'SELECT 1 FROM "health_log" WHERE "component" = \'portal\' AND "message" LIKE ? AND "at" > ? LIMIT 1'


def hotspot_warnings(r: Router, now: datetime | None = None) -> list[str]:
    """What stops the portal from knowing this router's customers, one line each: device-mode
    forbids the hotspot, or customers arrive from the router's own address (its masquerade
    or web proxy), so the portal cannot tell them apart."""
    found = []
    if r.hotspot_allowed is False:
        found.append("device-mode does not allow the hotspot: run `/system/device-mode/update hotspot=yes` on the "
                     "router, then press its reset or mode button (or cut the power) within 5 minutes")
    since = (now or utcnow()) - timedelta(days=1)
    pattern = _VIA_ROUTER.format(name=r.name.replace("%", "").replace("_", ""))
    if db.execute_sql(_RECENTLY, (pattern, to_db_time(since))).fetchone():
        found.append(f"customers reach hotspotd from this router's own address, so the portal cannot tell them "
                     f"apart: run `hotspotd router deploy {r.name}` (an IP walled-garden entry and a NAT exemption "
                     "for the box)")
    return found


def router_dict(r: Router) -> dict[str, Any]:
    """A router for people and scripts: never its API password or RADIUS secret."""
    def when(value):
        return iso(value) if value else None

    return {
        "id": r.id, "name": r.name, "host": r.host, "api_port": r.api_port, "api_user": r.api_user,
        "api_tls": bool(r.api_tls), "api_fingerprint": r.api_fingerprint, "nas_ip": r.nas_ip,
        "coa_port": r.coa_port, "mode": r.mode, "require_message_authenticator": r.require_message_authenticator,
        "status": r.status, "last_seen_at": when(r.last_seen_at), "probed_at": when(r.probed_at),
        "failures": r.failures, "last_error": r.last_error, "ros_version": r.ros_version, "board": r.board,
        "uptime_s": r.uptime_s, "cpu_load": r.cpu_load, "free_memory": r.free_memory,
        "deployed_at": when(r.deployed_at), "deploy": r.deploy_state, "services": r.services or "",
        "sessions_at": when(r.sessions_at),
        "login_hosts": r.login_hosts or [], "hotspot_allowed": r.hotspot_allowed,
        "warnings": api_warnings(r), "hotspot_warnings": hotspot_warnings(r),
    }


def list_routers() -> list[dict[str, Any]]:
    """Every router as a plain dict (for `router list --json` and the admin API)."""
    return [router_dict(r) for r in Router.select().order_by(Router.id)]
