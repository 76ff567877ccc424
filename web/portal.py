"""The captive portal role: pages and JSON for hotspot clients, and the Daraja callback.

Everything here faces untrusted input (hotspot clients and the internet), so every route
validates, answers JSON errors with a clear message, and never shows a traceback.
The routes only translate HTTP into calls on the core and back.
"""

from __future__ import annotations

import hmac
import json
import logging
from pathlib import Path
from typing import Any, Callable

import bottle
import peewee

from hotspotd import runtime, tasks
from hotspotd.access import normalize_mac
from hotspotd.billing import callbacks, packages, payments, vouchers
from hotspotd.config import Config
from hotspotd.errors import Conflict, HotspotdError, InvalidInput, NotFound, UpstreamError
from hotspotd.mpesa.callback import MAX_BODY
from hotspotd.queue import dispatch
from hotspotd.store.batching import Batcher
from hotspotd.store.db import db, utcnow
from hotspotd.store.models import iso

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}
MAX_JSON = 8 * 1024
LOGIN_VARS = ("mac", "ip", "link-login-only", "link-orig", "error", "chap-id", "chap-challenge")

_STATUS = {InvalidInput: 400, NotFound: 404, Conflict: 409, UpstreamError: 502}


def _json(status: int, body: dict[str, Any]) -> str:
    bottle.response.status = status
    bottle.response.content_type = "application/json"
    bottle.response.set_header("Cache-Control", "no-store")
    return json.dumps(body)


def _read_json(limit: int = MAX_JSON) -> dict[str, Any]:
    length = bottle.request.content_length
    if length > limit:
        raise InvalidInput("request body too large")
    raw = bottle.request.body.read(limit + 1)
    if len(raw) > limit:
        raise InvalidInput("request body too large")
    try:
        value = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("body must be JSON") from None
    if not isinstance(value, dict):
        raise InvalidInput("body must be a JSON object")
    return value


def _text(body: dict[str, Any], key: str, limit: int = 64) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int)) or len(str(value)) > limit:
        raise InvalidInput(f"{key} is not valid")
    return str(value).strip()


def _mac(value: str | None) -> str | None:
    """The device MAC as the router reports it over RADIUS (AA:BB:CC:DD:EE:FF), or None."""
    if not value:
        return None
    mac = normalize_mac(value)
    if mac is None:
        raise InvalidInput("mac is not a device address")
    return mac


def api(route: Callable[..., dict[str, Any] | tuple[int, dict[str, Any]]]) -> Callable[..., str]:
    """Turn core errors into JSON answers with the right status."""

    def handle(*args: Any, **kwargs: Any) -> str:
        try:
            result = route(*args, **kwargs)
        except HotspotdError as exc:
            status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 500)
            if status == 500:
                log.exception("error in %s", bottle.request.path)
                return _json(500, {"error": "Something went wrong, please try again"})
            return _json(status, {"error": str(exc)})
        except peewee.OperationalError as exc:  # disk full, database locked for too long
            log.critical("storage unavailable in %s: %s", bottle.request.path, exc)
            return _json(503, {"error": "The hotspot cannot take this request right now; try again in a minute"})
        status, body = result if isinstance(result, tuple) else (200, result)
        return _json(status, body)

    handle.__name__ = route.__name__
    return handle


def _enqueue_applies(outcomes: list[callbacks.CallbackOutcome]) -> None:
    received = [o.payment_id for o in outcomes if o.apply]
    if received:
        dispatch(tasks.apply_payments, received)


