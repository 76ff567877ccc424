"""/api/admin/routers...: the routers of the site for the console's Routers page.

Thin: each route reads its input and calls the core's `RouterConsole`. Work that talks to
a router (probe, sessions refresh, kick, deploy) is queued for the worker and answered
202 at once; its outcome arrives as events over /ws and in the next GET.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import bottle

from hotspotd.errors import HotspotdError

from ..jsonapi import answer, api, read_json, status_for, text_field

if TYPE_CHECKING:
    from hotspotd.router.console import RouterConsole


def install(app: bottle.Bottle, routers: RouterConsole) -> None:
    @app.get("/api/admin/routers")
    @api
    def router_list() -> list[dict[str, Any]]:
        return routers.list()

    @app.post("/api/admin/routers")
    @api
    def router_create():
        return 201, routers.create(read_json())

    @app.post("/api/admin/routers/<router_id:int>")
    @api
    def router_edit(router_id: int) -> dict[str, Any]:
        return routers.edit(router_id, read_json())

    @app.post("/api/admin/routers/<router_id:int>/remove")
    @api
    def router_remove(router_id: int) -> dict[str, Any]:
        return routers.remove(router_id)

    @app.post("/api/admin/routers/<router_id:int>/probe")
    @api
    def router_probe(router_id: int):
        return 202, routers.probe(router_id)

    @app.get("/api/admin/routers/<router_id:int>/sessions")
    @api
    def router_sessions(router_id: int) -> dict[str, Any]:
        return routers.sessions(router_id, refresh=bottle.request.query.get("refresh") in ("1", "true", "yes"))

    @app.post("/api/admin/sessions/<live_id:int>/kick")
    @api
    def session_kick(live_id: int):
        return 202, routers.kick(live_id)

    @app.post("/api/admin/routers/<router_id:int>/deploy")
    @api
    def router_deploy(router_id: int):
        body = read_json()  # {service: hotspot|pppoe|dhcp, interface, network}; empty: the hotspot
        return 202, routers.deploy(router_id, text_field(body, "service", 10) or "hotspot",
                                   text_field(body, "interface", 64), text_field(body, "network", 20))

    @app.get("/api/admin/routers/<router_id:int>/script")
    def router_script(router_id: int) -> str:
        query = bottle.request.query
        try:
            text = routers.script(router_id, query.get("service") or "hotspot", query.get("interface") or None,
                                  query.get("network") or None)
        except HotspotdError as exc:  # errors stay JSON, as everywhere
            return answer(status_for(exc), {"error": str(exc)})
        bottle.response.content_type = "text/plain; charset=utf-8"
        bottle.response.set_header("Content-Disposition", f'attachment; filename="router-{router_id}.rsc"')
        return text
