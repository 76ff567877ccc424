"""/api/admin/...: the dashboard, its charts, payments and events (the pages use the same routes).

Lists answer `{"items", "page", "per_page", "total"}` (`lists.py`), except the two older
routes `/api/admin/events` and `/api/admin/packages`, which keep answering a plain array.
"""

from __future__ import annotations

from typing import Any

import bottle

from hotspotd.console import audit, exports, income
from hotspotd import events
from hotspotd.billing import c2b, history, packages
from hotspotd.console.actions import Console
from hotspotd.errors import HotspotdError, InvalidInput

from ..jsonapi import answer, api, read_json, status_for, text_field
from . import charts
from .auth import AUDIT_SELF, actor, current_login
from .lists import date_arg, int_arg, page_of, page_of_all, text_arg


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

    @app.get("/api/admin/income")
    @api
    def income_by_month() -> dict[str, Any]:
        return {"currency": "KES", "months": income.by_month(console.clock(), console.timezone())}

    def svg(draw) -> Any:
        try:
            width = charts.chart_width(int_arg("width", high=10_000))
        except InvalidInput as exc:
            return answer(400, {"error": str(exc)})
        bottle.response.content_type = "image/svg+xml; charset=utf-8"
        bottle.response.set_header("Cache-Control", "no-store")
        return draw(console.dashboard(), width)

    @app.get("/api/admin/charts/revenue.svg")
    def revenue_chart() -> str:
        return svg(lambda figures, width: charts.revenue_svg(figures["revenue_30d"], figures["currency"], width))

    @app.get("/api/admin/charts/sessions.svg")
    def sessions_chart() -> str:
        return svg(lambda figures, width: charts.sessions_svg(figures["sessions_24h"], console.timezone(), width))

    # -- payments

    def payment_filters() -> dict[str, Any]:
        tz = console.timezone()
        return {"q": text_arg("q"), "status": text_arg("status", 20), "package_id": int_arg("package"),
                "since": date_arg("since", tz), "until": date_arg("until", tz, end=True),
                "method": text_arg("method", 10)}

    @app.get("/api/admin/payments")
    @api
    def payment_list() -> dict[str, Any]:
        filters = payment_filters()
        return page_of(lambda page, per_page: history.search(**filters, page=page, per_page=per_page))

    @app.get("/api/admin/payments.csv")
    def payment_export() -> Any:
        try:
            filters = payment_filters()
            text = "".join(exports.payments_csv(console.timezone(), **filters))
        except HotspotdError as exc:
            return answer(status_for(exc), {"error": str(exc)})
        stamp = console.clock().astimezone(console.timezone()).strftime("%Y-%m-%d")
        bottle.response.content_type = "text/csv; charset=utf-8"
        bottle.response.set_header("Content-Disposition", f'attachment; filename="payments-{stamp}.csv"')
        bottle.response.set_header("Cache-Control", "no-store")
        return text

    @app.get("/api/admin/payments/<payment_id:int>")
    @api
    def payment_detail(payment_id: int) -> dict[str, Any]:
        return {**history.timeline(payment_id, console.config.mpesa.paybill), **console.payment_money(payment_id)}

    @app.post("/api/admin/payments/<payment_id:int>/refund", role="admin", audit=AUDIT_SELF)
    @api
    def refund(payment_id: int) -> tuple[int, dict[str, Any]]:
        return 202, console.refund(payment_id, read_json().get("reason"), by=actor())

    @app.get("/api/admin/paybill/unmatched")
    @api
    def paybill_unmatched() -> dict[str, Any]:
        return page_of_all(c2b.unmatched(int_arg("limit", 50, high=200)))

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
        return history.timeline(payment_id, console.config.mpesa.paybill)
