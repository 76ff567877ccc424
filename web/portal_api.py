"""/api/portal/* and /api/captive: the customer's JSON API (what the page's script calls).

Each route takes its attempt from the budgets (per device and per address), translates
the request into one call on a core use case, and answers with what the customer has in
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
        mac, ip = portal.device(body)
        package_id, phone = id_field(body, "package_id"), text_field(body, "phone", 20)
        if package_id is None or not phone:
            raise InvalidInput(CHOOSE)
        top_up = _flag(body, "top_up")
        portal.check("pay", mac)
        return 202, cases.checkout.pay(package_id=package_id, phone=phone, mac=mac, ip=ip, top_up=top_up)

    @app.post("/api/portal/paybill")
    @api
    def paybill() -> tuple[int, dict[str, Any]]:
        body = read_json()
        mac, ip = portal.device(body)
        package_id = id_field(body, "package_id")
        if package_id is None:
            raise InvalidInput(CHOOSE)
        top_up = _flag(body, "top_up")
        portal.check("pay", mac)
        return 201, portal.worded(cases.paybill.offer(package_id=package_id, mac=mac, ip=ip, top_up=top_up),
                                  portal.t())

    @app.get("/api/portal/payments/<ref>")
    @api
    def payment_status(ref: str) -> dict[str, Any]:
        query = bottle.request.query
        view = cases.checkout.payment_status(ref[:64], mac=query.getunicode("mac", default="")[:17],
                                             ip=query.getunicode("ip", default="")[:45] or bottle.request.remote_addr)
        return portal.worded(view, portal.t())

    @app.post("/api/portal/voucher")
    @api
    def voucher() -> dict[str, Any]:
        body = read_json()
        mac, ip = portal.device(body)
        code = text_field(body, "code", 40) or ""
        portal.check("voucher", mac)
        return portal.worded(cases.checkout.redeem_voucher(code, mac=mac, ip=ip), portal.t())

    @app.post("/api/portal/restore")
    @api
    def restore() -> tuple[int, dict[str, Any]]:
        body = read_json()
        mac, ip = portal.device(body)
        receipt, phone = text_field(body, "receipt", 40) or "", text_field(body, "phone", 20) or ""
        portal.check("restore", mac)
        view = cases.restore.restore_or_check(receipt=receipt, phone=phone, mac=mac, ip=ip,
                                              package_id=id_field(body, "package_id"), lang=portal.lang())
        return (202, view) if view.get("status") == "checking" else (200, portal.worded(view, portal.t()))

    @app.get("/api/portal/restore/<restore_id>")
    @api
    def restore_checked(restore_id: str) -> tuple[int, dict[str, Any]]:
        query = bottle.request.query
        view = cases.restore.checked(restore_id[:64], mac=query.getunicode("mac", default="")[:17] or None,
                                     ip=query.getunicode("ip", default="")[:45] or bottle.request.remote_addr)
        return (202, view) if view.get("status") == "checking" else (200, portal.worded(view, portal.t()))

    @app.post("/api/portal/login")
    @api
    def login() -> dict[str, Any]:
        body = read_json()
        mac, ip = portal.device(body)
        username, password = text_field(body, "username", 64) or "", text_field(body, "password", 64) or ""
        portal.check("login", mac)
        return portal.worded(cases.account.login(username=username, password=password, mac=mac, ip=ip),
                             portal.t())

    @app.post("/api/portal/logout")
    @api
    def logout() -> dict[str, Any]:
        body = read_json()
        mac, ip = portal.device(body)
        username, password = text_field(body, "username", 64) or "", text_field(body, "password", 64) or ""
        portal.check("login", mac)
        return cases.account.logout(username=username, password=password, mac=mac, ip=ip)

    @app.get("/api/portal/status")
    @api
    def status() -> dict[str, Any]:
        query = bottle.request.query
        view = cases.account.status(mac=query.getunicode("mac", default="")[:17] or None,
                                    ip=query.getunicode("ip", default="")[:45] or bottle.request.remote_addr)
        return portal.worded(view, portal.t())

    @app.post("/api/portal/trial")
    @api
    def trial() -> dict[str, Any]:
        body = read_json()
        mac, ip = portal.device(body)
        portal.check("trial", mac)
        return portal.worded(cases.trial.start(mac=mac, ip=ip), portal.t())

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
