"""Daraja (M-Pesa) API client: OAuth token, STK push and STK push query, C2B registration.

Wire formats follow docs/protocols.md §5.1-§5.7. The other Daraja APIs live beside this
module and go through `DarajaClient.call()` and `failure()`: Pull Transactions (pull.py),
Transaction Status and Reversal (initiator.py). Every failure leaves
this module as UpstreamError whose message can be shown to a customer; the Daraja
details go to the log (secrets never, phone numbers masked).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from ..errors import InvalidInput, UpstreamError
from ..plumbing.httpclient import RequestException, Response, Session, Timeout
from ..phone import mask

log = logging.getLogger(__name__)

SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"

OAUTH_PATH = "/oauth/v1/generate?grant_type=client_credentials"
STK_PUSH_PATH = "/mpesa/stkpush/v1/processrequest"
STK_QUERY_PATH = "/mpesa/stkpushquery/v1/query"
C2B_REGISTER_PATH = "/mpesa/c2b/v2/registerurl"
C2B_RESPONSE_TYPES = ("Completed", "Cancelled")

INVALID_TOKEN_CODES = ("404.001.03", "400.003.01", "401.001")  # 401.001: Pull Transactions
PENDING_CODE = "500.001.1001"
TOKEN_MARGIN = 60.0  # seconds before expiry at which a cached token is renewed

BUSY = "M-Pesa is busy, try again in a minute"
UNREACHABLE = "M-Pesa cannot be reached right now, try again in a minute"
UNREADABLE = "M-Pesa sent an answer we could not read, try again in a minute"
NOT_SET_UP = "M-Pesa payments are not set up correctly on this hotspot; please tell the attendant"

# errorCode -> (customer message, retryable)
KNOWN_ERRORS: dict[str, tuple[str, bool]] = {
    "400.008.01": (NOT_SET_UP, False),  # invalid authentication type: wrong key or secret
    "400.008.02": (NOT_SET_UP, False),  # invalid grant type
    "404.001.01": (NOT_SET_UP, False),  # resource not found: wrong base URL
    "405.001": (NOT_SET_UP, False),
    "404.001.03": (UNREACHABLE, True),  # token refused even after a fresh one
    "400.003.01": (UNREACHABLE, True),
    "500.003.02": (BUSY, True),  # system busy / spike arrest
    "500.003.03": ("M-Pesa is busy, try again in a few minutes", True),  # quota
    "500.003.1001": ("M-Pesa is having problems, try again in a few minutes", True),
}


def timestamp(now: datetime, tz: str = "Africa/Nairobi") -> str:
    """Daraja's YYYYMMDDHHmmss for the aware datetime `now`, in the local time of `tz`.

    How far from Daraja's own clock it may be is not documented; pushes and queries are
    made only on a believable clock (`hotspotd.plumbing.clock`)."""
    if now.tzinfo is None:
        raise ValueError("timestamp() needs an aware datetime (UTC), not a naive one")
    return now.astimezone(ZoneInfo(tz)).strftime("%Y%m%d%H%M%S")


def password(shortcode: str, passkey: str, timestamp: str) -> str:
    """The STK Password: base64(shortcode + passkey + timestamp)."""
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode("ascii")


@dataclass(frozen=True)
class StkPushAccepted:
    """Daraja accepted an STK push; the customer's phone is about to show the prompt."""

    merchant_request_id: str
    checkout_request_id: str
    customer_message: str


@dataclass(frozen=True)
class StkQueryAnswer:
    """What an STK push query said.

    `pending` is True while the customer has not answered yet; then `result_code` is None.
    Otherwise `result_code` is Daraja's ResultCode as a string ("0" means paid).
    """

    pending: bool
    result_code: str | None
    result_desc: str


@dataclass(frozen=True)
class C2BRegistered:
    """Daraja took the C2B (Paybill) confirmation and validation URLs."""

    originator_conversation_id: str
    description: str


