"""The captive portal role: pages and JSON for hotspot clients, and the Daraja callback.

Everything here faces untrusted input (hotspot clients and the internet). The routes only
translate HTTP into calls on `hotspotd.checkout.Checkout` and back; what a payment does
is decided there.
"""

from __future__ import annotations

import hmac
import json
import logging
import sys
from pathlib import Path
from typing import Any

import bottle

from hotspotd.checkout import Checkout
from hotspotd.config import Config
from hotspotd.errors import InvalidInput, StorageUnavailable
from hotspotd.mpesa.callback import MAX_BODY
from hotspotd.role import Role

from .jsonapi import answer, api, install_common_routes, read_json, text_field

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}
LOGIN_VARS = ("mac", "ip", "link-login-only", "link-orig", "error", "chap-id", "chap-challenge")


def make_app(config: Config, checkout: Checkout) -> bottle.Bottle:
    app = bottle.Bottle()
    templates = [str(HERE / "templates")]
    token = config.mpesa.callback_token.encode()
    install_common_routes(app)

    @app.get("/healthz")
    @api
    def healthz() -> dict[str, Any]:
        checkout.ping()
        return {"status": "ok"}

    @app.get("/")
    def landing() -> str:
        query = bottle.request.query
        login = {key: query.getunicode(key, default="")[:512] for key in LOGIN_VARS}
        if not login["link-login-only"].lower().startswith(("http://", "https://")):
            login["link-login-only"] = ""  # the router's login URL, or nothing (no javascript: URLs)
        # Inside <script>: "</script>" in a value must not end it (the values come from the URL).
        login_json = json.dumps(login).replace("<", "\\u003c")
        try:
            offered = checkout.packages()
        except StorageUnavailable:
            offered = []
        return bottle.template("portal", template_lookup=templates, site=config.site.name, packages=offered,
                               login=login, login_json=login_json)

    @app.get("/api/portal/packages")
    @api
    def package_list() -> dict[str, Any]:
        return {"packages": checkout.packages()}

    @app.post("/api/portal/pay")
    @api
    def pay() -> tuple[int, dict[str, Any]]:
        body = read_json()
        if body.get("package_id") is None or not body.get("phone"):
            raise InvalidInput("choose a package and enter your phone number")
        return 202, checkout.pay(package_id=body.get("package_id"), phone=text_field(body, "phone", 20) or "",
                                 mac=text_field(body, "mac", 17),
                                 ip=text_field(body, "ip", 45) or bottle.request.remote_addr)

    @app.get("/api/portal/payments/<ref>")
    @api
    def payment_status(ref: str) -> dict[str, Any]:
        query = bottle.request.query
        return checkout.payment_status(ref, mac=query.getunicode("mac", default="")[:17],
                                       ip=query.getunicode("ip", default="")[:45] or bottle.request.remote_addr)

    @app.post("/api/portal/voucher")
    @api
    def voucher() -> dict[str, Any]:
        body = read_json()
        return checkout.redeem_voucher(text_field(body, "code", 40) or "", mac=text_field(body, "mac", 17),
                                       ip=text_field(body, "ip", 45) or bottle.request.remote_addr)

    @app.post("/api/payments/stk-callback/<given>")
    def stk_callback(given: str) -> str:
        if not token or not hmac.compare_digest(given.encode(), token):
            return answer(404, {"error": "Not found"})
        if bottle.request.content_length > MAX_BODY:
            return answer(413, {"ResultCode": 1, "ResultDesc": "Body too large"})
        body = bottle.request.body.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return answer(413, {"ResultCode": 1, "ResultDesc": "Body too large"})
        try:  # answered only after the batch holding this callback is committed
            outcome = checkout.receive_callback(body, bottle.request.remote_addr)
        except StorageUnavailable as exc:  # Daraja, or the reconciler's query, will try again
            return answer(503, {"ResultCode": 1, "ResultDesc": str(exc)})
        if outcome.outcome == "malformed":
            return answer(400, {"ResultCode": 1, "ResultDesc": f"Rejected: {outcome.error}"})
        return answer(200, ACCEPTED)

    return app


class PortalRole(Role):
    """The portal process: waitress serving the portal app (callbacks answered after commit)."""

    name = "portal"

    def start(self) -> None:
        import waitress

        # The callback writer releases the GIL on every SQLite call; with the default 5 ms
        # switch interval it then waits behind request threads, and a burst convoys on it.
        sys.setswitchinterval(0.0005)
        self.checkout = Checkout(self.runtime)
        host, port = self.config.portal.listen
        self.server = waitress.create_server(
            make_app(self.config, self.checkout), host=host, port=port, threads=self.config.portal.threads,
            max_request_body_size=256 * 1024, channel_timeout=30, connection_limit=500,
            clear_untrusted_proxy_headers=True, ident="hotspotd",
        )
        log.info("portal listening on %s:%s", host, self.server.effective_port)

    def serve(self) -> None:
        server = self.server
        while not self.stopping.is_set():
            server.asyncore.loop(timeout=1.0, map=server._map, use_poll=True, count=1)
        server.task_dispatcher.shutdown()

    def stop(self) -> None:
        self.stopping.set()
        if hasattr(self, "server"):
            self.server.trigger.pull_trigger()  # wake the loop now

    def close(self) -> None:
        self.server.close()
        self.checkout.close()
        super().close()
