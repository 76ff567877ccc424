"""The operator's side of the receiver: a login page, the overview page and its JSON.

A login is an operator account at the receiver (`hotspotd central admin add USER`); the
browser gets a session cookie (HttpOnly, SameSite=Strict), scripts may send HTTP Basic
instead, as to the admin page. Failed logins are rate limited per address.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import bottle

from hotspotd.central.receiver import Receiver
from hotspotd.plumbing.ratelimit import RateLimit

from .. import jsonapi

COOKIE = "hotspotd_central"
TEMPLATES = [str(Path(__file__).resolve().parents[1] / "templates")]


def _basic(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    try:
        username, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
    except ValueError:
        return None
    return username, password


def install(app: bottle.Bottle, receiver: Receiver) -> None:
    attempts = RateLimit(rate=0.2, burst=10)  # per address: 10 tries, then one every 5 s

    def operator() -> str | None:
        user = receiver.operator(bottle.request.get_cookie(COOKIE))
        if user is None:
            given = _basic(bottle.request.headers.get("Authorization", ""))
            address = bottle.request.remote_addr
            if given and attempts.allow(address) and receiver.check_login(*given):
                user = given[0]
        return user

    def page(error: str = "", status: int = 200) -> str:
        bottle.response.status = status
        bottle.response.set_header("Cache-Control", "no-store")
        return bottle.template("central_login", template_lookup=TEMPLATES, error=error)

    @app.get("/login")
    def login_form() -> str:
        return page()

    @app.post("/login")
    def login() -> Any:
        address = bottle.request.remote_addr
        if not attempts.allow(address):
            return page(f"Too many tries; wait {attempts.retry_after(address):.0f} s", 429)
        form = bottle.request.forms
        token = receiver.login(form.getunicode("username", default="")[:64],
                               form.getunicode("password", default="")[:200])
        if token is None:
            return page("Wrong name or password", 401)
        attempts.forget(address)
        bottle.response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                                   secure=bottle.request.urlparts.scheme == "https", max_age=12 * 3600)
        bottle.redirect("/", 303)

    @app.post("/logout")
    def logout() -> None:
        receiver.logout(bottle.request.get_cookie(COOKIE))
        bottle.response.delete_cookie(COOKIE, path="/")
        bottle.redirect("/login", 303)

    @app.get("/api/central/overview")
    @jsonapi.api
    def overview_json() -> Any:
        if operator() is None:
            return 401, {"error": "login required"}
        return receiver.overview()

    @app.get("/")
    def overview_page() -> Any:
        user = operator()
        if user is None:
            bottle.redirect("/login", 303)
        bottle.response.set_header("Cache-Control", "no-store")
        return bottle.template("central", template_lookup=TEMPLATES, view=receiver.overview(), user=user,
                               name=receiver.config.site.name)
