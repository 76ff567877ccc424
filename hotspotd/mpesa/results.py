"""Reading the asynchronous results Daraja POSTs to a ResultURL (docs/protocols.md,
"Transaction Status", "Reversal"): `{"Result": {ResultType, ResultCode, ResultDesc,
OriginatorConversationID, ConversationID, TransactionID, ResultParameters, ReferenceData}}`.

The bodies vary between Daraja's own samples, so nothing is read by position or trusted
to one spelling: parameters are matched by Key (spaces and case ignored, "FinalizedTime"
= "FinalisedTime"), a Key may come twice (Daraja 3.0 repeats DebitPartyName where older
samples have CreditPartyName), a Value may be missing (TransactionReason), values are
strings or numbers ("300", 10, 1.00), and ResultCode is a number on success and a string
on a reversal's failure ("R000002"). ResultCode is kept as a string: "0" is success.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import MalformedCallback
from .c2b import payer_matches

MAX_BODY = 64 * 1024
SUCCESS = "0"
ALREADY_REVERSED = "R000001"
INVALID_ORIGINAL = "R000002"
BAD_CREDENTIALS = "2001"  # "The initiator information is invalid": wrong password or certificate
CREDENTIALS_LOCKED = "8006"
COMPLETED = "Completed"


def _key(name: str) -> str:
    return "".join(name.split()).lower().replace("finalized", "finalised")


@dataclass(frozen=True)
class DarajaResult:
    """One Result body. `parameters` maps each Key (normalised: see `_key`) to every Value
    it came with, in order; a Key without a Value has None."""

    result_type: int
    result_code: str
    result_desc: str
    originator_conversation_id: str
    conversation_id: str
    transaction_id: str
    parameters: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    reference: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.result_code == SUCCESS

    def parameter(self, key: str) -> Any:
        """The first Value given for `key` (None when absent or given without a Value)."""
        return next((v for v in self.parameters.get(_key(key), ()) if v is not None), None)

    def every(self, key: str) -> tuple[Any, ...]:
        """Every Value given for `key`, in order (Nones left out)."""
        return tuple(v for v in self.parameters.get(_key(key), ()) if v is not None)


@dataclass(frozen=True)
class Party:
    """A party as Daraja names one: "254708374149 - John Doe", "600310 - Safaricom333"."""

    number: str
    name: str

    @classmethod
    def parse(cls, text: Any) -> "Party | None":
        if text is None or isinstance(text, (bool, dict, list)):
            return None
        number, _, name = str(text).partition(" - ")
        return cls(number.strip()[:40], name.strip()[:100])


@dataclass(frozen=True)
class TransactionStatus:
    """A Transaction Status result, read."""

    result: DarajaResult
    receipt: str | None
    amount: Decimal | None
    status: str  # "Completed" when done; Cancelled, Declined, Expired, ...
    debit_party: Party | None
    credit_party: Party | None
    initiated_time: str  # YYYYMMDDHHmmss, Daraja's local time
    finalised_time: str
    reason_type: str

    @property
    def completed(self) -> bool:
        """The query succeeded and the transaction went through."""
        return self.result.succeeded and self.status.lower() == COMPLETED.lower()

    @property
    def parties(self) -> tuple[Party, ...]:
        return tuple(p for p in (self.debit_party, self.credit_party) if p is not None)

    def between(self, phone: str, short_code: str) -> bool:
        """Whether the transaction runs between the phone `phone` (254 + 9 digits; a masked
        or hashed party number is compared as C2B confirmations are) and `short_code`.
        Which side is which is not relied on: the samples disagree on it."""
        numbers = [p.number for p in self.parties]
        if str(short_code) not in numbers:
            return False
        return any(n != str(short_code) and (n == phone or payer_matches(n, phone)) for n in numbers)


@dataclass(frozen=True)
class ReversalResult:
    """A Reversal result, read. `reversal_receipt` is the new transaction's receipt."""

    result: DarajaResult
    original_receipt: str | None
    reversal_receipt: str | None
    amount: Decimal | None
    completed_time: str
    charge: Decimal | None
    credit_party: Party | None  # the customer, who gets the money back
    debit_party: Party | None

    @property
    def succeeded(self) -> bool:
        return self.result.succeeded

    @property
    def already_reversed(self) -> bool:
        return self.result.result_code == ALREADY_REVERSED


