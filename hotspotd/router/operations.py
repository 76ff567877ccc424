"""The router operations as whole use cases, over the Runtime's connections: what the
tasks, the command line and the admin console call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..errors import InvalidInput, NotFound
from ..store.db import utcnow
from ..store.models import Router, RouterSession, Subscription
from . import deploy as deploying, live, probe as probing
from .services import HOTSPOT, describe_service
from .records import RouterMode, get_router
from .script import render

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime


def probe(rt: Runtime, router_ref: int | str) -> probing.ProbeResult:
    router = get_router(router_ref)
    return probing.probe_one(rt.routers.session, router, offline_after=rt.config.routers.offline_after)


def refresh_sessions(rt: Runtime, router_ref: int | str) -> dict:
    router = get_router(router_ref)
    live.refresh(rt.routers.session, router, utcnow())
    return live.listed(router.id)


def kick(rt: Runtime, live_session_id: int) -> dict:
    """Kick one live session (by its id in `router_session`)."""
    return live.kick(rt.routers.session, live.find(live_session_id), utcnow())


def kick_matching(rt: Runtime, router_ref: int | str, *, user: str | None = None, mac: str | None = None,
                  active_id: str | None = None) -> list[dict]:
    """Kick the sessions of a router that match a user, a MAC or a router `.id` (read fresh)."""
    if not (user or mac or active_id):
        raise InvalidInput("say which session: a user, a MAC or an active id")
    router = get_router(router_ref)
    live.refresh(rt.routers.session, router, utcnow())
    query = RouterSession.select().where(RouterSession.router == router.id)
    if user:
        query = query.where(RouterSession.user == user)
    if mac:
        query = query.where(RouterSession.mac == mac.upper())
    if active_id:
        query = query.where(RouterSession.active_id == active_id)
    found = list(query)
    if not found:
        raise NotFound(f"no such session online at {router.name}")
    return [live.kick(rt.routers.session, each, utcnow()) for each in found]


def deploy(rt: Runtime, router_ref: int | str, report: Callable[[str], None] = lambda line: None, *,
           service: str = HOTSPOT, interface: str | None = None, network: str | None = None) -> bool:
    return deploying.run(rt.routers.session, router_ref, rt.config, report=report, service=service,
                         interface=interface, network=network)


def script(rt: Runtime, router_ref: int | str, *, service: str = HOTSPOT, interface: str | None = None,
           network: str | None = None) -> str:
    router = get_router(router_ref)
    return render(describe_service(router, rt.config, service, interface=interface, network=network),
                  router_name=router.name, generated=utcnow().strftime("%Y-%m-%d %H:%M UTC"),
                  service=service)


def waiting_for(router_id: int) -> list[int]:
    """Subscriptions not yet provisioned, when the router is an `api`-mode one."""
    router = Router.get_or_none(Router.id == router_id)
    if router is None or router.mode != RouterMode.API:
        return []
    return [s.id for s in Subscription.select(Subscription.id).where(
        (Subscription.status == "active") & Subscription.provisioned_at.is_null()).limit(500)]
