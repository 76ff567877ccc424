"""/api/portal/* and /api/captive: the customer's JSON API (what the page's script calls).

Each route learns who is asking (`portal.asker`: the request's own address as the routers
know it; the `mac`/`ip` in the request are hints, and a claim a router contradicts gets a
403), takes its attempt from the budgets (per device and per address), translates the
request into one call on a core use case, and answers with what the customer has in
their words (`expires_text`, `data_left_text`, ...). Errors reach the customer in the
page's language (`jsonapi.api` with the app's translator).
"""

from __future__ import annotations

import json
from typing import Any

import bottle

from hotspotd.customer.captive import MEDIA_TYPE
from hotspotd.errors import InvalidInput

from .jsonapi import api, id_field, read_json, text_field
from .portal_context import PortalContext

CHOOSE = "Choose a package and enter your phone number"


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"{key} is not valid")
    return value


def install(app: bottle.Bottle, portal: PortalContext) -> None:
    cases = portal.cases

    @app.get("/api/portal/packages")
    @api
    def package_list() -> dict[str, Any]:
        t = portal.t()
        return {"packages": [portal.described(p, t) for p in cases.checkout.packages()]}

    @app.post("/api/portal/pay")
    @api
    def pay() -> tuple[int, dict[str, Any]]:
        body = read_json()
        package_id, phone = id_field(body, "package_id"), text_field(body, "phone", 20)
        if package_id is None or not phone:
            raise InvalidInput(CHOOSE)
        top_up = _flag(body, "top_up")
        device = portal.asker(body)
        portal.check("pay", device)
        return 202, cases.checkout.pay(package_id=package_id, phone=phone, device=device, top_up=top_up,
                                       lang=portal.lang())

    @app.post("/api/portal/paybill")
    @api
    def paybill() -> tuple[int, dict[str, Any]]:
        body = read_json()
        package_id = id_field(body, "package_id")
        if package_id is None:
            raise InvalidInput(CHOOSE)
        top_up = _flag(body, "top_up")
        device = portal.asker(body)
        portal.check("pay", device)
        return 201, portal.worded(cases.paybill.offer(package_id=package_id, device=device, top_up=top_up,
                                                      lang=portal.lang()), portal.t())

    @app.get("/api/portal/payments/<ref>")
    @api
    def payment_status(ref: str) -> dict[str, Any]:
        view = cases.checkout.payment_status(ref[:64], device=portal.asker())
        return portal.worded(view, portal.t())

    @app.post("/api/portal/voucher")
    @api
    def voucher() -> dict[str, Any]:
        body = read_json()
        code = text_field(body, "code", 40) or ""
        device = portal.asker(body)
        portal.check("voucher", device)
        return portal.worded(cases.checkout.redeem_voucher(code, device=device, lang=portal.lang()), portal.t())

    @app.post("/api/portal/restore")
    @api
    def restore() -> tuple[int, dict[str, Any]]:
        body = read_json()
        receipt, phone = text_field(body, "receipt", 40) or "", text_field(body, "phone", 20) or ""
        device = portal.asker(body)
        portal.check("restore", device)
        view = cases.restore.restore_or_check(receipt=receipt, phone=phone, device=device,
                                              package_id=id_field(body, "package_id"), lang=portal.lang())
        return (202, view) if view.get("status") == "checking" else (200, portal.worded(view, portal.t()))

    @app.get("/api/portal/restore/<restore_id>")
    @api
    def restore_checked(restore_id: str) -> tuple[int, dict[str, Any]]:
        view = cases.restore.checked(restore_id[:64], device=portal.asker())
        return (202, view) if view.get("status") == "checking" else (200, portal.worded(view, portal.t()))

    @app.post("/api/portal/login")
    @api
    def login() -> dict[str, Any]:
        body = read_json()
        username, password = text_field(body, "username", 64) or "", text_field(body, "password", 64) or ""
        device = portal.asker(body)
        portal.check("login", device)
        return portal.worded(cases.account.login(username=username, password=password, device=device), portal.t())

    @app.post("/api/portal/logout")
    @api
    def logout() -> dict[str, Any]:
        body = read_json()
        username, password = text_field(body, "username", 64) or "", text_field(body, "password", 64) or ""
        device = portal.asker(body)
        portal.check("login", device)
        return cases.account.logout(username=username, password=password, device=device)

    @app.get("/api/portal/status")
    @api
    def status() -> dict[str, Any]:
        fresh = bottle.request.query.get("fresh") == "1"  # after logging in: ask the routers now
        return portal.worded(cases.account.status(device=portal.asker(fresh=fresh)), portal.t())

    @app.post("/api/portal/trial")
    @api
    def trial() -> dict[str, Any]:
        body = read_json()
        device = portal.asker(body)
        portal.check("trial", device)
        return portal.worded(cases.trial.start(device=device), portal.t())

    @app.get("/api/captive")
    def captive() -> str:
        """RFC 8908: the asking device is the address the request comes from."""
        try:
            view = cases.captive.view(bottle.request.remote_addr)
        except Exception:  # the store is down: say captive, as a portal that cannot tell would
            view = {"captive": True, "user-portal-url": portal.config.portal.public_url + "/"}
        bottle.response.content_type = MEDIA_TYPE
        bottle.response.set_header("Cache-Control", "private, no-store")
        return json.dumps(view)
