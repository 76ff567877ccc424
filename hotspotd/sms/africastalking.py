"""Africa's Talking SMS (docs/protocols.md, "Africa's Talking SMS"): sending a text, reading
the gateway's answer per recipient, and reading the delivery reports it POSTs back.

Send: `POST {base_url}/version1/messaging`, form-urlencoded `username`, `to` (comma-separated
+254... numbers), `message`, `from` (the sender id, when one is set), `bulkSMSMode=1`
(the sender pays) and `enqueue`; headers `apiKey` and `Accept: application/json`. The
answer lists each recipient with a `statusCode`: 100 Processed, 101 Sent, 102 Queued are
taken; 401-409 and 500-502 are refusals. "Sent" means handed on, not delivered: delivery
comes later as a report, a form POST with `id` (= messageId), `status`, `phoneNumber`,
`networkCode`, `failureReason`.

Every failure leaves as UpstreamError (retryable or not) with a message for the operator;
the API key is never logged, phone numbers are masked.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Sequence
from urllib.parse import parse_qs, urlencode

from ..errors import InvalidInput, UpstreamError
from ..plumbing.httpclient import RequestException, Session, Timeout
from ..phone import mask

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.africastalking.com"
SANDBOX_BASE_URL = "https://api.sandbox.africastalking.com"
SEND_PATH = "/version1/messaging"
MAX_MESSAGE = 918  # six concatenated parts of 153 characters
MAX_REPORT = 16 * 1024

SENT_CODES = {100: "Processed", 101: "Sent", 102: "Queued"}
REFUSED_CODES = {401: "RiskHold", 402: "InvalidSenderId", 403: "InvalidPhoneNumber", 404: "UnsupportedNumberType",
                 405: "InsufficientBalance", 406: "UserInBlacklist", 407: "CouldNotRoute",
                 409: "DoNotDisturbRejection", 500: "InternalServerError", 501: "GatewayError",
                 502: "RejectedByGateway"}
# Refusals that may pass later (a top-up, the gateway recovering); the others will not.
RETRYABLE_CODES = frozenset({401, 405, 407, 500, 501, 502})
DELIVERED = "Success"
FAILED = ("Rejected", "Failed")  # final failures; Sent, Submitted, Buffered, ... are on the way
_NUMBER = re.compile(r"\+\d{6,15}")

NOT_SET_UP = "The SMS gateway refused hotspotd's username or API key: check [sms] username and api_key"
UNREACHABLE = "The SMS gateway cannot be reached right now"
UNREADABLE = "The SMS gateway sent an answer we could not read"


@dataclass(frozen=True)
class SmsRecipient:
    """What the gateway did with the message for one number."""

    number: str  # +254...
    status_code: int | None
    status: str
    message_id: str | None  # the id delivery reports carry; None when nothing was sent
    cost: str  # "KES 0.8000" as the gateway wrote it

    @property
    def accepted(self) -> bool:
        return self.status_code in SENT_CODES

    @property
    def retryable(self) -> bool:
        return self.status_code in RETRYABLE_CODES

    @property
    def cost_amount(self) -> tuple[str, Decimal] | None:
        """("KES", Decimal("0.8000")), or None when the cost cannot be read."""
        currency, _, amount = self.cost.strip().partition(" ")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            return None
        return (currency, value) if currency.isalpha() and value.is_finite() else None


@dataclass(frozen=True)
class SmsSent:
    """The gateway's answer to one send: its summary line and every recipient."""

    summary: str  # "Sent to 1/1 Total Cost: KES 0.8000"
    recipients: tuple[SmsRecipient, ...]

    def recipient(self, number: str) -> SmsRecipient | None:
        wanted = international(number)
        return next((r for r in self.recipients if r.number == wanted), None)


@dataclass(frozen=True)
class DeliveryReport:
    """One delivery report the gateway POSTed."""

    message_id: str
    status: str
    phone_number: str
    network_code: str = ""
    failure_reason: str = ""
    retry_count: int | None = None

    @property
    def delivered(self) -> bool:
        return self.status == DELIVERED

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    @property
    def final(self) -> bool:
        return self.delivered or self.failed


def international(number: str) -> str:
    """+2547XXXXXXXX for 2547XXXXXXXX or +2547XXXXXXXX (hotspotd keeps numbers as 254...)."""
    text = "".join(str(number or "").split())
    text = text if text.startswith("+") else "+" + text
    if not _NUMBER.fullmatch(text):
        raise InvalidInput("A phone number for a text message is digits with the country code, like 254712345678")
    return text


