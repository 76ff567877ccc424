"""/api/admin/...: the admin JSON API (the pages use the same routes)."""

from __future__ import annotations

from typing import Any

import bottle

from hotspotd import events
from hotspotd.billing import packages

from ..jsonapi import api


def install(app: bottle.Bottle) -> None:
    @app.get("/api/admin/events")
    @api
    def event_list() -> list[dict[str, Any]]:
        after = bottle.request.query.get("after", "")
        if after.isdigit():
            return events.since(int(after), limit=500)
        return events.latest(100)

    @app.get("/api/admin/packages")
    @api
    def package_list() -> list[dict[str, Any]]:
        return [packages.package_dict(p) for p in packages.list_packages(include_inactive=True)]
