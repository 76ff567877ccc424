"""GET /api/admin/sync: central sync as the console shows it (last success, events
waiting, the oldest waiting, the last error, the configuration version)."""

from __future__ import annotations

from typing import Any

import bottle

from hotspotd import sync
from hotspotd.config import Config

from ..jsonapi import api


def install(app: bottle.Bottle, config: Config) -> None:
    @app.get("/api/admin/sync")
    @api
    def sync_status() -> dict[str, Any]:
        return sync.status(config)
