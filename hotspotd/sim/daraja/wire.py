"""Daraja's wire formats as docs/protocols.md §5 gives them: the STK Password, timestamps,
callback bodies, error bodies and the rules a push must meet.

Written from the published description, not from hotspotd's client: the simulator checks
the client with these, so it must not borrow the client's own functions.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from datetime import datetime
from typing import Any, Callable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

OUTCOMES = {"success": 0, "cancelled": 1032, "timeout": 1037, "insufficient": 1, "no_callback": 0, "duplicate": 0}
RESULT_DESCS = {
    0: "The service request is processed successfully.",
    1: "The balance is insufficient for the transaction.",
    1032: "Request cancelled by user",
    1037: "DS timeout user cannot be reached",
}
FORBIDDEN_URL_WORDS = ("mpesa", "m-pesa", "safaricom", "query")
TRANSACTION_TYPES = ("CustomerPayBillOnline", "CustomerBuyGoodsOnline")
PHONE_RE = re.compile(r"254[17]\d{8}")
MAX_BODY = 1 << 20
Answer = tuple[int, Any]
# The sandbox passkey of the Daraja docs (docs/protocols.md §5.2). The simulator keeps its own
# copy and its own formulas below: it checks the client, so it must not borrow from it.
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
DARAJA_TZ = ZoneInfo("Africa/Nairobi")


def stk_password(shortcode: str, passkey: str, timestamp: str) -> str:
    """The STK Password as docs/protocols.md §5.2 describes it: base64(BusinessShortCode + Passkey + Timestamp)."""
    return base64.b64encode((str(shortcode) + passkey + timestamp).encode("utf-8")).decode("ascii")


def daraja_time(when: datetime) -> str:
    """Daraja's YYYYMMDDHHmmss (Nairobi time) for an aware datetime: TransactionDate, checkout ids."""
    return when.astimezone(DARAJA_TZ).strftime("%Y%m%d%H%M%S")


def success_callback(checkout_request_id: str, merchant_request_id: str, amount: float, receipt: str,
                     phone: str, when: datetime) -> dict:
    """The body Daraja POSTs when the customer paid (docs/protocols.md §5.4)."""
    return {"Body": {"stkCallback": {
        "MerchantRequestID": merchant_request_id,
        "CheckoutRequestID": checkout_request_id,
        "ResultCode": 0,
        "ResultDesc": RESULT_DESCS[0],
        "CallbackMetadata": {"Item": [
            {"Name": "Amount", "Value": float(amount)},
            {"Name": "MpesaReceiptNumber", "Value": receipt},
            {"Name": "Balance"},
            {"Name": "TransactionDate", "Value": int(daraja_time(when))},
            {"Name": "PhoneNumber", "Value": int(phone)},
        ]},
    }}}


def failure_callback(checkout_request_id: str, merchant_request_id: str, result_code: int,
                     result_desc: str) -> dict:
    """The body Daraja POSTs when the payment did not happen: no CallbackMetadata."""
    return {"Body": {"stkCallback": {
        "MerchantRequestID": merchant_request_id,
        "CheckoutRequestID": checkout_request_id,
        "ResultCode": int(result_code),
        "ResultDesc": result_desc,
    }}}


def error(status: int, code: str, message: str) -> Answer:
    return status, {"requestId": request_id(), "errorCode": code, "errorMessage": message}


def bad(field: str) -> Answer:
    return error(400, "400.002.02", f"Bad Request - Invalid {field}")


def request_id() -> str:
    h = uuid.uuid4().hex
    return f"{h[:4]}-{h[4:8]}-{h[8:12]}-{h[12:28]}"


def whole_number(value: Any) -> int | None:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
        return int(value)
    return None


def _good_callback_url(url: str) -> bool:
    parts = urlsplit(url)
    lowered = url.lower()
    return (parts.scheme in ("http", "https") and bool(parts.netloc)
            and not any(word in lowered for word in FORBIDDEN_URL_WORDS))


def _phone(value: Any) -> bool:
    return bool(PHONE_RE.fullmatch(str(value)))


PUSH_RULES: tuple[tuple[str, Callable[[Any], bool]], ...] = (
    ("TransactionType", lambda v: v in TRANSACTION_TYPES),
    ("Amount", lambda v: 1 <= (whole_number(v) or 0) <= 250_000),
    ("PartyA", _phone),
    ("PartyB", lambda v: str(v).isdigit()),
    ("PhoneNumber", _phone),
    ("CallBackURL", lambda v: isinstance(v, str) and _good_callback_url(v)),
    ("AccountReference", lambda v: isinstance(v, str) and 1 <= len(v) <= 12),
    ("TransactionDesc", lambda v: v is None or isinstance(v, str) and len(v) <= 13),
)


# -- C2B (Paybill), docs/protocols.md §5.7-§5.8: every value of the validation and confirmation
# bodies is a string; the payer's number is masked (v2) or a SHA-256 hash (v1).

C2B_COMMANDS = ("CustomerPayBillOnline", "CustomerBuyGoodsOnline")
C2B_RESPONSE_TYPES = ("Completed", "Cancelled")  # sentence case, exactly
C2B_FORBIDDEN_URL_WORDS = ("m-pesa", "mpesa", "safaricom", "exe", "exec", "cmd", "sql", "query")
C2B_ACCEPTED_RESULT = "0"


def masked_msisdn(phone: str) -> str:
    """The v2 form: "2547 ***** 126"."""
    return f"{phone[:4]} ***** {phone[-3:]}"


def hashed_msisdn(phone: str) -> str:
    """The v1 form: the SHA-256 of the number, in hex."""
    return hashlib.sha256(phone.encode()).hexdigest()


def c2b_body(*, trans_id: str, when: datetime, amount: int, short_code: str, bill_ref: str, msisdn: str,
             balance: str = "", command: str = "CustomerPayBillOnline", third_party_id: str = "") -> dict:
    """A validation or confirmation body (OrgAccountBalance is blank on validation)."""
    return {"TransactionType": "Pay Bill" if command == "CustomerPayBillOnline" else "Buy Goods",
            "TransID": trans_id, "TransTime": daraja_time(when), "TransAmount": f"{amount:.2f}",
            "BusinessShortCode": str(short_code), "BillRefNumber": bill_ref, "InvoiceNumber": "",
            "OrgAccountBalance": balance, "ThirdPartyTransID": third_party_id, "MSISDN": msisdn,
            "FirstName": "JOHN", "MiddleName": "", "LastName": ""}


def c2b_url_ok(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return (parts.scheme in ("http", "https") and bool(parts.netloc)
            and not any(word in url.lower() for word in C2B_FORBIDDEN_URL_WORDS))


def originator_id() -> str:
    return f"{uuid.uuid4().hex[:4]}-{uuid.uuid4().int % 10**8:08d}-1"