def make_app(config: Config) -> bottle.Bottle:
    app = bottle.Bottle()
    templates = [str(HERE / "templates")]
    token = config.mpesa.callback_token.encode()
    recorder = Batcher(callbacks.record_callbacks, after_commit=_enqueue_applies, name="callback-writer")

    @app.error(404)
    @app.error(405)
    @app.error(500)
    def _error(err: bottle.HTTPError) -> str:
        if err.status_code == 500:
            log.error("unhandled error on %s: %s", bottle.request.path, err.exception)
        messages = {404: "Not found", 405: "Method not allowed", 500: "Something went wrong"}
        bottle.response.content_type = "application/json"
        return json.dumps({"error": messages.get(err.status_code, err.status_line)})

    @app.get("/healthz")
    def healthz() -> str:
        db.execute_sql("SELECT 1")
        return _json(200, {"status": "ok"})

    @app.get("/")
    def landing() -> str:
        query = bottle.request.query
        login = {key: query.getunicode(key, default="")[:512] for key in LOGIN_VARS}
        if not login["link-login-only"].lower().startswith(("http://", "https://")):
            login["link-login-only"] = ""  # the router's login URL, or nothing (no javascript: URLs)
        # Inside <script>: "</script>" in a value must not end it (the values come from the URL).
        login_json = json.dumps(login).replace("<", "\\u003c")
        return bottle.template("portal", template_lookup=templates, site=config.site.name,
                               packages=[packages.package_dict(p) for p in packages.list_packages()],
                               login=login, login_json=login_json)

    @app.get("/static/<name:path>")
    def static(name: str):
        return bottle.static_file(name, root=str(HERE / "static"))

    @app.get("/api/portal/packages")
    @api
    def package_list() -> dict[str, Any]:
        return {"packages": [packages.package_dict(p) for p in packages.list_packages()]}

    @app.post("/api/portal/pay")
    @api
    def pay() -> tuple[int, dict[str, Any]]:
        body = _read_json()
        if body.get("package_id") is None or not body.get("phone"):
            raise InvalidInput("choose a package and enter your phone number")
        payment = payments.initiate(
            package_id=body.get("package_id"), phone=_text(body, "phone", 20) or "",
            mac=_mac(_text(body, "mac", 17)), ip=_text(body, "ip", 45) or bottle.request.remote_addr,
            daraja=runtime.daraja(), callback_url=config.callback_url,
            account_reference=config.mpesa.account_reference, now=utcnow(),
        )
        if payment.status == "received":  # its callback raced ahead and was adopted
            dispatch(tasks.apply_payments, [payment.id])
        return 202, {"payment_id": payment.ref, "status": "pending" if payment.status == "received" else payment.status}

    @app.get("/api/portal/payments/<ref>")
    @api
    def payment_status(ref: str) -> dict[str, Any]:
        payment = payments.find_by_ref(ref)
        if payment is None:
            raise NotFound("No such payment")
        query = bottle.request.query
        return payments.portal_view(payment, mac=normalize_mac(query.getunicode("mac", default="")[:17]),
                                    ip=query.getunicode("ip", default="")[:45] or bottle.request.remote_addr)

    @app.post("/api/portal/voucher")
    @api
    def voucher() -> dict[str, Any]:
        body = _read_json()
        redeemed = vouchers.redeem(_text(body, "code", 40) or "", mac=_mac(_text(body, "mac", 17)),
                                   ip=_text(body, "ip", 45) or bottle.request.remote_addr, now=utcnow())
        dispatch(tasks.provision_subscriptions, [redeemed.subscription_id])
        return {"username": redeemed.username, "password": redeemed.password,
                "expires_at": iso(redeemed.expires_at)}

    @app.post("/api/payments/stk-callback/<given>")
    def stk_callback(given: str) -> str:
        if not token or not hmac.compare_digest(given.encode(), token):
            return _json(404, {"error": "Not found"})
        if bottle.request.content_length > MAX_BODY:
            return _json(413, {"ResultCode": 1, "ResultDesc": "Body too large"})
        body = bottle.request.body.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return _json(413, {"ResultCode": 1, "ResultDesc": "Body too large"})
        # Answered only after the batch holding this callback is committed.
        try:
            outcome = recorder.submit(callbacks.IncomingCallback(body, bottle.request.remote_addr, utcnow()))
        except Exception as exc:  # not recorded (disk full?): say so, and Daraja or the reconciler's query will retry
            log.critical("M-Pesa callback not recorded: %s", exc)
            return _json(503, {"ResultCode": 1, "ResultDesc": "Temporarily unavailable, retry later"})
        if outcome.outcome == "malformed":
            return _json(400, {"ResultCode": 1, "ResultDesc": f"Rejected: {outcome.error}"})
        return _json(200, ACCEPTED)

    return app


def serve(config: Config) -> int:
    """Run the portal role until SIGTERM/SIGINT (waitress; callbacks answered after commit)."""
    import signal
    import sys

    import waitress

    from hotspotd.queue import configure as configure_queue
    from hotspotd.store import open_store

    # The callback writer releases the GIL on every SQLite call; with the default 5 ms
    # switch interval it then waits behind request threads, and a burst convoys on it.
    sys.setswitchinterval(0.0005)
    open_store(config)
    runtime.configure(config)
    configure_queue(config.queue_db_path, default_mode=config.queue.mode,
                    fsync=config.store.synchronous == "full")
    host, port = config.portal.listen
    server = waitress.create_server(
        make_app(config), host=host, port=port, threads=config.portal.threads,
        max_request_body_size=256 * 1024, channel_timeout=30, connection_limit=500,
        clear_untrusted_proxy_headers=True, ident="hotspotd",
    )

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("portal listening on %s:%s", host, server.effective_port)
    server.run()
    return 0
