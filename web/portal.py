"""The captive portal role: pages and JSON for hotspot clients, and Daraja's callbacks.

Everything here faces untrusted input (hotspot clients and the internet). The routes only
translate HTTP into calls on the core's use cases (`hotspotd.customer.checkout`, `.paybill`,
`.restore`, `.trial`, `.account`, `.captive`) and back; what a payment does is decided
there. The page is in English or Swahili (`language.py`), its numbers and times in the
customer's words (`wording.py`); the listener keeps one client from shutting everyone
out (`listener.py`).
"""

from __future__ import annotations

import html
import json
import logging
import sys
import threading
from typing import Any
from urllib.parse import urlencode

import bottle

from hotspotd.customer.checkout import Checkout
from hotspotd.config import Config
from hotspotd.plumbing.role import Role

from . import daraja_routes, language, listener, pleasepay, portal_api, portal_forms
from .assets import Assets
from .jsonapi import TRANSLATE, api, install_common_routes
from .portal_context import TEMPLATES, PortalContext, UseCases
from .redact import Redaction, errors_to_log

log = logging.getLogger(__name__)

YEAR = 365 * 86400
FORM_FIELDS = ("mac", "ip", "link-login-only", "link-orig", "chap-id", "chap-challenge")


def make_app(config: Config, checkout: Checkout, cases: UseCases | None = None) -> bottle.Bottle:
    """The portal app over `checkout` and the other use cases (made over its runtime
    unless given); `app.config["hotspotd.portal"].cases.close()` releases them."""
    app = bottle.Bottle()
    cases = cases or UseCases.around(checkout)
    portal = PortalContext(config, cases)
    assets = Assets("portal.css", "portal.js")
    app.config[TRANSLATE] = lambda message: portal.t().message(message)
    app.config["hotspotd.portal"] = portal
    assets.install(app)
    install_common_routes(app)

    @app.get("/healthz")
    @api
    def healthz() -> dict[str, Any]:
        checkout.ping()
        return {"status": "ok"}

    @app.get("/")
    def landing() -> str:
        request = bottle.request
        lang, remember = language.choose(request.query.get("lang"), request.get_cookie(language.COOKIE),
                                         request.get_header("Accept-Language"))
        if remember:
            bottle.response.set_cookie(language.COOKIE, lang, max_age=YEAR, path="/", samesite="lax")
        t = language.catalogue(lang)
        login = portal.login_vars(request.query)
        site = portal.site()
        # Inside <script>: "</script>" in a value must not end it (the values come from the URL).
        page = {"mac": login["mac"], "ip": login["ip"], "linkLogin": login["link-login-only"],
                "linkOrig": login["link-orig"], "linkLogout": login["link-logout"], "chapId": login["chap-id"],
                "chapChallenge": login["chap-challenge"], "lang": lang, "paybill": config.mpesa.paybill,
                "trial": max(0, config.portal.trial_minutes)}
        # A printed voucher's QR code opens the portal as /?voucher=CODE: the code is filled in.
        voucher = "".join(ch for ch in request.query.getunicode("voucher", default="")[:40] if ch.isalnum() or ch == "-")
        return bottle.template(
            "portal", template_lookup=TEMPLATES, t=t, lang=lang, site=site, login=login, voucher=voucher,
            packages=[portal.described(p, t) for p in site.packages], paybill=config.mpesa.paybill,
            trial=page["trial"], switch=switch_links(login, lang), hidden=hidden_fields(login, lang),
            page_json=json.dumps(page).replace("<", "\\u003c"), texts_json=portal.texts_json(lang),
            css=assets.url("portal.css"), js=assets.url("portal.js"))

    @app.hook("after_request")
    def security_headers() -> None:
        for name, value in portal.security_headers().items():
            bottle.response.set_header(name, value)

    portal_api.install(app, portal)
    portal_forms.install(app, portal, assets)
    daraja_routes.install(app, config, checkout, cases.paybill)
    pleasepay.install(app, config, checkout.rt)  # home subscribers whose period ended (hotspotd.pppoe)
    return app


def switch_links(login: dict[str, str], lang: str) -> list[tuple[str, str, str]]:
    """(code, name, href) for the language switch, keeping the router's variables."""
    kept = {key: value for key, value in login.items() if value and key != "error"}
    return [(code, language.NAMES[code], "/?" + urlencode({**kept, "lang": code})) for code in language.LANGUAGES]


def hidden_fields(login: dict[str, str], lang: str) -> str:
    """The router's variables as hidden form fields, for the forms that work without JavaScript."""
    fields = [(key, login[key]) for key in FORM_FIELDS if login.get(key)] + [("lang", lang)]
    return "".join(f'<input type="hidden" name="{key}" value="{html.escape(value)}">' for key, value in fields)


class PortalRole(Role):
    """The portal process: the portal app behind `listener.GuardedServer`, and with
    `[portal] callback_listen` a second listener for Daraja's callbacks alone."""

    name = "portal"

    def start(self) -> None:
        # The callback writer releases the GIL on every SQLite call; with the default 5 ms
        # switch interval it then waits behind request threads, and a burst convoys on it.
        sys.setswitchinterval(0.0005)
        portal = self.config.portal
        # The callback token is in the callback routes' paths: no log line of this process shows it.
        self.redaction = Redaction([self.config.mpesa.callback_token]).install()
        self.checkout = Checkout(self.runtime)
        self.cases = UseCases.around(self.checkout)
        app = errors_to_log(make_app(self.config, self.checkout, self.cases))
        bounds = dict(per_address=portal.connections_per_address, request_timeout=portal.request_timeout,
                      max_request_body_size=256 * 1024, channel_timeout=30, connection_limit=500,
                      clear_untrusted_proxy_headers=True, ident="hotspotd")
        host, port = portal.listen
        self.server = listener.GuardedServer(app, host=host, port=port, threads=portal.threads, **bounds)
        self.servers = [self.server]
        if portal.callback_listen:
            host, port = portal.callback_listen
            callbacks = errors_to_log(daraja_routes.callback_app(self.config, self.checkout, self.cases.paybill))
            # Daraja calls from a few addresses, in bursts: no per-address bound here.
            self.servers.append(listener.GuardedServer(callbacks, host=host, port=port, threads=8, name="callbacks",
                                                       **{**bounds, "per_address": 1000}))
        for server in self.servers:
            log.info("%s listening on %s:%s", server.name, server.effective_host, server.effective_port)

    def serve(self) -> None:
        loops = [threading.Thread(target=self._loop, args=(server,), name=f"{server.name}-loop", daemon=True)
                 for server in self.servers[1:]]
        for loop in loops:
            loop.start()
        self._loop(self.server)
        for loop in loops:
            loop.join(5)

    def _loop(self, server: listener.GuardedServer) -> None:
        while not self.stopping.is_set():
            listener.serve_once(server)
        server.task_dispatcher.shutdown()

    def stop(self) -> None:
        self.stopping.set()
        for server in getattr(self, "servers", []):
            listener.wake(server)

    def close(self) -> None:
        for server in self.servers:
            server.close()
        self.cases.close()
        self.checkout.close()
        super().close()
        self.redaction.uninstall()
