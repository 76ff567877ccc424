"""Logging in and out of the console, and who the page belongs to (/api/admin/me).

`POST /login` takes form fields `username` and `password` (the login page) or the same as
JSON (scripts): the form gets a redirect, JSON gets `{username, role, csrf_token}`; both
get the `hotspotd_admin` cookie (HttpOnly, SameSite=Strict, Secure over TLS). Too many
failures: 429 with Retry-After, before any password is checked.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import bottle

from hotspotd.console import admins
from hotspotd import events
from hotspotd.config import Config
from hotspotd.errors import InvalidInput
from hotspotd.settings import site_settings
from hotspotd.store.db import utcnow

from ..jsonapi import answer, api, read_json, text_field
from .auth import (AUDIT_SELF, COOKIE, LOGIN_KEY, Hasher, LoginThrottle, actor, client_address, current_login,
                   safe_next, same_origin)

TEMPLATES = [str(Path(__file__).resolve().parents[1] / "templates")]


def _wants_json() -> bool:
    return bottle.request.content_type.startswith("application/json")


def _page(config: Config, error: str = "", next_path: str = "/", username: str = "", status: int = 200) -> str:
    bottle.response.status = status
    bottle.response.set_header("Cache-Control", "no-store")
    return bottle.template("admin_login", template_lookup=TEMPLATES, site=site_settings(config).name, error=error,
                           next_path=next_path, username=username)


def _set_cookie(token: str, max_age: float) -> None:
    secure = bottle.request.urlparts.scheme == "https"
    bottle.response.set_cookie(COOKIE, token, path="/", httponly=True, samesite="strict", secure=secure,
                               max_age=int(max_age))


def install(app: bottle.Bottle, config: Config, hasher: Hasher, throttle: LoginThrottle) -> None:
    @app.get("/login", open=True)
    def login_page() -> Any:
        next_path = safe_next(bottle.request.query.getunicode("next", default="/"))
        if app.config["hotspotd.guard"].login(bottle.request.environ) is not None:
            return bottle.redirect(next_path, 303)
        return _page(config, next_path=next_path)

    @app.post("/login", open=True)
    def login() -> Any:
        environ = bottle.request.environ
        as_json = _wants_json()
        if as_json:
            try:
                body = read_json()
                username, password = text_field(body, "username") or "", body.get("password")
            except InvalidInput as exc:
                return answer(400, {"error": str(exc)})
            next_path = "/"
        else:
            forms = bottle.request.forms
            username, password = forms.getunicode("username", default=""), forms.getunicode("password", default="")
            next_path = safe_next(forms.getunicode("next", default="/"))
        if not isinstance(password, str) or not username or not password:
            message = "Type your username and password."
            return answer(400, {"error": message}) if as_json else _page(config, message, next_path, username, 400)
        if not same_origin(environ):
            return answer(403, {"error": "cross-origin login refused"})
        address = client_address(environ)
        wait = throttle.wait(username, address)
        if wait > 0:
            seconds = math.ceil(wait)
            bottle.response.set_header("Retry-After", str(seconds))
            message = (f"Too many failed logins: try again in {seconds} s." if seconds < 120 else
                       f"Too many failed logins: locked for {math.ceil(seconds / 60)} minutes.")
            return answer(429, {"error": message}) if as_json else _page(config, message, next_path, username, 429)
        user = admins.authenticate(username, password, check=hasher.check)
        if user is None:
            throttle.failed(username, address)
            message = "Wrong username or password."
            return answer(401, {"error": message}) if as_json else _page(config, message, next_path, username, 401)
        throttle.succeeded(username, address)
        changes = app.config["hotspotd.guard"].changes  # a login writes an audit entry: it is a change
        if not changes.allow(user.username):
            seconds = max(1, math.ceil(changes.retry_after(user.username)))
            bottle.response.set_header("Retry-After", str(seconds))
            message = f"Too many logins at once: try again in {seconds} s."
            return answer(429, {"error": message}) if as_json else _page(config, message, next_path, username, 429)
        token, started = admins.start_login(user, utcnow(), remote_addr=address,
                                            user_agent=environ.get("HTTP_USER_AGENT"))
        _set_cookie(token, config.admin.session_max)
        environ[LOGIN_KEY] = started
        if as_json:
            return answer(200, {"username": started.username, "role": started.role.value,
                                "csrf_token": started.csrf_token})
        return bottle.redirect(next_path, 303)

    @app.post("/logout", role="operator", audit=AUDIT_SELF)
    def logout() -> Any:
        login = current_login()
        admins.end_login(login, utcnow(), remote_addr=client_address(bottle.request.environ))
        bottle.response.delete_cookie(COOKIE, path="/")
        if _wants_json():
            return answer(200, {"status": "logged out"})
        return bottle.redirect("/login", 303)

    @app.get("/api/admin/me")
    @api
    def me() -> dict[str, Any]:
        login = current_login()
        last = events.latest(1)
        return {"username": login.username, "role": login.role.value, "csrf_token": login.csrf_token,
                "site": site_settings(config).as_dict(), "portal_url": config.portal.public_url,
                "last_event_id": last[0]["id"] if last else 0}

    @app.post("/api/admin/me/password", role="operator", audit=AUDIT_SELF)
    @api
    def my_password() -> dict[str, Any]:
        body = read_json()
        login = current_login()
        current, new = body.get("current"), body.get("new")
        if not isinstance(current, str) or not isinstance(new, str):
            raise InvalidInput("give the current and the new password")
        if admins.authenticate(login.username, current, check=hasher.check) is None:
            raise InvalidInput("the current password is wrong")
        admins.set_password(login.username, new, utcnow(), by=actor())
        bottle.response.delete_cookie(COOKIE, path="/")
        return {"status": "password changed: log in again"}