class DarajaClient:
    """Talks to Daraja over one HTTP session; safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        shortcode: str,
        passkey: str,
        transaction_type: str = "CustomerPayBillOnline",
        party_b: str | None = None,
        timeout: float = 15.0,
        tz: str = "Africa/Nairobi",
        clock: Callable[[], float] = time.monotonic,
        on_date: Callable[[str | None], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.shortcode = str(shortcode)
        self.transaction_type = transaction_type
        self.party_b = str(party_b) if party_b else self.shortcode
        self.timeout = timeout
        self.tz = tz
        self._consumer_key = consumer_key
        self._consumer_secret = consumer_secret
        self._passkey = passkey
        self._clock = clock
        self._on_date = on_date  # every answer's Date header: how far off our clock is (plumbing.clock)
        self._session = Session()
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_renew_at = 0.0

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def access_token(self) -> str:
        """A valid OAuth token, fetched only when the cached one is missing or nearly expired."""
        # The lock is held during the fetch on purpose: Daraja may invalidate the previous
        # token on every new one, so two threads must never fetch at the same time.
        with self._lock:
            if self._token is not None and self._clock() < self._token_renew_at:
                return self._token
            started = self._clock()
            token, expires_in = self._fetch_token()
            self._token = token
            self._token_renew_at = started + max(expires_in - TOKEN_MARGIN, 0.0)
            log.info("Daraja access token fetched, valid for %s s", expires_in)
            return token

    def stk_push(
        self,
        *,
        phone: str,
        amount: int,
        callback_url: str,
        account_reference: str,
        description: str,
        now: datetime,
    ) -> StkPushAccepted:
        """Ask Daraja to show the M-Pesa prompt on `phone` (already normalised to 2547...)."""
        if isinstance(amount, bool) or int(amount) != amount or amount < 1:
            raise InvalidInput("The amount must be a whole number of shillings, at least 1")
        ts = timestamp(now, self.tz)
        body = {
            "BusinessShortCode": self.shortcode,
            "Password": password(self.shortcode, self._passkey, ts),
            "Timestamp": ts,
            "TransactionType": self.transaction_type,
            "Amount": int(amount),
            "PartyA": phone,
            "PartyB": self.party_b,
            "PhoneNumber": phone,
            "CallBackURL": callback_url,
            "AccountReference": account_reference[:12],
            "TransactionDesc": description[:13],
        }
        status, data = self.call(STK_PUSH_PATH, body)
        if status == 200 and data is not None and str(data.get("ResponseCode")) == "0":
            merchant_id = data.get("MerchantRequestID")
            checkout_id = data.get("CheckoutRequestID")
            if not merchant_id or not checkout_id:
                log.warning("Daraja STK push answer without request ids: %s", sorted(data))
                raise UpstreamError(UNREADABLE, code=None, retryable=True)
            log.info("STK push accepted for %s, %s KES, checkout %s", mask(phone), amount, checkout_id)
            return StkPushAccepted(
                merchant_request_id=str(merchant_id),
                checkout_request_id=str(checkout_id),
                customer_message=str(data.get("CustomerMessage") or data.get("ResponseDescription") or ""),
            )
        raise self._error("STK push", status, data, phone=phone)

    def stk_query(self, checkout_request_id: str, *, now: datetime) -> StkQueryAnswer:
        """Ask Daraja how the STK push `checkout_request_id` ended, or whether it is still open."""
        ts = timestamp(now, self.tz)
        body = {
            "BusinessShortCode": self.shortcode,
            "Password": password(self.shortcode, self._passkey, ts),
            "Timestamp": ts,
            "CheckoutRequestID": checkout_request_id,
        }
        status, data = self.call(STK_QUERY_PATH, body)
        if data is not None and _is_pending(data):
            return StkQueryAnswer(pending=True, result_code=None, result_desc=str(data.get("errorMessage")))
        if status == 200 and data is not None and data.get("ResultCode") is not None:
            answer = StkQueryAnswer(
                pending=False,
                result_code=str(data["ResultCode"]),
                result_desc=str(data.get("ResultDesc") or ""),
            )
            log.info("STK query for %s: ResultCode %s", checkout_request_id, answer.result_code)
            return answer
        raise self._error("STK query", status, data)

    def register_c2b(self, *, short_code: str, confirmation_url: str, validation_url: str,
                     response_type: str = "Completed") -> C2BRegistered:
        """Register where Daraja sends Paybill payments to `short_code` (docs/protocols.md §5.7).

        `response_type` says what M-Pesa does when the validation URL does not answer in
        time: "Completed" takes the payment, "Cancelled" refuses it. In production this is
        done once; registering again is refused ("Urls are already registered")."""
        if response_type not in C2B_RESPONSE_TYPES:
            raise InvalidInput("The response type is Completed or Cancelled")
        body = {"ShortCode": str(short_code), "ResponseType": response_type,
                "ConfirmationURL": confirmation_url, "ValidationURL": validation_url}
        status, data = self.call(C2B_REGISTER_PATH, body)
        if status == 200 and data is not None and str(data.get("ResponseCode")) == "0":
            log.info("C2B URLs registered for short code %s", short_code)
            # Safaricom spells it OriginatorCoversationID; the corrected spelling is taken too.
            conversation = data.get("OriginatorCoversationID") or data.get("OriginatorConversationID") or ""
            return C2BRegistered(str(conversation), str(data.get("ResponseDescription") or ""))
        if data is not None and "already registered" in str(data.get("errorMessage", "")).lower():
            raise UpstreamError("M-Pesa says the Paybill URLs are already registered for this short code",
                                code=str(data.get("errorCode")), retryable=False)
        raise self._error("C2B register", status, data)

    def _fetch_token(self) -> tuple[str, float]:
        response = self._send("GET", OAUTH_PATH, auth=(self._consumer_key, self._consumer_secret))
        data = _json_object(response)
        if response.status_code != 200 or data is None:
            raise self._error("OAuth", response.status_code, data, oauth=True)
        token = data.get("access_token")
        try:
            expires_in = float(data.get("expires_in"))  # "3599" in the wild, 3599 in the docs
        except (TypeError, ValueError):
            expires_in = -1.0
        if not isinstance(token, str) or not token or expires_in <= 0:
            log.warning("Daraja OAuth answer without a usable token or expires_in: keys %s", sorted(data))
            raise UpstreamError(UNREADABLE, code=None, retryable=True)
        return token, expires_in

    def call(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        """POST `body` as JSON to the Daraja API at `path` with a bearer token: (HTTP status,
        the answer when it is a JSON object, else None). A refused token is dropped and the
        call made once more; no answer at all raises UpstreamError."""
        for attempt in (1, 2):
            token = self.access_token()
            response = self._send("POST", path, json=body, headers={"Authorization": f"Bearer {token}"})
            data = _json_object(response)
            refused = response.status_code == 401 or (
                data is not None and str(data.get("errorCode")) in INVALID_TOKEN_CODES
            )
            if refused and attempt == 1:
                log.info("Daraja refused the access token on %s; fetching a new one", path)
                self._drop_token(token)
                continue
            return response.status_code, data
        raise AssertionError("unreachable")

    def _drop_token(self, token: str) -> None:
        with self._lock:
            # Another thread may already have replaced it; keep a newer token.
            if self._token == token:
                self._token = None

    def ask_time(self) -> str | None:
        """Daraja's clock, as the Date header of an answer to `GET /` (no credentials, no
        token minted: any answer carries the header). UpstreamError when it cannot be reached."""
        return self._send("GET", "/").headers.get("Date")

    def _send(self, method: str, path: str, **kwargs: Any) -> Response:
        url = self.base_url + path
        try:
            response = self._session.request(method, url, timeout=self.timeout, **kwargs)
            if self._on_date is not None:
                self._on_date(response.headers.get("Date"))
            return response
        except Timeout:
            log.warning("Daraja did not answer %s %s within %s s", method, path, self.timeout)
            raise UpstreamError("M-Pesa did not answer in time, try again in a minute",
                                code=None, retryable=True) from None
        except RequestException as exc:
            log.warning("Could not reach Daraja for %s %s: %s", method, path, exc)
            raise UpstreamError(UNREACHABLE, code=None, retryable=True) from None

    def failure(self, what: str, status: int, data: dict[str, Any] | None) -> UpstreamError:
        """The UpstreamError for an error answer to `call()` (logged; `what` names the call)."""
        return self._error(what, status, data)

    def _error(
        self,
        what: str,
        status: int,
        data: dict[str, Any] | None,
        *,
        phone: str | None = None,
        oauth: bool = False,
    ) -> UpstreamError:
        """Turn a Daraja error answer into an UpstreamError and log the details."""
        if data is None:
            log.warning("Daraja %s: HTTP %s with a body that is not a JSON object", what, status)
            if oauth and status in (400, 401, 403):
                return UpstreamError(NOT_SET_UP, code=None, retryable=False)
            return UpstreamError(UNREADABLE, code=None, retryable=status >= 500 or status < 400)
        code = data.get("errorCode") or data.get("ResponseCode")
        code = None if code is None else str(code)
        detail = str(data.get("errorMessage") or data.get("ResponseDescription") or "")
        log.warning("Daraja %s failed%s: HTTP %s, code %s, %s", what,
                    f" for {mask(phone)}" if phone else "", status, code, detail)
        message, retryable = _customer_message(status, code, detail, oauth=oauth)
        return UpstreamError(message, code=code, retryable=retryable)


def _customer_message(status: int, code: str | None, detail: str, *, oauth: bool) -> tuple[str, bool]:
    if code in KNOWN_ERRORS:
        return KNOWN_ERRORS[code]
    lowered = detail.lower()
    if code == "400.002.02":  # "Bad Request - Invalid <Field>"
        if "phone" in lowered or "partya" in lowered:
            return "M-Pesa did not accept that phone number; check it and try again", False
        if "amount" in lowered:
            return "M-Pesa did not accept that amount", False
        if "checkoutrequestid" in lowered:
            return "M-Pesa does not know that payment", False
        return NOT_SET_UP, False
    if code == PENDING_CODE:
        if "lock subscriber" in lowered or "already in process" in lowered:
            return "An M-Pesa request is already open on that phone; answer or cancel it, then try again", True
        return NOT_SET_UP, False  # merchant does not exist / wrong credentials
    if oauth and 400 <= status < 500:
        return NOT_SET_UP, False
    if status == 429:
        return BUSY, True
    if status in (401, 403):
        return NOT_SET_UP, False
    if 400 <= status < 500:
        return "M-Pesa did not accept the payment request", False
    if status >= 500:
        return BUSY, True
    # HTTP 200 with a non-zero ResponseCode: no prompt was sent, so asking again is harmless.
    return f"M-Pesa did not accept the payment request ({detail or code})", True


def _is_pending(data: dict[str, Any]) -> bool:
    return (str(data.get("errorCode")) == PENDING_CODE
            and "being processed" in str(data.get("errorMessage", "")).lower())


def _json_object(response: Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
