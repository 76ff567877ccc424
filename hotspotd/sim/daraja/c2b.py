"""C2B (Paybill) in the Daraja simulator, written from docs/protocols.md §5.7-§5.8: registering the
confirmation and validation URLs, the sandbox's simulate call, and the calls Daraja then
makes to the registered URLs.

A simulated payment: if validation is on (Safaricom enables it per short code) the
validation URL is asked first; "0" lets the payment through, a C2B code refuses it (no
money moves, no confirmation); no answer within `validation_timeout` leaves it to the
registered ResponseType (Completed: the payment goes through; Cancelled: it does not).
Then the confirmation is POSTed (unless `drop_confirmations` is set: the money still
moves, and the payment can only be found by Pull Transactions, as after a lost
confirmation). The payer's number is masked ("2547 ***** 126") when the URLs were
registered with v2, a SHA-256 hash with v1.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ...phone import mask
from .outbound import post_json
from .wire import (C2B_ACCEPTED_RESULT, C2B_COMMANDS, C2B_RESPONSE_TYPES, PHONE_RE, Answer, bad, c2b_body,
                   c2b_url_ok, error, hashed_msisdn, masked_msisdn, originator_id, whole_number)

if TYPE_CHECKING:
    from .simulator import DarajaSimulator

log = logging.getLogger(__name__)

PATHS = {"/mpesa/c2b/v1/registerurl": ("register", "v1"), "/mpesa/c2b/v2/registerurl": ("register", "v2"),
         "/mpesa/c2b/v1/simulate": ("simulate", "v1"), "/mpesa/c2b/v2/simulate": ("simulate", "v2")}


class C2BSimulator:
    """The C2B side of one `DarajaSimulator` (its tokens, receipts and lock)."""

    def __init__(self, sim: DarajaSimulator, *, validation: bool = True, validation_timeout: float = 8.0,
                 register_once: bool = False) -> None:
        self.sim = sim
        self.validation = validation
        self.validation_timeout = validation_timeout
        self.register_once = register_once  # production refuses a second registration
        self.registrations: dict[str, dict[str, str]] = {}  # short code -> what was registered
        self.payments: list[dict[str, Any]] = []  # every simulated payment and what became of it
        self.duplicates = 0  # extra copies of each confirmation (Daraja may deliver twice)
        self.drop_confirmations = False  # money moves, no confirmation is POSTed (pullable only)
        self.requests: list[dict[str, Any]] = []  # every register and simulate body, as it came
        self._balance = 0

    def handle(self, path: str, data: dict) -> Answer:
        kind, version = PATHS[path]
        with self.sim._lock:
            self.requests.append({"path": path, "body": data})
        return self._register(data, version) if kind == "register" else self._simulate(data)

    def _register(self, data: dict, version: str) -> Answer:
        short_code = str(data.get("ShortCode", ""))
        if not short_code.isdigit():
            return bad("ShortCode")
        if data.get("ResponseType") not in C2B_RESPONSE_TYPES:
            return bad("ResponseType")
        for field in ("ConfirmationURL", "ValidationURL"):
            if not c2b_url_ok(data.get(field)):
                return bad(field)
        with self.sim._lock:
            if self.register_once and short_code in self.registrations:
                return error(500, "500.003.1001", "Urls are already registered")
            self.registrations[short_code] = {"ConfirmationURL": data["ConfirmationURL"],
                                              "ValidationURL": data["ValidationURL"],
                                              "ResponseType": data["ResponseType"], "version": version}
        # the sample body's text ("success"; the page's table says "Success"): docs/protocols.md §5.7
        return 200, {"OriginatorCoversationID": originator_id(), "ResponseCode": "0", "ResponseDescription": "success"}

    def _simulate(self, data: dict) -> Answer:
        short_code = str(data.get("ShortCode", ""))
        if short_code not in self.registrations:
            return bad("ShortCode")
        if data.get("CommandID") not in C2B_COMMANDS:
            return bad("CommandID")
        amount = whole_number(data.get("Amount"))
        if not amount or not 1 <= amount <= 250_000:
            return bad("Amount")
        if not PHONE_RE.fullmatch(str(data.get("Msisdn", ""))):
            return bad("Msisdn")
        bill_ref = data.get("BillRefNumber", "")
        if not isinstance(bill_ref, str) or len(bill_ref) > 20:
            return bad("BillRefNumber")
        payment = self.pay(amount=amount, phone=str(data["Msisdn"]), account=bill_ref, short_code=short_code,
                           command=data["CommandID"])
        return 200, {"OriginatorCoversationID": payment["originator"], "ResponseCode": "0",
                     "ResponseDescription": "Accept the service request successfully."}

    def pay(self, *, amount: int, phone: str, account: str, short_code: str | None = None,
            command: str = "CustomerPayBillOnline") -> dict[str, Any]:
        """A customer pays `amount` to `account` from `phone`: validation, then confirmation,
        on a thread of their own. Returns the record, which fills in as it goes."""
        short_code = short_code or next(iter(self.registrations), "")
        if short_code not in self.registrations:
            raise ValueError("no C2B URLs are registered for that short code")
        with self.sim._lock:
            payment = {"trans_id": self.sim._new_receipt(), "originator": originator_id(), "amount": amount,
                       "phone": phone, "account": account, "short_code": short_code, "command": command,
                       "validation": None, "confirmations": [], "done": threading.Event()}
            self.payments.append(payment)
        threading.Thread(target=self._deliver, args=(payment,), name="daraja-sim-c2b", daemon=True).start()
        log.info("Simulated Paybill payment %s from %s to account %r", payment["trans_id"], mask(phone), account)
        return payment

    def _deliver(self, payment: dict[str, Any]) -> None:
        try:
            registered = self.registrations[payment["short_code"]]
            number = payment["phone"]
            msisdn = masked_msisdn(number) if registered["version"] == "v2" else hashed_msisdn(number)
            fields = dict(trans_id=payment["trans_id"], when=datetime.now(timezone.utc), amount=payment["amount"],
                          short_code=payment["short_code"], bill_ref=payment["account"], msisdn=msisdn,
                          command=payment["command"])
            if self.validation:
                status, answer = post_json(registered["ValidationURL"], c2b_body(**fields), self.validation_timeout)
                payment["validation"] = {"status": status, "answer": answer}
                if status is None:  # no answer in time: the registered ResponseType decides
                    if registered["ResponseType"] != "Completed":
                        return
                elif not isinstance(answer, dict) or str(answer.get("ResultCode")) != C2B_ACCEPTED_RESULT:
                    return  # refused: no money moves
                elif isinstance(answer, dict) and answer.get("ThirdPartyTransID"):
                    fields["third_party_id"] = str(answer["ThirdPartyTransID"])[:40]
            with self.sim._lock:
                self._balance += payment["amount"]
                balance = f"{self._balance:.2f}"
                self.sim.ledger.add(payment["trans_id"], kind="c2b", amount=payment["amount"], phone=number,
                                    short_code=payment["short_code"], account=payment["account"],
                                    command=payment["command"], when=fields["when"])
            body = c2b_body(**fields, balance=balance)
            for _ in range(0 if self.drop_confirmations else 1 + self.duplicates):
                if self.sim._stopping.is_set():
                    return
                payment["confirmations"].append(post_json(registered["ConfirmationURL"], body, 10.0))
        finally:
            payment["done"].set()

    def public(self) -> list[dict[str, Any]]:
        """The payments without their threading parts (for /__sim__/c2b)."""
        return [{k: v for k, v in p.items() if k != "done"} for p in self.payments]

