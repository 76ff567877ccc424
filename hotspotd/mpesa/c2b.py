"""Daraja C2B (Paybill): parsing the validation and confirmation calls, and the answers
Daraja expects (docs/protocols.md §5.8).

Both calls carry the same body, every value a string: TransID (the M-Pesa receipt),
TransAmount ("10.00"), BusinessShortCode, BillRefNumber (the account number the customer
typed, up to 20 characters), and an MSISDN that is masked ("2547 ***** 126", v2) or a
SHA-256 hash (v1): the payer's number is never delivered, so the account number is what
identifies the buyer.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..errors import MalformedCallback

MAX_BODY = 64 * 1024
MAX_AMOUNT = Decimal(1_000_000)
_TRANS_ID = re.compile(r"[A-Za-z0-9]{4,40}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")

# The answers (docs/protocols.md §5.8): validation accepts or refuses with a C2B code; the
# confirmation is acknowledged.
ACCEPT = {"ResultCode": "0", "ResultDesc": "Accepted"}
INVALID_ACCOUNT = "C2B00012"
INVALID_AMOUNT = "C2B00013"
INVALID_SHORTCODE = "C2B00015"
OTHER_ERROR = "C2B00016"
ACKNOWLEDGED = {"ResultCode": 0, "ResultDesc": "Success"}


def refuse(code: str) -> dict[str, str]:
    return {"ResultCode": code, "ResultDesc": "Rejected"}


@dataclass(frozen=True)
class C2BPayment:
    """One validation or confirmation call, checked."""

    trans_id: str
    amount: Decimal
    short_code: str
    bill_ref: str  # as typed, trimmed
    msisdn: str  # masked or hashed, as Daraja sent it
    transaction_type: str = ""
    trans_time: str = ""
    third_party_id: str = ""

    @property
    def account(self) -> str:
        return account_key(self.bill_ref)


def account_key(text: str) -> str:
    """An account number as stored: what the customer typed without spaces or dashes, in
    capitals (M-Pesa menus let people type either case)."""
    return "".join(ch for ch in (text or "").upper() if ch.isascii() and ch.isalnum())[:20]


def _text(document: dict, key: str, limit: int) -> str:
    value = document.get(key, "")
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise MalformedCallback(f"{key} is not text")
    value = str(value).strip()
    if len(value) > limit:
        raise MalformedCallback(f"{key} is longer than {limit} characters")
    return value


def parse_c2b(body: bytes) -> C2BPayment:
    """Parse a C2B validation or confirmation body; MalformedCallback says what is wrong."""
    if len(body) > MAX_BODY:
        raise MalformedCallback("body larger than 64 KiB")
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedCallback("body is not JSON") from None
    if not isinstance(document, dict):
        raise MalformedCallback("body is not a JSON object")
    trans_id = _text(document, "TransID", 40)
    if not _TRANS_ID.fullmatch(trans_id):
        raise MalformedCallback("no TransID")
    raw_amount = _text(document, "TransAmount", 20)
    try:
        amount = Decimal(raw_amount)
    except InvalidOperation:
        raise MalformedCallback("TransAmount is not a number") from None
    if not amount.is_finite() or not 0 < amount <= MAX_AMOUNT:
        raise MalformedCallback("TransAmount is not a positive amount")
    short_code = _text(document, "BusinessShortCode", 20)
    if not short_code.isdigit():
        raise MalformedCallback("BusinessShortCode is not a number")
    return C2BPayment(trans_id=trans_id.upper(), amount=amount, short_code=short_code,
                      bill_ref=_text(document, "BillRefNumber", 40), msisdn=_text(document, "MSISDN", 100),
                      transaction_type=_text(document, "TransactionType", 40),
                      trans_time=_text(document, "TransTime", 20),
                      third_party_id=_text(document, "ThirdPartyTransID", 40))


def confirmation_body(payment: C2BPayment) -> bytes:
    """The body a confirmation of `payment` carries (every value a string), as `parse_c2b`
    reads it: how a payment found another way (Pull Transactions) is recorded exactly as
    its confirmation would have been."""
    fields = {"TransactionType": payment.transaction_type, "TransID": payment.trans_id,
              "TransTime": payment.trans_time, "TransAmount": f"{payment.amount:.2f}",
              "BusinessShortCode": payment.short_code, "BillRefNumber": payment.bill_ref,
              "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": payment.third_party_id,
              "MSISDN": payment.msisdn, "FirstName": "", "MiddleName": "", "LastName": ""}
    return json.dumps(fields, separators=(",", ":")).encode()


def payer_matches(msisdn: str, phone: str) -> bool:
    """Whether the masked ("2547 ***** 126") or hashed (SHA-256 of 2547XXXXXXXX) MSISDN of a
    C2B payment fits the phone number `phone` (254 + 9 digits)."""
    if not msisdn or not phone:
        return False
    if _SHA256.fullmatch(msisdn):
        return hashlib.sha256(phone.encode()).hexdigest() == msisdn.lower()
    pattern = msisdn.replace(" ", "")
    shown = [ch for ch in pattern if ch != "*"]
    return (len(pattern) == len(phone) and len(shown) >= 6
            and all(p == "*" or p == d for p, d in zip(pattern, phone)))
