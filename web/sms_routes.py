"""The SMS gateway's delivery reports, on the portal: `POST /api/sms/report/<token>`
(`[mpesa] callback_token`, the same secret path as Daraja's calls; set the URL in Africa's
Talking's dashboard as the delivery reports callback). A report is recorded before the
answer: 200 once recorded (a report for no text of ours too, counted, so the gateway does
not keep sending it), 400 when it cannot be read (counted), 503 when it could not be
recorded (the gateway tries again).
"""

from __future__ import annotations

from typing import Callable

import bottle

from hotspotd.errors import StorageUnavailable
from hotspotd.sms.outbox import record_report
from hotspotd.store.db import storage_errors, utcnow

from .jsonapi import answer


def install(app: bottle.Bottle, guarded: Callable[[Callable[[bytes], str]], Callable[[str], str]]) -> None:
    """`guarded`: the secret-path check of Daraja's routes (404 for a wrong token, 413)."""

    @app.post("/api/sms/report/<given>")
    @guarded
    def sms_report(body: bytes) -> str:
        try:
            with storage_errors("SMS delivery report"):
                outcome = record_report(body, bottle.request.remote_addr, utcnow())
        except StorageUnavailable as exc:
            return answer(503, {"error": str(exc)})
        if outcome == "malformed":
            return answer(400, {"error": "not a delivery report"})
        return answer(200, {"status": outcome})
