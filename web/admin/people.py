"""Customers and their subscriptions, who is online now, and console accounts.

Two ways to end a session: `POST /api/admin/sessions/<id>/disconnect` here, for a session
of the record (`GET /api/admin/sessions`, RADIUS accounting: a Disconnect-Request to its
router), and the router module's `POST /api/admin/sessions/<id>/kick` for a session as a
router lists it (the Routers page).
"""

from __future__ import annotations

from typing import Any

import bottle

from hotspotd.console import admins, customers
from hotspotd.console.actions import Console
from hotspotd.errors import InvalidInput
from hotspotd.store.db import utcnow

from ..jsonapi import api, read_json, text_field
from .auth import AUDIT_SELF, actor, current_login
from .lists import page_of, page_of_all, text_arg


def install(app: bottle.Bottle, console: Console) -> None:
    @app.get("/api/admin/customers")
    @api
    def customer_list() -> dict[str, Any]:
        q = text_arg("q", 64)
        return page_of(lambda page, per_page: customers.search(q, utcnow(), page, per_page))

    @app.get("/api/admin/customers/<customer_id:int>")
    @api
    def customer_detail(customer_id: int) -> dict[str, Any]:
        return customers.detail(customer_id, utcnow())

    @app.post("/api/admin/customers/<customer_id:int>/suspend", role="operator", audit=AUDIT_SELF)
    @api
    def suspend(customer_id: int) -> dict[str, Any]:
        body = read_json()
        kicked = console.suspend(customer_id, by=actor(), reason=text_field(body, "reason", 200) or "")
        return {"sessions_disconnecting": kicked, **customers.detail(customer_id, utcnow())}

    @app.post("/api/admin/customers/<customer_id:int>/resume", role="operator", audit=AUDIT_SELF)
    @api
    def resume(customer_id: int) -> dict[str, Any]:
        console.resume(customer_id, by=actor())
        return customers.detail(customer_id, utcnow())

    @app.post("/api/admin/customers/<customer_id:int>/credentials", role="operator", audit=AUDIT_SELF)
    @api
    def credentials(customer_id: int) -> dict[str, Any]:
        return console.credentials(customer_id, by=actor())

    @app.post("/api/admin/customers/<customer_id:int>/phone", role="operator", audit=AUDIT_SELF)
    @api
    def phone(customer_id: int) -> dict[str, Any]:
        return {"phone": console.reveal_phone(customer_id, by=actor())}

    @app.post("/api/admin/subscriptions/<subscription_id:int>/extend", role="operator", audit=AUDIT_SELF)
    @api
    def extend(subscription_id: int) -> dict[str, Any]:
        body = read_json()
        return console.extend(subscription_id, body.get("seconds"), by=actor(),
                              reason=text_field(body, "reason", 200) or "")

    @app.get("/api/admin/sessions")
    @api
    def online() -> dict[str, Any]:
        return page_of(lambda page, per_page: customers.online(utcnow(), page, per_page), 100)

    @app.post("/api/admin/sessions/<session_id:int>/disconnect", role="operator", audit=AUDIT_SELF)
    @api
    def disconnect(session_id: int) -> tuple[int, dict[str, Any]]:
        return 202, console.disconnect(session_id, by=actor())

    # -- console accounts (admins only)

    @app.get("/api/admin/admins", role="admin")
    @api
    def account_list() -> dict[str, Any]:
        return page_of_all(admins.list_admins())

    @app.post("/api/admin/admins", audit=AUDIT_SELF)
    @api
    def account_add() -> tuple[int, dict[str, Any]]:
        body = read_json()
        password = body.get("password")
        if not isinstance(password, str):
            raise InvalidInput("a password is needed")
        user = admins.add_admin(text_field(body, "username") or "", password, utcnow(),
                                role=text_field(body, "role", 10) or "operator", by=actor())
        return 201, admins.account_dict(user)

    @app.post("/api/admin/admins/<username>/password", audit=AUDIT_SELF)
    @api
    def account_password(username: str) -> dict[str, Any]:
        password = read_json().get("password")
        if not isinstance(password, str):
            raise InvalidInput("a password is needed")
        admins.set_password(username, password, utcnow(), by=actor())
        return {"status": f"password of {username} changed; its logins ended"}

    @app.post("/api/admin/admins/<username>/role", audit=AUDIT_SELF)
    @api
    def account_role(username: str) -> dict[str, Any]:
        admins.set_role(username, text_field(read_json(), "role", 10) or "", utcnow(), by=actor())
        return {"status": f"{username} is now {read_json().get('role')}"}

    @app.post("/api/admin/admins/<username>/remove", audit=AUDIT_SELF)
    @api
    def account_remove(username: str) -> dict[str, Any]:
        if username == current_login().username:
            raise InvalidInput("you cannot remove the account you are logged in with")
        admins.remove_admin(username, utcnow(), by=actor())
        return {"status": f"{username} removed"}
