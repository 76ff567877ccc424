"""Parsing Daraja STK callbacks (what a result code means for a payment is decided by
`hotspotd.billing.payments.status_for_result`).

Daraja's callbacks vary in the wild: ResultCode is a number (sometimes a string),
metadata items come in any order, a `Balance` item may have no value, and failures
carry no metadata at all. Items are matched by name; nothing is read by position.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..errors import MalformedCallback

MAX_BODY = 64 * 1024

@dataclass(frozen=True)
class StkCallback:
    merchant_request_id: str
    checkout_request_id: str
    result_code: int
    result_desc: str
    amount: Decimal | None = None
    receipt: str | None = None
    transaction_date: str | None = None
    phone: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.result_code == 0


def _result_code(value: object) -> int:
    if isinstance(value, bool):
        raise MalformedCallback("ResultCode is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise MalformedCallback(f"ResultCode is not a number: {value!r}"[:120])


def parse_stk_callback(body: bytes) -> StkCallback:
    """Parse a callback body; raise MalformedCallback saying what is wrong."""
    if len(body) > MAX_BODY:
        raise MalformedCallback("body larger than 64 KiB")
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedCallback("body is not JSON") from None
    try:
        callback = document["Body"]["stkCallback"]
    except (KeyError, TypeError):
        raise MalformedCallback("no Body.stkCallback object") from None
    if not isinstance(callback, dict):
        raise MalformedCallback("Body.stkCallback is not an object")
    checkout = callback.get("CheckoutRequestID")
    if not isinstance(checkout, str) or not checkout.strip() or len(checkout) > 100:
        raise MalformedCallback("no CheckoutRequestID")
    if "ResultCode" not in callback:
        raise MalformedCallback("no ResultCode")
    code = _result_code(callback["ResultCode"])
    fields: dict[str, object] = {
        "merchant_request_id": str(callback.get("MerchantRequestID") or "")[:100],
        "checkout_request_id": checkout.strip(),
        "result_code": code,
        "result_desc": str(callback.get("ResultDesc") or "")[:300],
    }
    if code == 0:
        fields.update(_metadata(callback.get("CallbackMetadata")))
    return StkCallback(**fields)


def _metadata(metadata: object) -> dict[str, object]:
    if not isinstance(metadata, dict) or not isinstance(metadata.get("Item"), list):
        raise MalformedCallback("successful callback without CallbackMetadata.Item")
    items = {}
    for item in metadata["Item"]:
        if isinstance(item, dict) and isinstance(item.get("Name"), str):
            items[item["Name"]] = item.get("Value")  # a Balance item without Value is normal
    amount = items.get("Amount")
    if isinstance(amount, bool) or not isinstance(amount, (int, float, str)):
        raise MalformedCallback("successful callback without Amount")
    try:
        amount = Decimal(str(amount))
    except InvalidOperation:
        raise MalformedCallback(f"Amount is not a number: {amount!r}"[:120]) from None
    if not amount.is_finite() or amount < 0:
        raise MalformedCallback("Amount is not a positive number")
    receipt = items.get("MpesaReceiptNumber")
    if not isinstance(receipt, str) or not receipt.strip() or len(receipt) > 40:
        raise MalformedCallback("successful callback without MpesaReceiptNumber")
    date = items.get("TransactionDate")
    phone = items.get("PhoneNumber")
    return {
        "amount": amount,
        "receipt": receipt.strip(),
        "transaction_date": None if date is None else str(date)[:20],
        "phone": None if phone is None else str(phone)[:20],
    }
