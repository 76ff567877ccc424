"""/api/admin/subscribers...: home subscribers over PPPoE for the console's Subscribers page.

Thin: each route reads its input and calls the core's `SubscriberConsole`. Operators look
up, suspend, resume, kick and charge (send an M-Pesa prompt); adding and editing (which
shows or changes PPPoE secrets) is the admin's. Every change writes its own audit entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import bottle

from ..jsonapi import api, id_field, read_json, text_field
from .auth import AUDIT_SELF, actor
from .lists import page_of_all, text_arg

if TYPE_CHECKING:
    from hotspotd.pppoe.console import SubscriberConsole

TEXT_FIELDS = ("name", "phone", "username", "password", "static_ip", "mac", "language", "paid_until")


def _body() -> dict[str, Any]:
    raw = read_json()
    body: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "package_id":
            body[key] = id_field(raw, key)
        elif key in TEXT_FIELDS:
            body[key] = text_field(raw, key, 80)
        else:
            body[key] = value  # the core names what it does not know
    return body


def install(app: bottle.Bottle, subscribers: SubscriberConsole) -> None:
    @app.get("/api/admin/subscribers")
    @api
    def subscriber_list() -> dict[str, Any]:
        return page_of_all(subscribers.list(text_arg("q", 64), text_arg("status", 12)))

    @app.post("/api/admin/subscribers", audit=AUDIT_SELF)
    @api
    def subscriber_add():
        return 201, subscribers.add(_body(), actor())

    @app.get("/api/admin/subscribers/<subscriber_id:int>")
    @api
    def subscriber_detail(subscriber_id: int) -> dict[str, Any]:
        return subscribers.detail(subscriber_id)

    @app.post("/api/admin/subscribers/<subscriber_id:int>", audit=AUDIT_SELF)
    @api
    def subscriber_edit(subscriber_id: int) -> dict[str, Any]:
        return subscribers.edit(subscriber_id, _body(), actor())

    @app.post("/api/admin/subscribers/<subscriber_id:int>/suspend", role="operator", audit=AUDIT_SELF)
    @api
    def subscriber_suspend(subscriber_id: int) -> dict[str, Any]:
        return subscribers.suspend(subscriber_id, text_field(read_json(), "reason", 200) or "", actor())

    @app.post("/api/admin/subscribers/<subscriber_id:int>/resume", role="operator", audit=AUDIT_SELF)
    @api
    def subscriber_resume(subscriber_id: int) -> dict[str, Any]:
        return subscribers.resume(subscriber_id, actor())

    @app.post("/api/admin/subscribers/<subscriber_id:int>/kick", role="operator", audit=AUDIT_SELF)
    @api
    def subscriber_kick(subscriber_id: int):
        return 202, subscribers.kick(subscriber_id, actor())

    @app.post("/api/admin/subscribers/<subscriber_id:int>/charge", role="operator", audit=AUDIT_SELF)
    @api
    def subscriber_charge(subscriber_id: int):
        body = read_json()
        amount = body.get("amount")
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
            from hotspotd.errors import InvalidInput

            raise InvalidInput("amount must be a whole number of shillings")
        return 202, subscribers.charge(subscriber_id, text_field(body, "phone", 20), amount, actor())
