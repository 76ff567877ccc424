"""Daraja's Pull Transactions API (docs/protocols.md, "Pull Transactions"): register a short
code once, then ask for the C2B (Paybill) payments made to it in a period, page by page.

It is the net under C2B confirmations, which Daraja does not resend: every payment of the
last 48 hours can be asked for again, whether or not its confirmation arrived. What comes
back is read into `PulledTransaction` values; `as_c2b()` turns one into the `C2BPayment` a
confirmation would have carried, so it is recorded exactly as a confirmation is.

The answers vary in the wild and are read with care: the register answer spells its keys
`ResponseStatus` or `Response Status`; "nothing found" is ResponseCode "1001" with
`"Response": [[]]` or `"Transaction": "[[]]"`; rows come as a list of lists (or a flat
list), `amount` as "168.00" or 233.8, `msisdn` as a number. A row that cannot be read is
counted and logged, never allowed to hide the others. The page size is not published, so
paging goes on (OffSetValue += rows received) until a page comes back empty.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import InvalidInput, UpstreamError
from .c2b import MAX_AMOUNT, C2BPayment
from .client import DarajaClient, timestamp

log = logging.getLogger(__name__)

REGISTER_PATH = "/pulltransactions/v1/register"
QUERY_PATH = "/pulltransactions/v1/query"
WINDOW = timedelta(hours=48)  # how far back Daraja keeps C2B transactions for pulling
# Asked a little inside the window, so that a clock a few minutes off is not refused.
WINDOW_MARGIN = timedelta(minutes=5)
MAX_PAGES = 1000  # a guard: 1000 pages is far beyond 48 hours of any hotspot's payments

REGISTERED, ALREADY_REGISTERED = "1000", "1001"
FOUND, NONE_FOUND = "1000", "1001"
INVALID_SHORTCODE = "400.001"
NOT_REGISTERED = ("Daraja does not know this short code for Pull Transactions: "
                  "run `hotspotd mpesa register-pull` (production short codes only)")
_TRANS_ID = re.compile(r"[A-Za-z0-9]{4,40}")
_DIGITS = re.compile(r"\d{14}")


@dataclass(frozen=True)
class PullRegistered:
    """Daraja's answer to a Pull registration: `status` "1000" registered now, "1001" already
    registered (both mean pulling may begin)."""

    short_code: str
    status: str
    description: str
    ref_id: str

    @property
    def already_registered(self) -> bool:
        return self.status == ALREADY_REGISTERED


@dataclass(frozen=True)
class PulledTransaction:
    """One C2B payment as Pull Transactions reports it."""

    trans_id: str  # the M-Pesa receipt, in capitals as confirmations carry it
    amount: Decimal
    bill_ref: str  # the account number the customer typed
    when: datetime | None  # aware; None when trxDate could not be read (the money still counts)
    msisdn: str  # as Daraja sent it (masked or partial: never a number to text)
    transaction_type: str = ""  # "c2b-pay-bill-debit"
    organization: str = ""
    sender: str = ""

    def as_c2b(self, short_code: str, tz: str = "Africa/Nairobi") -> C2BPayment:
        """The payment as a C2B confirmation to `short_code` would have carried it."""
        return C2BPayment(trans_id=self.trans_id, amount=self.amount, short_code=str(short_code),
                          bill_ref=self.bill_ref, msisdn=self.msisdn, transaction_type=self.transaction_type,
                          trans_time=timestamp(self.when, tz) if self.when else "")


@dataclass(frozen=True)
class PullPage:
    """One answer to a query: the readable transactions, and how many rows it held in all
    (the next page starts that many rows further on)."""

    transactions: tuple[PulledTransaction, ...]
    rows: int

    @property
    def unreadable(self) -> int:
        return self.rows - len(self.transactions)


@dataclass(frozen=True)
class PullResult:
    """Every page of one period. `start`/`end` are what Daraja was asked; when the period
    asked for began before Daraja's 48 hours, `unchecked` is the part that could not be
    asked (from, to) — the caller says so to the operator."""

    transactions: tuple[PulledTransaction, ...]
    start: datetime
    end: datetime
    unchecked: tuple[datetime, datetime] | None
    pages: int
    unreadable: int


def window_start(now: datetime) -> datetime:
    """The earliest moment a query made at `now` may ask for (a margin inside 48 hours)."""
    return now - WINDOW + WINDOW_MARGIN


def query_time(when: datetime, tz: str = "Africa/Nairobi") -> str:
    """StartDate/EndDate as the Daraja samples write them, "2020-08-04 08:36:00", local time."""
    if when.tzinfo is None:
        raise ValueError("query_time() needs an aware datetime (UTC), not a naive one")
    return when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


class PullTransactions:
    """Pull Transactions for one short code, through a `DarajaClient` (its token and HTTP)."""

    def __init__(self, daraja: DarajaClient, short_code: str | None = None) -> None:
        self.daraja = daraja
        self.short_code = str(short_code or daraja.shortcode)

    def register(self, *, nominated_number: str, callback_url: str) -> PullRegistered:
        """Register the short code for pulling (once; production short codes only).
        `nominated_number` is the organisation's Safaricom number (2547...)."""
        body = {"ShortCode": self.short_code, "RequestType": "Pull", "NominatedNumber": str(nominated_number),
                "CallBackURL": callback_url}
        status, data = self.daraja.call(REGISTER_PATH, body)
        if status == 200 and data is not None:
            code = _first(data, "ResponseStatus", "Response Status", "ResponseCode")
            if str(code) in (REGISTERED, ALREADY_REGISTERED):
                description = str(_first(data, "ResponseDescription", "Response Description") or "")
                log.info("Pull Transactions registration for %s: %s %s", self.short_code, code, description)
                return PullRegistered(self.short_code, str(code), description, str(data.get("ResponseRefID") or ""))
        raise self._failure("Pull register", status, data)

    def query_page(self, start: datetime, end: datetime, offset: int = 0) -> PullPage:
        """One page of the C2B payments between `start` and `end` (aware), from row `offset`."""
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidInput("The offset is a whole number of rows, 0 or more")
        body = {"ShortCode": self.short_code, "StartDate": query_time(start, self.daraja.tz),
                "EndDate": query_time(end, self.daraja.tz), "OffSetValue": str(offset)}
        status, data = self.daraja.call(QUERY_PATH, body)
        if data is not None and _says_none(status, data):
            return PullPage((), 0)
        if status == 200 and data is not None and str(data.get("ResponseCode")) == FOUND:
            return parse_page(data, self.daraja.tz)
        raise self._failure("Pull query", status, data)

    def pull(self, start: datetime, end: datetime, *, now: datetime) -> PullResult:
        """Every C2B payment between `start` and `end`, all pages, each receipt once.

        A `start` older than Daraja's 48 hours is moved up to the window; the part left out
        is returned as `unchecked`. Raises UpstreamError when Daraja fails on any page (the
        caller tries the whole period again later: recording is idempotent on the receipt).
        """
        earliest = window_start(now)
        unchecked = (start, min(earliest, end)) if start < earliest else None
        start = max(start, earliest)
        if end <= start:
            return PullResult((), start, end, unchecked, 0, 0)
        found: dict[str, PulledTransaction] = {}
        offset = pages = unreadable = 0
        first_ids: set[str] = set()
        while True:
            if pages >= MAX_PAGES:
                raise UpstreamError(f"M-Pesa Pull Transactions gave more than {MAX_PAGES} pages; stopped",
                                    code=None, retryable=True)
            page = self.query_page(start, end, offset)
            pages += 1
            if page.rows == 0:
                break
            first = page.transactions[0].trans_id if page.transactions else None
            if first is not None and first in first_ids:
                # The same page again: Daraja ignored OffSetValue. Stop rather than loop.
                raise UpstreamError("M-Pesa Pull Transactions returned the same page twice (OffSetValue ignored)",
                                    code=None, retryable=True)
            if first is not None:
                first_ids.add(first)
            for transaction in page.transactions:
                found.setdefault(transaction.trans_id, transaction)
            unreadable += page.unreadable
            offset += page.rows
        log.info("Pull Transactions %s..%s for %s: %s payment(s) in %s page(s)%s", query_time(start, self.daraja.tz),
                 query_time(end, self.daraja.tz), self.short_code, len(found), pages,
                 f", {unreadable} unreadable row(s)" if unreadable else "")
        return PullResult(tuple(found.values()), start, end, unchecked, pages, unreadable)

    def _failure(self, what: str, status: int, data: dict[str, Any] | None) -> UpstreamError:
        if data is not None and str(data.get("errorCode")) == INVALID_SHORTCODE:
            log.warning("Daraja %s: short code %s refused (%s)", what, self.short_code, data.get("errorMessage"))
            return UpstreamError(NOT_REGISTERED, code=INVALID_SHORTCODE, retryable=False)
        return self.daraja.failure(what, status, data)


