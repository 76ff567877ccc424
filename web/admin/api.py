"""/api/admin/...: the dashboard, its charts, payments and events (the pages use the same routes).

Lists answer `{"items", "page", "per_page", "total"}` (`lists.py`), except the two older
routes `/api/admin/events` and `/api/admin/packages`, which keep answering a plain array.
"""

from __future__ import annotations

from typing import Any

import bottle

from hotspotd.console import audit
from hotspotd import events
from hotspotd.billing import history, packages
from hotspotd.console.actions import Console
from hotspotd.errors import InvalidInput

from ..jsonapi import api, read_json, text_field
from . import charts
from .auth import AUDIT_SELF, actor, current_login
from .lists import date_arg, int_arg, page_of, text_arg


def _id(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise InvalidInput(f"{key} must be a whole number")
    return value


def install(app: bottle.Bottle, console: Console) -> None:
    @app.get("/api/admin/events")
    @api
    def event_list() -> list[dict[str, Any]]:
        after = bottle.request.query.get("after", "")
        hidden = audit.hidden_from(current_login().role)
        if after.isdigit():
            return events.since(int(after), limit=500, hidden=hidden)
        return events.latest(100, hidden=hidden)

    @app.get("/api/admin/packages")
    @api
    def package_list() -> list[dict[str, Any]]:
        return [packages.package_dict(p) for p in packages.list_packages(include_inactive=True, service=None)]

    @app.get("/api/admin/dashboard")
    @api
    def dashboard() -> dict[str, Any]:
        return console.dashboard()

    @app.get("/api/admin/charts/revenue.svg")
    def revenue_chart() -> str:
        figures = console.dashboard()
        bottle.response.content_type = "image/svg+xml; charset=utf-8"
        bottle.response.set_header("Cache-Control", "no-store")
        return charts.revenue_svg(figures["revenue_30d"], figures["currency"])

    @app.get("/api/admin/charts/sessions.svg")
    def sessions_chart() -> str:
        figures = console.dashboard()
        bottle.response.content_type = "image/svg+xml; charset=utf-8"
        bottle.response.set_header("Cache-Control", "no-store")
        return charts.sessions_svg(figures["sessions_24h"], console.timezone())

    # -- payments

    @app.get("/api/admin/payments")
    @api
    def payment_list() -> dict[str, Any]:
        tz = console.timezone()
        q, status, package_id = text_arg("q"), text_arg("status", 20), int_arg("package")
        since, until = date_arg("since", tz), date_arg("until", tz, end=True)
        return page_of(lambda page, per_page: history.search(q=q, status=status, package_id=package_id, since=since,
                                                             until=until, page=page, per_page=per_page))

    @app.get("/api/admin/payments/<payment_id:int>")
    @api
    def payment_detail(payment_id: int) -> dict[str, Any]:
        return history.timeline(payment_id)

    @app.post("/api/admin/payments/<payment_id:int>/resend", role="operator", audit=AUDIT_SELF)
    @api
    def resend(payment_id: int) -> dict[str, Any]:
        return console.resend(payment_id, by=actor())

    @app.post("/api/admin/payments/<payment_id:int>/extend", role="operator", audit=AUDIT_SELF)
    @api
    def extend_payment(payment_id: int) -> dict[str, Any]:
        body = read_json()
        return console.extend_payment(payment_id, body.get("seconds"), by=actor(),
                                      reason=text_field(body, "reason", 200) or "")

    # -- money that matched no payment

    @app.get("/api/admin/callbacks")
    @api
    def orphan_list() -> dict[str, Any]:
        return page_of(history.orphan_callbacks)

    @app.post("/api/admin/callbacks/<callback_id:int>/assign", role="operator", audit=AUDIT_SELF)
    @api
    def assign(callback_id: int) -> dict[str, Any]:
        payment_id = _id(read_json(), "payment_id")
        console.assign_callback(callback_id, payment_id, by=actor())
        return history.timeline(payment_id)