class AfricasTalkingClient:
    """Sends texts through Africa's Talking over one HTTP session; safe to share."""

    def __init__(self, base_url: str, username: str, api_key: str, sender_id: str = "", *,
                 timeout: float = 15.0, session: Session | None = None) -> None:
        self.url = base_url.rstrip("/") + SEND_PATH
        self.username = username
        self.sender_id = sender_id
        self.timeout = timeout
        self._api_key = api_key
        self._session = session or Session()

    def close(self) -> None:
        self._session.close()

    def send(self, message: str, to: str | Sequence[str], *, enqueue: bool = False) -> SmsSent:
        """Send `message` to one number or several (254... or +254...). Raises UpstreamError
        when the gateway refuses the request or gives no answer; a refusal for one number
        is in that recipient's `status_code`, not an exception."""
        numbers = [international(n) for n in ([to] if isinstance(to, str) else to)]
        if not numbers:
            raise InvalidInput("A text message needs at least one phone number")
        if not message or not message.strip() or len(message) > MAX_MESSAGE:
            raise InvalidInput(f"A text message needs 1 to {MAX_MESSAGE} characters")
        form = {"username": self.username, "to": ",".join(numbers), "message": message, "bulkSMSMode": "1",
                "enqueue": "1" if enqueue else "0"}
        if self.sender_id:
            form["from"] = self.sender_id
        headers = {"apiKey": self._api_key, "Accept": "application/json",
                   "Content-Type": "application/x-www-form-urlencoded"}
        shown = ", ".join(mask(n) for n in numbers[:3]) + (" ..." if len(numbers) > 3 else "")
        try:
            response = self._session.post(self.url, data=urlencode(form).encode(), headers=headers,
                                          timeout=self.timeout)
        except Timeout:
            log.warning("The SMS gateway did not answer within %s s (to %s)", self.timeout, shown)
            raise UpstreamError("The SMS gateway did not answer in time", code=None, retryable=True) from None
        except RequestException as exc:
            log.warning("Could not reach the SMS gateway: %s", exc)
            raise UpstreamError(UNREACHABLE, code=None, retryable=True) from None
        status = response.status_code
        data = _json(response.content)
        if 200 <= status < 300 or (status == 409 and data is not None):  # 409: DoNotDisturb, with recipients
            sent = parse_send_answer(data)
            log.info("SMS to %s: %s", shown, "; ".join(f"{mask(r.number)} {r.status_code} {r.status}"
                                                        for r in sent.recipients[:3]))
            return sent
        detail = response.text.strip()[:200]
        log.warning("The SMS gateway refused a send to %s: HTTP %s %s", shown, status, detail)
        if status in (401, 403):
            raise UpstreamError(NOT_SET_UP, code=str(status), retryable=False)
        if status == 429 or status >= 500:
            raise UpstreamError(f"The SMS gateway is failing (HTTP {status})", code=str(status), retryable=True)
        raise UpstreamError(f"The SMS gateway refused the message (HTTP {status}): {detail}", code=str(status),
                            retryable=False)


def parse_send_answer(data: Any) -> SmsSent:
    """Read `{"SMSMessageData": {"Message", "Recipients": [...]}}`. The message may have gone
    out even when the answer cannot be read, so that UpstreamError is not retryable."""
    message_data = data.get("SMSMessageData") if isinstance(data, dict) else None
    recipients = message_data.get("Recipients") if isinstance(message_data, dict) else None
    if not isinstance(recipients, list):
        log.warning("SMS gateway answer without SMSMessageData.Recipients")
        raise UpstreamError(UNREADABLE, code=None, retryable=False)
    summary = str(message_data.get("Message") or "")[:300]
    read = tuple(r for r in (_recipient(item) for item in recipients) if r is not None)
    if not read:
        # Nothing sent, and why is in Message (e.g. "InvalidSenderId").
        raise UpstreamError(f"The SMS gateway sent nothing: {summary or 'no recipients'}", code=None,
                            retryable=False)
    return SmsSent(summary, read)


def _recipient(item: Any) -> SmsRecipient | None:
    if not isinstance(item, dict) or not item.get("number"):
        return None
    code = item.get("statusCode")
    try:
        code = None if isinstance(code, bool) else int(str(code).strip())
    except ValueError:
        code = None
    message_id = str(item.get("messageId") or "").strip()
    return SmsRecipient(number=str(item["number"]).strip()[:20], status_code=code,
                        status=str(item.get("status") or "")[:40],
                        message_id=message_id[:100] if message_id and message_id != "None" else None,
                        cost=str(item.get("cost") or "")[:40])


def parse_delivery_report(body: bytes) -> DeliveryReport:
    """Read a delivery report (form-urlencoded; a JSON object is read too). InvalidInput
    says what is wrong."""
    if len(body) > MAX_REPORT:
        raise InvalidInput("delivery report larger than 16 KiB")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("delivery report is not UTF-8") from None
    fields: dict[str, Any]
    if text.lstrip().startswith("{"):
        try:
            fields = json.loads(text)
        except (ValueError, RecursionError):
            raise InvalidInput("delivery report is not JSON") from None
        if not isinstance(fields, dict):
            raise InvalidInput("delivery report is not an object")
    else:
        fields = {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}
    message_id = _field(fields, "id", 100)
    status = _field(fields, "status", 40)
    if not message_id or not status:
        raise InvalidInput("delivery report without id or status")
    retries = _field(fields, "retryCount", 10)
    return DeliveryReport(message_id=message_id, status=status, phone_number=_field(fields, "phoneNumber", 20),
                          network_code=_field(fields, "networkCode", 10),
                          failure_reason=_field(fields, "failureReason", 60),
                          retry_count=int(retries) if retries.isdigit() else None)


def _field(fields: dict[str, Any], key: str, limit: int) -> str:
    value = fields.get(key)
    if value is None or isinstance(value, (bool, dict, list)):
        return ""
    return str(value).strip()[:limit]


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None