def parse_page(data: dict[str, Any], tz: str = "Africa/Nairobi") -> PullPage:
    """Read the rows of a query answer (a JSON object). Rows that cannot be read are left
    out and counted; an answer with no row list at all raises UpstreamError."""
    raw = data.get("Response", data.get("Transaction"))
    if isinstance(raw, str):  # "[[]]" as a string, seen on the "nothing found" answer
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, list):
        log.warning("Daraja Pull query answer without a Response list: keys %s", sorted(data)[:10])
        raise UpstreamError("M-Pesa sent a Pull Transactions answer without transactions", code=None, retryable=True)
    rows: list[Any] = []
    for item in raw:  # a list of lists of rows, or (tolerated) a flat list of rows
        rows.extend(item if isinstance(item, list) else [item])
    transactions = []
    for row in rows:
        transaction = parse_row(row, tz)
        if transaction is None:
            shown = str(row.get("transactionId"))[:40] if isinstance(row, dict) else type(row).__name__
            log.warning("Daraja Pull query: a row that cannot be read (transaction %s) was skipped", shown)
        else:
            transactions.append(transaction)
    return PullPage(tuple(transactions), len(rows))


def parse_row(row: Any, tz: str = "Africa/Nairobi") -> PulledTransaction | None:
    """One row, or None when it has no usable transaction id or amount."""
    if not isinstance(row, dict):
        return None
    trans_id = _text(_first(row, "transactionId", "TransactionID", "transactionID"), 40)
    if not _TRANS_ID.fullmatch(trans_id):
        return None
    amount = _amount(row.get("amount", row.get("Amount")))
    if amount is None:
        return None
    return PulledTransaction(
        trans_id=trans_id.upper(), amount=amount, bill_ref=_text(_first(row, "billreference", "billReference"), 40),
        when=_when(_first(row, "trxDate", "transactionDate"), tz), msisdn=_text(row.get("msisdn"), 100),
        transaction_type=_text(_first(row, "transactiontype", "transactionType"), 40),
        organization=_text(_first(row, "organizationname", "organizationName"), 100),
        sender=_text(row.get("sender"), 100))


def _says_none(status: int, data: dict[str, Any]) -> bool:
    if str(data.get("ResponseCode")) == NONE_FOUND:
        return True
    # "500: Failed to retrieve transactions. The short code does not have any available transactions."
    message = str(data.get("errorMessage") or data.get("ResponseMessage") or "").lower()
    return (status >= 500 or str(data.get("errorCode")) == "500") and (
        "not have any" in message or "no transactions" in message)


def _first(data: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return None


def _text(value: Any, limit: int) -> str:
    if value is None or isinstance(value, (bool, dict, list)):
        return ""
    return str(value).strip()[:limit]


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and 0 < amount <= MAX_AMOUNT else None


def _when(value: Any, tz: str) -> datetime | None:
    """trxDate: "2020-08-05T10:13:00Z" in the samples; a time without a zone is Daraja's
    local time; YYYYMMDDHHmmss (as other Daraja APIs write it) is read too."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    try:
        if _DIGITS.fullmatch(text):
            when = datetime.strptime(text, "%Y%m%d%H%M%S")
        else:
            when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=ZoneInfo(tz))
