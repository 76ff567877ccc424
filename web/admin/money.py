"""Every shilling, every way back, on the console: Paybill reconciliation (Pull
Transactions: how far Daraja has been read, the hours that could not be checked), the SMS
outbox (sent, delivered, failed, the cost) and the texts' templates. Refunds are on a
payment's own page (`api.py`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import bottle

from hotspotd.billing import paybill_pull
from hotspotd.console.actions import Console
from hotspotd.settings import site_settings
from hotspotd.sms import figures, texts
from hotspotd.store.db import utcnow

from ..jsonapi import api, read_json
from .auth import AUDIT_SELF, actor
from .lists import int_arg, page_of, text_arg


def install(app: bottle.Bottle, console: Console) -> None:
    config = console.config

    @app.get("/api/admin/pull")
    @api
    def pull_status() -> dict[str, Any]:
        m = config.mpesa
        return paybill_pull.status(interval=m.pull_interval, short_code=m.paybill,
                                   tz=site_settings(config).timezone)

    @app.get("/api/admin/sms")
    @api
    def sms_list() -> dict[str, Any]:
        status = text_arg("status", 20)
        days = int_arg("days", 7, high=90)
        listed = page_of(lambda page, per_page: figures.listed(page, per_page, status))
        return {**listed, "enabled": bool(config.sms.provider), "days": days,
                "summary": figures.summary(utcnow() - timedelta(days=days))}

    @app.get("/api/admin/sms/texts")
    @api
    def sms_texts() -> dict[str, Any]:
        return {**texts.load().as_dict(), "placeholders": list(texts.PLACEHOLDERS)}

    @app.post("/api/admin/sms/texts", audit=AUDIT_SELF)
    @api
    def sms_texts_update() -> dict[str, Any]:
        return {**texts.update(read_json(), utcnow(), by=actor()).as_dict(), "placeholders": list(texts.PLACEHOLDERS)}
