"""Daraja's calls to the portal: the STK callback, the C2B (Paybill) validation and
confirmation, and the results of hotspotd's Transaction Status and Reversal requests (the
ResultURL and the QueueTimeOutURL), each behind the secret path segment `[mpesa]
callback_token`; and, behind the same secret, the SMS gateway's delivery reports
(`sms_routes`).

They are installed on the portal app and, with `[portal] callback_listen`, on an app of
their own served by a second listener (`callback_app`). Answers follow docs/protocols.md
§5.4, §5.8 and §5.9: 200 only once a callback or confirmation is committed (duplicates included),
404 for a wrong token, 400 for a malformed body (a sample of them is kept for inspection:
`hotspotd.store.sampling`), 413 for a body over 64 KiB, 503 when it could not be recorded
(an STK result is found again by the reconciler's STK query; Safaricom publishes no retry
policy, so nothing promises that a C2B confirmation answered 503 comes back, §5.9).
"""

from __future__ import annotations

import hmac
from typing import Callable

import bottle

from hotspotd.customer.checkout import Checkout
from hotspotd.config import Config
from hotspotd.errors import StorageUnavailable
from hotspotd.mpesa.c2b import ACKNOWLEDGED, OTHER_ERROR, refuse
from hotspotd.mpesa.callback import MAX_BODY
from hotspotd.customer.paybill import Paybill
from hotspotd.customer.results import Results

from . import sms_routes
from .jsonapi import answer, api, install_common_routes

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}
TOO_LARGE = {"ResultCode": 1, "ResultDesc": "Body too large"}


def _body() -> bytes | None:
    """The request body, or None when it is larger than Daraja ever sends."""
    if bottle.request.content_length > MAX_BODY:
        return None
    body = bottle.request.body.read(MAX_BODY + 1)
    return None if len(body) > MAX_BODY else body


def install(app: bottle.Bottle, config: Config, checkout: Checkout, paybill: Paybill,
            results: Results | None = None) -> None:
    token = config.mpesa.callback_token.encode()
    results = results or Results(checkout.rt)

    def guarded(route: Callable[[bytes], str]) -> Callable[[str], str]:
        def handle(given: str) -> str:
            if not token or not hmac.compare_digest(given.encode(), token):
                return answer(404, {"error": "Not found"})
            body = _body()
            if body is None:
                return answer(413, TOO_LARGE)
            return route(body)

        handle.__name__ = route.__name__
        return handle

    @app.post("/api/payments/stk-callback/<given>")
    @guarded
    def stk_callback(body: bytes) -> str:
        try:  # answered only after the batch holding this callback is committed
            outcome = checkout.receive_callback(body, bottle.request.remote_addr)
        except StorageUnavailable as exc:  # Daraja, or the reconciler's query, will try again
            return answer(503, {"ResultCode": 1, "ResultDesc": str(exc)})
        if outcome.outcome == "malformed":
            return answer(400, {"ResultCode": 1, "ResultDesc": f"Rejected: {outcome.error}"})
        return answer(200, ACCEPTED)

    @app.post("/api/payments/c2b-validation/<given>")
    @guarded
    def c2b_validation(body: bytes) -> str:
        try:
            return answer(200, paybill.validate(body))
        except StorageUnavailable:  # cannot tell: refuse rather than take money we may not match
            return answer(200, refuse(OTHER_ERROR))

    @app.post("/api/payments/c2b-confirmation/<given>")
    @guarded
    def c2b_confirmation(body: bytes) -> str:
        try:  # answered only after the batch holding this confirmation is committed
            outcome = paybill.confirm(body, bottle.request.remote_addr)
        except StorageUnavailable as exc:
            return answer(503, {"ResultCode": 1, "ResultDesc": str(exc)})
        if outcome.outcome == "malformed":
            return answer(400, {"ResultCode": 1, "ResultDesc": f"Rejected: {outcome.error}"})
        return answer(200, ACKNOWLEDGED)

    def result(body: bytes, timed_out: bool) -> str:
        try:  # answered only after the result is committed and acted on
            outcome = results.receive(body, bottle.request.remote_addr, timed_out=timed_out)
        except StorageUnavailable as exc:
            return answer(503, {"ResultCode": 1, "ResultDesc": str(exc)})
        if outcome.outcome == "malformed":
            return answer(400, {"ResultCode": 1, "ResultDesc": f"Rejected: {outcome.error}"})
        return answer(200, ACCEPTED)

    @app.post("/api/payments/result/<given>")
    @guarded
    def initiator_result(body: bytes) -> str:
        return result(body, False)

    @app.post("/api/payments/timeout/<given>")
    @guarded
    def initiator_timeout(body: bytes) -> str:
        return result(body, True)

    sms_routes.install(app, guarded)


def callback_app(config: Config, checkout: Checkout, paybill: Paybill) -> bottle.Bottle:
    """Only Daraja's routes and /healthz: the app of the callback listener."""
    app = bottle.Bottle()
    install_common_routes(app)

    @app.get("/healthz")
    @api
    def healthz() -> dict[str, str]:
        checkout.ping()
        return {"status": "ok"}

    install(app, config, checkout, paybill)
    return app
