"""/api/admin/alerts: the alerts raised and cleared, newest first, with how each message went."""

from __future__ import annotations

from typing import Any

import bottle

from hotspotd import alerts

from ..jsonapi import api

MAX_LIMIT = 200


def install(app: bottle.Bottle) -> None:
    @app.get("/api/admin/alerts")
    @api
    def alert_list() -> dict[str, Any]:
        limit = bottle.request.query.get("limit", "")
        count = min(int(limit), MAX_LIMIT) if limit.isdigit() and int(limit) > 0 else 50
        return {"alerts": alerts.recent(count)}