def parse_result(body: bytes) -> DarajaResult:
    """Read a Result body; MalformedCallback says what is wrong."""
    if len(body) > MAX_BODY:
        raise MalformedCallback("body larger than 64 KiB")
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedCallback("body is not JSON") from None
    result = document.get("Result") if isinstance(document, dict) else None
    if not isinstance(result, dict):
        raise MalformedCallback("no Result object")
    if result.get("ResultCode") is None:
        raise MalformedCallback("no ResultCode")
    code = _code(result["ResultCode"])
    conversation = _text(result.get("ConversationID"), 100)
    originator = _text(result.get("OriginatorConversationID"), 100)
    if not conversation and not originator:
        raise MalformedCallback("neither ConversationID nor OriginatorConversationID")
    result_type = result.get("ResultType", 0)
    try:
        result_type = int(result_type) if not isinstance(result_type, bool) else 0
    except (TypeError, ValueError):
        result_type = 0
    return DarajaResult(result_type=result_type, result_code=code, result_desc=_text(result.get("ResultDesc"), 1024),
                        originator_conversation_id=originator, conversation_id=conversation,
                        transaction_id=_text(result.get("TransactionID"), 40),
                        parameters=_items(result.get("ResultParameters"), "ResultParameter"),
                        reference=_items(result.get("ReferenceData"), "ReferenceItem"))


def transaction_status(result: DarajaResult) -> TransactionStatus:
    """Read `result` as the answer to a Transaction Status query."""
    debit = result.every("DebitPartyName")
    credit = result.parameter("CreditPartyName")
    if credit is None and len(debit) > 1:
        credit = debit[1]  # Daraja 3.0's sample names the credit party DebitPartyName a second time
    receipt = _text(result.parameter("ReceiptNo"), 40) or None
    return TransactionStatus(
        result=result, receipt=receipt.upper() if receipt else None, amount=_decimal(result.parameter("Amount")),
        status=_text(result.parameter("TransactionStatus"), 40),
        debit_party=Party.parse(debit[0]) if debit else None, credit_party=Party.parse(credit),
        initiated_time=_text(result.parameter("InitiatedTime"), 20),
        finalised_time=_text(result.parameter("FinalisedTime"), 20),
        reason_type=_text(result.parameter("ReasonType"), 200))


def reversal(result: DarajaResult) -> ReversalResult:
    """Read `result` as the answer to a Reversal (a failure carries no parameters)."""
    original = _text(result.parameter("OriginalTransactionID"), 40) or None
    return ReversalResult(
        result=result, original_receipt=original.upper() if original else None,
        reversal_receipt=(result.transaction_id.upper() or None) if result.succeeded else None,
        amount=_decimal(result.parameter("Amount")), completed_time=_text(result.parameter("TransCompletedTime"), 20),
        charge=_decimal(result.parameter("Charge")),
        credit_party=Party.parse(result.parameter("CreditPartyPublicName")),
        debit_party=Party.parse(result.parameter("DebitPartyPublicName")))


def _code(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise MalformedCallback(f"ResultCode is not a code: {value!r}"[:120])
    text = str(value).strip()
    if not text or len(text) > 20:
        raise MalformedCallback("ResultCode is empty or too long")
    return str(int(text)) if text.lstrip("-").isdigit() else text  # "00" and 0 alike


def _items(container: Any, name: str) -> dict[str, tuple[Any, ...]]:
    """{"ResultParameter": [{"Key", "Value"}...]} (or one item alone, not in a list)."""
    items = container.get(name) if isinstance(container, dict) else None
    if isinstance(items, dict):
        items = [items]
    found: dict[str, list[Any]] = {}
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("Key"), str):
            value = item.get("Value")
            if isinstance(value, (dict, list)):
                value = None
            found.setdefault(_key(item["Key"]), []).append(value)
    return {key: tuple(values) for key, values in found.items()}


def _text(value: Any, limit: int) -> str:
    if value is None or isinstance(value, (bool, dict, list)):
        return ""
    return str(value).strip()[:limit]


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
