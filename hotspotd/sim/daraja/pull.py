"""Pull Transactions in the Daraja simulator, written from docs/protocols.md ("Pull
Transactions"): register a short code, then query its C2B payments by period, a page of
`page_size` rows from `OffSetValue` on.

Every C2B payment the simulator completed is a row (those whose confirmation was dropped
too); rows older than `retention` (48 hours) are gone. Quirks the published samples show,
each behind a switch: the register answer's keys spelt with spaces ("Response Status",
PHPM's sample), "nothing found" as `"Transaction": "[[]]"` (a string), amounts as numbers
(233.8) instead of strings ("168.00"). What is not published is the simulator's choice:
the page size (100 by default: "results 101-200 → OffSetValue 100"), the time zone of
StartDate and EndDate (Nairobi, like every other Daraja time) and of trxDate (UTC, as its
"Z" says), and the registered CallBackURL, which is never called (its payload is unknown).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

from .wire import DARAJA_TZ, Answer, bad, c2b_url_ok, error

if TYPE_CHECKING:
    from .simulator import DarajaSimulator

REGISTER_PATH = "/pulltransactions/v1/register"
QUERY_PATH = "/pulltransactions/v1/query"
# "2020-08-04 8:36:00", "2019-07-31 19:00", and the sample's own "2020-08-16 10:10:000"
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{1,2}):(\d{2})(?::(\d{2})\d?)?")
_NOMINATED = re.compile(r"(?:0|254)[17]\d{8}")
SETTINGS = ("page_size", "spaced_keys", "empty_as_string", "amount_as_number", "drop_confirmations")


def token_refused() -> Answer:
    return error(401, "401.001", "Invalid Access Token")


class PullSimulator:
    """The Pull side of one `DarajaSimulator` (its lock and ledger)."""

    def __init__(self, sim: DarajaSimulator, *, page_size: int = 100) -> None:
        self.sim = sim
        self._initial_page_size = page_size
        self.page_size = page_size
        self.spaced_keys = False
        self.empty_as_string = False
        self.amount_as_number = False
        self.retention = timedelta(hours=48)
        self.organization = "Hotspot Simulated Ltd"
        self.clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
        self.registrations: dict[str, dict[str, str]] = {}
        self.queries: list[dict[str, Any]] = []  # every query body, as it came

    def routes(self) -> dict[str, tuple[Callable[[dict], Answer], Callable[[], Answer]]]:
        return {REGISTER_PATH: (self.register, token_refused), QUERY_PATH: (self.query, token_refused)}

    def reset(self) -> None:
        self.page_size = self._initial_page_size
        self.spaced_keys = self.empty_as_string = self.amount_as_number = False
        self.retention = timedelta(hours=48)

    def register(self, data: dict) -> Answer:
        short_code = str(data.get("ShortCode", ""))
        if not short_code.isdigit():
            return error(400, "400.001", "Invalid ShortCode")
        if data.get("RequestType") != "Pull":
            return bad("RequestType")
        if not _NOMINATED.fullmatch(str(data.get("NominatedNumber", ""))):
            return bad("NominatedNumber")
        if not c2b_url_ok(data.get("CallBackURL")):
            return bad("CallBackURL")
        with self.sim._lock:
            again = short_code in self.registrations
            if not again:
                self.registrations[short_code] = {"NominatedNumber": str(data["NominatedNumber"]),
                                                  "CallBackURL": data["CallBackURL"]}
        status, description = ("1001", "ShortCode already Registered") if again else \
            ("1000", "Shortcode Registered Successfully")
        space = " " if self.spaced_keys else ""
        return 200, {"ResponseRefID": str(uuid.uuid4()), f"Response{space}Status": status, "ShortCode": short_code,
                     f"Response{space}Description": description}

    def query(self, data: dict) -> Answer:
        with self.sim._lock:
            self.queries.append(dict(data))
        short_code = str(data.get("ShortCode", ""))
        if short_code not in self.registrations:
            return error(400, "400.001", "Invalid ShortCode")
        start, end = _date(data.get("StartDate")), _date(data.get("EndDate"))
        if start is None:
            return bad("StartDate")
        if end is None or end < start:
            return bad("EndDate")
        offset = data.get("OffSetValue")
        if isinstance(offset, bool) or not str(offset).isdigit():
            return bad("OffSetValue")
        start = max(start, self.clock() - self.retention)  # older rows are no longer kept
        rows = self.sim.ledger.c2b_between(short_code, start, end)[int(offset):int(offset) + self.page_size]
        if not rows:
            answer = {"ResponseRefID": _ref_id(), "ResponseCode": "1001",
                      "ResponseMessage": "No transactions available for the selected time period"}
            answer.update({"Transaction": "[[]]"} if self.empty_as_string else {"Response": [[]]})
            return 200, answer
        return 200, {"ResponseRefID": _ref_id(), "ResponseCode": "1000", "ResponseMessage": "Success",
                     "Response": [[self._row(entry) for entry in rows]]}

    def _row(self, entry: dict[str, Any]) -> dict[str, Any]:
        amount = entry["amount"]
        return {"transactionId": entry["receipt"],
                "trxDate": entry["when"].astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                # The published sample's msisdn is a number of 8 digits (72200000): partly hidden.
                "msisdn": int(entry["phone"][3:6] + "00000"), "sender": "SIMULATED",
                "transactiontype": "c2b-pay-bill-debit" if entry["command"] == "CustomerPayBillOnline"
                else "c2b-buy-goods-debit",
                "billreference": entry["account"],
                "amount": float(amount) if self.amount_as_number else f"{amount:.2f}",
                "organizationname": self.organization}

    def control(self, route: tuple[str, str], body: bytes) -> Answer | None:
        """`GET /__sim__/pull` (registrations, queries, settings); `POST /__sim__/pull` with
        any of the settings, e.g. {"drop_confirmations": true, "page_size": 2}."""
        if route == ("GET", "/__sim__/pull"):
            with self.sim._lock:
                return 200, {"registrations": dict(self.registrations), "queries": list(self.queries),
                             "settings": self.settings()}
        if route == ("POST", "/__sim__/pull"):
            try:
                self.configure(**json.loads(body))
            except (ValueError, TypeError, UnicodeDecodeError) as exc:
                return 400, {"error": f"expected a JSON object with any of {list(SETTINGS)}: {exc}"}
            return 200, {"ok": True, "settings": self.settings()}
        return None

    def settings(self) -> dict[str, Any]:
        return {"page_size": self.page_size, "spaced_keys": self.spaced_keys, "empty_as_string": self.empty_as_string,
                "amount_as_number": self.amount_as_number, "drop_confirmations": self.sim.c2b.drop_confirmations}

    def configure(self, **changes: Any) -> None:
        """Change settings (see SETTINGS); ValueError/TypeError for an unknown or wrong one."""
        for name, value in changes.items():
            if name not in SETTINGS:
                raise ValueError(f"unknown setting {name!r}")
            if name == "page_size":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError("page_size is a whole number, at least 1")
                self.page_size = value
            elif not isinstance(value, bool):
                raise TypeError(f"{name} is true or false")
            elif name == "drop_confirmations":
                self.sim.c2b.drop_confirmations = value
            else:
                setattr(self, name, value)


def _date(value: Any) -> datetime | None:
    match = _DATE.fullmatch(str(value).strip()) if isinstance(value, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=DARAJA_TZ)
    except ValueError:
        return None


def _ref_id() -> str:
    return f"{uuid.uuid4().int % 10**5}-{uuid.uuid4().int % 10**8}-1"
