"""An Africa's Talking SMS gateway for the demo and the tests, written from docs/protocols.md
("Africa's Talking SMS"), not from hotspotd's client.

`POST /version1/messaging` takes the form fields `username`, `to`, `message`, `from`,
`bulkSMSMode`, `enqueue` with the `apiKey` header, records the message (`messages`,
`GET /__sim__/messages`), and answers as the gateway does: `SMSMessageData` with a summary
line and one entry per recipient (statusCode 101 "Success", a messageId, a cost; 403
InvalidPhoneNumber for a number that is not +digits). A delivery report per accepted
recipient is then POSTed, form-urlencoded, to `report_url` (the gateway's dashboard
setting) after `report_delay` seconds: `id`, `status`, `phoneNumber`, `networkCode`, and
`failureReason` when it failed.

Switches (methods, or `POST /__sim__/...`): `set_failure("refuse" | "unauthorized" |
"server_error" | "slow" | "none", times=N)`; `refuse_number(phone, status_code)`;
`set_delivery(phone, status, failure_reason)`. What is not published is the simulator's
choice: HTTP 201 for a send, the texts of error answers, the cost (KES 0.8000 a part),
"None" as the messageId of a refused recipient.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import urllib.request
from collections import deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from ...phone import mask
from ..daraja.outbound import OPENER
from ..served import ServedSimulator

log = logging.getLogger(__name__)

SEND_PATH = "/version1/messaging"
STATUS_NAMES = {100: "Processed", 101: "Success", 102: "Queued", 401: "RiskHold", 402: "InvalidSenderId",
                403: "InvalidPhoneNumber", 404: "UnsupportedNumberType", 405: "InsufficientBalance",
                406: "UserInBlacklist", 407: "CouldNotRoute", 409: "DoNotDisturbRejection",
                500: "InternalServerError", 501: "GatewayError", 502: "RejectedByGateway"}
FAILURES = ("none", "refuse", "unauthorized", "server_error", "slow")
_NUMBER = re.compile(r"\+\d{1,3}\d{3,}")  # as the gateway's own SDK checks a number
PART = 160
Answer = tuple[int, Any]  # status, a JSON-able body (a str is sent as text)


class _Handler(BaseHTTPRequestHandler):
    """Reads the request, asks the simulator, writes the answer; never lets an error escape."""

    server_version = "SmsSimulator/1"

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if 0 <= length <= 1 << 20 else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            sim = self.server.sim  # type: ignore[attr-defined]
            status, answer = sim.handle(self.command, self.path, headers, body)
        except Exception:
            log.exception("SMS simulator failed on %s %s", self.command, self.path)
            status, answer = 500, "Internal Server Error"
        text = isinstance(answer, str)
        data = answer.encode() if text else json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8" if text else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (after its own timeout, say)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class SmsSimulator(ServedSimulator):
    """An in-process gateway on 127.0.0.1; `start()` it, point a client's base_url at `url`."""

    handler = _Handler
    name = "SMS simulator"

    def __init__(self, *, username: str = "sim-user", api_key: str = "sim-api-key", report_url: str = "",
                 report_delay: float = 0.2, host: str = "127.0.0.1", port: int = 0) -> None:
        self.username, self.api_key = username, api_key
        self.report_url, self.report_delay = report_url, report_delay
        self._initial = {"report_url": report_url, "report_delay": report_delay}
        self._serve_on(host, port)
        self.messages: list[dict[str, Any]] = []  # every accepted send
        self.reports: list[dict[str, Any]] = []  # every delivery report POSTed: fields, status, answer
        self._failures: deque[tuple[str, float, int]] = deque()  # one-shots: kind, seconds, status
        self._failure: tuple[str, float, int] = ("none", 0.0, 0)
        self._refused: dict[str, int] = {}  # +number -> statusCode
        self._delivery: dict[str | None, tuple[str, str]] = {}  # +number or None -> (status, failureReason)

    # -- switches --------------------------------------------------------------------

    def set_failure(self, kind: str, *, times: int | None = None, seconds: float = 5.0, status: int = 500) -> None:
        """How later sends fail: "refuse" (every recipient refused, statusCode 405
        InsufficientBalance), "unauthorized" (HTTP 401), "server_error" (HTTP `status`, 5xx),
        "slow" (answer after `seconds`), "none". With `times` only the next N sends."""
        if kind not in FAILURES:
            raise ValueError(f"unknown failure {kind!r}; choose one of {', '.join(FAILURES)}")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise ValueError("times is a whole number, at least 1")
        with self._lock:
            if times is None:
                self._failures.clear()
                self._failure = (kind, float(seconds), int(status))
            else:
                self._failures.extend([(kind, float(seconds), int(status))] * times)

    def refuse_number(self, phone: str, status_code: int = 406) -> None:
        """Sends to `phone` are refused with `status_code` (406 UserInBlacklist by default)."""
        if status_code not in STATUS_NAMES or status_code < 400:
            raise ValueError(f"a refusal is one of {sorted(c for c in STATUS_NAMES if c >= 400)}")
        with self._lock:
            self._refused[_plus(phone)] = status_code

    def set_delivery(self, phone: str | None, status: str = "Success", failure_reason: str = "") -> None:
        """The delivery report for `phone` (None: every number) says `status`."""
        with self._lock:
            self._delivery[None if phone is None else _plus(phone)] = (status, failure_reason)

    def reset(self) -> None:
        """Back to the settings the simulator was made with; what happened is kept."""
        with self._lock:
            self._failures.clear()
            self._failure = ("none", 0.0, 0)
            self._refused.clear()
            self._delivery.clear()
            for name, value in self._initial.items():
                setattr(self, name, value)

    def wait_for_reports(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.reports) >= n, timeout):
                raise TimeoutError(f"{len(self.reports)} delivery report(s) within {timeout} s, expected {n}")
            return list(self.reports)

    # -- the gateway -----------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """Answer one HTTP request: (status, body)."""
        route = (method, urlsplit(path).path)
        if route[1].startswith("/__sim__/"):
            return self._control(route, body)
        if route[1] != SEND_PATH:
            return 404, "Not Found"
        if method != "POST":
            return 405, "Method Not Allowed"
        with self._lock:
            kind, seconds, status = self._failures.popleft() if self._failures else self._failure
        if kind == "slow":
            self._stopping.wait(seconds)
        if kind == "unauthorized" or headers.get("apikey") != self.api_key:
            return 401, "The supplied authentication is invalid"
        if kind == "server_error":
            return status, "Internal Server Error"
        if "x-www-form-urlencoded" not in headers.get("content-type", ""):
            return 400, "Request body must be form-urlencoded"
        try:
            fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        except UnicodeDecodeError:
            return 400, "Request body is not UTF-8"
        for name in ("username", "to", "message"):
            if not fields.get(name):
                return 400, f"Request is missing required form field '{name}'"
        if fields["username"] != self.username:
            return 401, "The supplied authentication is invalid"
        return self._send(fields, refuse=kind == "refuse")

    def _send(self, fields: dict[str, str], *, refuse: bool) -> Answer:
        parts = max(1, -(-len(fields["message"]) // PART))
        recipients, total = [], 0.0
        for number in [n.strip() for n in fields["to"].split(",") if n.strip()]:
            with self._lock:
                code = 405 if refuse else self._refused.get(number, 101 if _NUMBER.fullmatch(number) else 403)
            cost = 0.8 * parts if code == 101 else 0.0
            total += cost
            recipients.append({"statusCode": code, "number": number, "status": STATUS_NAMES[code],
                               "cost": f"KES {cost:.4f}" if cost else "0",
                               "messageId": f"ATXid_{secrets.token_hex(16)}" if code == 101 else "None"})
        sent = sum(1 for r in recipients if r["statusCode"] == 101)
        record = {"at": datetime.now(timezone.utc).isoformat(), "fields": fields, "recipients": recipients}
        with self._lock:
            self.messages.append(record)
            for recipient in recipients:
                if recipient["statusCode"] == 101 and self.report_url:
                    self._later(self.report_delay, self._report, recipient)
        log.info("Simulated SMS to %s", ", ".join(f"{mask(r['number'])}: {r['status']}" for r in recipients))
        return 201, {"SMSMessageData": {"Message": f"Sent to {sent}/{len(recipients)} Total Cost: KES {total:.4f}",
                                        "Recipients": recipients}}

    def _report(self, recipient: dict[str, Any]) -> None:
        number = recipient["number"]
        with self._lock:
            status, reason = self._delivery.get(number, self._delivery.get(None, ("Success", "")))
        fields = {"id": recipient["messageId"], "status": status, "phoneNumber": number,
                  "networkCode": "99999" if self.username == "sandbox" else "63902"}
        if reason:
            fields["failureReason"] = reason
        record: dict[str, Any] = {"fields": fields, "status": None, "answer": ""}
        if not self._stopping.is_set():
            request = _form_request(self.report_url, fields)
            try:
                with OPENER.open(request, timeout=10) as response:
                    record["status"], record["answer"] = response.status, response.read().decode("utf-8", "replace")
            except Exception as exc:  # the simulator must outlive any receiver
                code = getattr(exc, "code", None)
                record["status"], record["answer"] = code, f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.reports.append(record)
            self._lock.notify_all()

    def _control(self, route: tuple[str, str], body: bytes) -> Answer:
        with self._lock:
            if route == ("GET", "/__sim__/messages"):
                return 200, list(self.messages)
            if route == ("GET", "/__sim__/reports"):
                return 200, list(self.reports)
        try:
            data = json.loads(body or b"{}")
            if route == ("POST", "/__sim__/failure"):
                self.set_failure(data["kind"], times=data.get("times"), seconds=data.get("seconds", 5.0),
                                 status=data.get("status", 500))
            elif route == ("POST", "/__sim__/refuse"):
                self.refuse_number(data["phone"], data.get("status_code", 406))
            elif route == ("POST", "/__sim__/delivery"):
                self.set_delivery(data.get("phone"), data.get("status", "Success"), data.get("failure_reason", ""))
            elif route == ("POST", "/__sim__/settings"):
                self.report_url = str(data.get("report_url", self.report_url))
                self.report_delay = float(data.get("report_delay", self.report_delay))
            elif route == ("POST", "/__sim__/reset"):
                self.reset()
            else:
                return 404, {"error": "unknown simulator control endpoint"}
        except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError) as exc:
            return 400, {"error": f"{type(exc).__name__}: {exc}"}
        return 200, {"ok": True}


def _plus(phone: str) -> str:
    phone = str(phone).strip()
    return phone if phone.startswith("+") else "+" + phone


def _form_request(url: str, fields: dict[str, str]) -> urllib.request.Request:
    return urllib.request.Request(url, data=urlencode(fields).encode(), method="POST",
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
