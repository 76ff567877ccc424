"""System health (the queue, failed tasks, the health log, alerts), site settings and the
audit log."""

from __future__ import annotations

from typing import Any

import bottle

from hotspotd import alerts
from hotspotd.console import attention, audit, reports
from hotspotd.console.actions import Console
from hotspotd.errors import InvalidInput
from hotspotd.settings import site_settings, update_site_settings
from hotspotd.store.db import utcnow

from ..jsonapi import api, read_json, text_field
from .auth import AUDIT_SELF, actor
from .lists import page_of, page_of_all

def install(app: bottle.Bottle, console: Console) -> None:
    config = console.config

    @app.get("/api/admin/queue")
    @api
    def queue() -> dict[str, Any]:
        return console.queue_health()

    @app.post("/api/admin/queue/mode", audit=AUDIT_SELF)
    @api
    def queue_mode() -> dict[str, Any]:
        return {"mode": console.set_queue_mode(text_field(read_json(), "mode", 10) or "", by=actor())}

    @app.get("/api/admin/queue/failed")
    @api
    def failed() -> dict[str, Any]:
        return page_of_all([attention.explain_failed(row) for row in reports.failed_tasks()])

    @app.post("/api/admin/queue/failed/<failed_id:int>/retry", role="operator", audit=AUDIT_SELF)
    @api
    def retry_one(failed_id: int) -> dict[str, Any]:
        return {"retried": console.retry_failed(failed_id, by=actor())}

    @app.post("/api/admin/queue/failed/retry", role="operator", audit=AUDIT_SELF)
    @api
    def retry_all() -> dict[str, Any]:
        return {"retried": console.retry_failed(None, by=actor())}

    @app.get("/api/admin/health")
    @api
    def health() -> dict[str, Any]:
        return page_of(console.health_log)

    @app.get("/api/admin/alerts")
    @api
    def alert_list() -> dict[str, Any]:
        a = config.alerts
        configured = bool(a.webhook_url or (a.telegram_bot_token and a.telegram_chat_id))
        waiting = len(reports.failed_tasks())

        def explained(page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
            items, total = alerts.listed(page, per_page)
            return [attention.explain_alert(item, channels_configured=configured, failed_waiting=waiting)
                    for item in items], total

        return page_of(explained)

    @app.get("/api/admin/settings")
    @api
    def settings() -> dict[str, Any]:
        return site_settings(config).as_dict()

    @app.post("/api/admin/settings", audit=AUDIT_SELF)
    @api
    def settings_update() -> dict[str, Any]:
        body = read_json()
        if not body:
            raise InvalidInput("nothing to change")
        return update_site_settings(config, body, utcnow(), by=actor()).as_dict()

    @app.get("/api/admin/audit", role=audit.READER)
    @api
    def audit_log() -> dict[str, Any]:
        return page_of(audit.entries)
