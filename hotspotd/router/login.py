"""Logging a paying device in at its router (`/ip/hotspot/active/login`), so the customer
types nothing.

Which router? With several at a site (a gateway and access points), the one whose
hotspot already sees the device: every router is asked at once for the MAC in
`/ip/hotspot/host` (the devices a hotspot has seen, logged in or not), and the IP when no
MAC is known. None sees it: with one router, that one is tried; with several, the login
is left to the portal page (MikroTik's link-login-only form), which always works.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, ContextManager

from ..errors import HotspotdError
from ..store.db import db
from ..store.models import Router
from .api import RouterApi, Target
from .hotspot_users import ACTIVE
from .records import target

log = logging.getLogger(__name__)

HOSTS = "/ip/hotspot/host"
Session = Callable[[Target], ContextManager[RouterApi]]


def _sees(session: Session, router: Router, mac: str | None, ip: str | None) -> bool:
    where = {"mac-address": mac} if mac else {"address": ip}
    try:
        with session(target(router)) as api:
            # a query reads only the listed properties: the one asked about must be among them
            return bool(api.print(HOSTS, where=where, proplist=(".id", *where)))
    except HotspotdError as exc:
        log.info("auto-login: cannot ask %s about the device: %s", router.name, exc)
        return False
    finally:
        db.close()


def device_router(session: Session, routers: list[Router], mac: str | None, ip: str | None) -> Router | None:
    """The router the device is connected to (see the module's docstring), or None."""
    if not routers or not (mac or ip):
        return None
    if len(routers) == 1:
        return routers[0]
    with ThreadPoolExecutor(max_workers=min(16, len(routers)), thread_name_prefix="find-device") as pool:
        seen = list(pool.map(lambda r: _sees(session, r, mac, ip), routers))
    found = [r for r, yes in zip(routers, seen) if yes]
    if len(found) > 1:
        log.warning("auto-login: %d routers see device %s; using %s", len(found), mac or ip, found[0].name)
    return found[0] if found else None


def log_in(session: Session, router: Router, username: str, password: str, mac: str | None, ip: str) -> str:
    """Log the device in; `already` when it is online with this user."""
    with session(target(router)) as api:
        where = {"mac-address": mac} if mac else {"address": ip}
        if any(row.get("user") == username for row in api.print(ACTIVE, where=where)):
            return "already"
        args = {"user": username, "password": password, "ip": ip}
        if mac:
            args["mac-address"] = mac
        api.call(ACTIVE, "login", args)
        return "logged in"
