"""Live sessions: who is online at each router right now, as the router lists them
(hotspot active and PPPoE active), kept for the admin page and announced as a
`router.sessions` event when someone joins or leaves. And kicking one of them.

Kick: `/ip/hotspot/active/remove` (or `/ppp/active/remove`) through the API; on a
`radius`-mode router the open accounting session of that user and device is also marked
for an RFC 5176 Disconnect-Request, which the RADIUS role delivers as for any kick.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from .. import events, sessions as accounting
from ..errors import NotFound
from ..store.db import write_transaction
from ..store.models import Router, RouterSession, Session, iso
from .api import RouterApi, RouterCommandRefused
from .probe import parse_uptime
from .records import RouterMode, get_router, target

MENUS = {"hotspot": "/ip/hotspot/active", "pppoe": "/ppp/active"}


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def read(api: RouterApi) -> list[dict[str, Any]]:
    """Both lists, in one shape: kind, active_id, user, mac, ip, uptime_s, bytes_in, bytes_out."""
    found = []
    for row in api.print(MENUS["hotspot"]):
        found.append({"kind": "hotspot", "active_id": row.get(".id", ""), "user": row.get("user", ""),
                      "mac": row.get("mac-address") or None, "ip": row.get("address") or None,
                      "uptime_s": parse_uptime(row.get("uptime", "")), "bytes_in": _int(row.get("bytes-in")),
                      "bytes_out": _int(row.get("bytes-out"))})
    for row in api.print(MENUS["pppoe"]):
        if row.get("service", "pppoe") != "pppoe":
            continue
        found.append({"kind": "pppoe", "active_id": row.get(".id", ""), "user": row.get("name", ""),
                      "mac": row.get("caller-id") or None, "ip": row.get("address") or None,
                      "uptime_s": parse_uptime(row.get("uptime", "")), "bytes_in": None, "bytes_out": None})
    return found


def store(router: Router, rows: list[dict[str, Any]], now: datetime) -> tuple[list[dict], list[dict]]:
    """Keep what the router listed; returns (joined, left) and announces them."""
    def brief(row) -> dict:
        return {"kind": row["kind"], "user": row["user"], "mac": row["mac"], "ip": row["ip"]}

    with write_transaction():
        old = {(s.kind, s.active_id): s for s in RouterSession.select().where(RouterSession.router == router.id)}
        new = {(r["kind"], r["active_id"]): r for r in rows}
        joined = [brief(r) for key, r in new.items() if key not in old]
        left = [brief({"kind": s.kind, "user": s.user, "mac": s.mac, "ip": s.ip})
                for key, s in old.items() if key not in new]
        gone = [s.id for key, s in old.items() if key not in new]
        if gone:
            RouterSession.delete().where(RouterSession.id.in_(gone)).execute()
        for key, row in new.items():
            if key in old:
                RouterSession.update(user=row["user"], mac=row["mac"], ip=row["ip"], uptime_s=row["uptime_s"],
                                     bytes_in=row["bytes_in"], bytes_out=row["bytes_out"], seen_at=now).where(
                    RouterSession.id == old[key].id).execute()
            else:
                RouterSession.create(router=router.id, first_seen_at=now, seen_at=now, **row)
        Router.update(sessions_at=now).where(Router.id == router.id).execute()
        if joined or left:
            counts = {kind: sum(1 for r in rows if r["kind"] == kind) for kind in MENUS}
            events.emit("router.sessions", {"router_id": router.id, "router": router.name, **counts,
                                            "joined": joined, "left": left}, now)
    return joined, left


def refresh(session: Callable, router: Router, now: datetime) -> tuple[list[dict], list[dict]]:
    with session(target(router)) as api:
        rows = read(api)
    return store(router, rows, now)


def live_dict(s: RouterSession) -> dict[str, Any]:
    return {"id": s.id, "router_id": s.router_id, "kind": s.kind, "active_id": s.active_id, "user": s.user,
            "mac": s.mac, "ip": s.ip, "uptime_s": s.uptime_s, "bytes_in": s.bytes_in, "bytes_out": s.bytes_out,
            "first_seen_at": iso(s.first_seen_at), "seen_at": iso(s.seen_at)}


def listed(router_ref: int | str) -> dict[str, Any]:
    """What the admin page shows for a router: its sessions and when they were read."""
    router = get_router(router_ref)
    rows = RouterSession.select().where(RouterSession.router == router.id).order_by(RouterSession.kind,
                                                                                    RouterSession.user)
    return {"router_id": router.id, "router": router.name,
            "refreshed_at": iso(router.sessions_at) if router.sessions_at else None,
            "sessions": [live_dict(s) for s in rows]}


def find(live_id: int) -> RouterSession:
    found = RouterSession.get_or_none(RouterSession.id == int(live_id))
    if found is None:
        raise NotFound(f"no live session {live_id} (it may have ended; refresh the list)")
    return found


def kick(session: Callable, live: RouterSession, now: datetime, *, reason: str = "kicked by the operator") -> dict:
    """Log one session out at its router (see the module's docstring)."""
    router = Router.get_by_id(live.router_id)
    removed = True
    with session(target(router)) as api:
        try:
            api.remove(MENUS[live.kind], live.active_id)
        except RouterCommandRefused as exc:
            if not exc.no_such_item:
                raise
            removed = False  # gone already
    disconnect = None
    if router.mode == RouterMode.RADIUS and live.kind == "hotspot":
        query = Session.select(Session.id).where((Session.router == router.id) & (Session.status == "open")
                                                 & (Session.username == live.user))
        if live.mac:
            query = query.where(Session.mac == live.mac)
        for open_session in query:
            disconnect = accounting.request_disconnect(open_session.id, reason, now) or disconnect
    with write_transaction():
        RouterSession.delete().where(RouterSession.id == live.id).execute()
    return {"router": router.name, "kind": live.kind, "user": live.user, "mac": live.mac,
            "removed": removed, "disconnect_requested": bool(disconnect)}
