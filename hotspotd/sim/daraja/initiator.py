"""Transaction Status and Reversal in the Daraja simulator, written from docs/protocols.md
("Transaction Status", "Reversal", "SecurityCredential").

A request is checked field by field under its published names (Reversal's
`RecieverIdentifierType` is Safaricom's spelling, and only that spelling is taken),
acknowledged at once (ConversationID, OriginatorConversationID), and its Result POSTed to
the ResultURL `result_delay` seconds later. The SecurityCredential is decrypted with the
simulator's own key (its certificate: `certificate_pem`, `write_certificate()`): a wrong
password, initiator or algorithm shows, as on Daraja, only in the result (2001).

Outcomes follow the ledger: a known receipt is Completed; a receipt reversed once is
"already reversed" (R000001) the second time; an unknown one is R000002 for a reversal and
25 for a status query (that code is the simulator's choice: the published list names no
code for an unknown receipt). `set_outcome()` overrides them per receipt or for all:
credentials (2001), insufficient (1), not_permitted (21), no_result (nothing is POSTed),
queue_timeout (a Result-shaped body to the QueueTimeOutURL: the real one is not published).
Result bodies come in two published styles: "daraja3" (Daraja 3.0: DebitPartyName twice,
Amount "300", FinalisedTime) or "phpm" (older: CreditPartyName, "Conversation ID" with a
space, Amount 10, FinalizedTime as a number).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .outbound import post_json
from .wire import Answer, bad, daraja_time, error

if TYPE_CHECKING:
    from .simulator import DarajaSimulator

STATUS_PATH = "/mpesa/transactionstatus/v1/query"
REVERSAL_PATH = "/mpesa/reversal/v1/request"
OUTCOMES = {  # outcome -> (ResultCode, ResultDesc)
    "completed": (0, "The service request is processed successfully."),
    "already_reversed": ("R000001", "The transaction has already been reversed"),
    "unknown": ("R000002", "The OriginalTransactionID is invalid."),
    "credentials": (2001, "The initiator information is invalid."),
    "insufficient": (1, "The balance is insufficient for the transaction."),
    "not_permitted": (21, "The initiator is not allowed to initiate this request."),
    "no_result": (None, ""),
    "queue_timeout": (None, ""),
}
UNKNOWN_STATUS = (25, "The transaction ID is invalid.")
REVERSAL_REFERENCE = "https://internalsandbox.safaricom.co.ke/mpesa/reversalresults/v1/submit"  # as published


def token_refused() -> Answer:
    return error(400, "400.003.01", "Invalid Access Token")


class InitiatorSimulator:
    """The Transaction Status and Reversal side of one `DarajaSimulator`."""

    def __init__(self, sim: DarajaSimulator, *, initiator: str = "testapi", password: str = "Sim-Initiator#1",
                 result_delay: float = 0.2) -> None:
        self.sim = sim
        self.initiator, self.password = initiator, password
        self._initial_delay = result_delay
        self.result_delay = result_delay
        self.style = "daraja3"
        self.requests: list[dict[str, Any]] = []  # every request body, as it came
        self.results: list[dict[str, Any]] = []  # every Result POSTed: url, body, status, answer
        self._outcomes: dict[tuple[str, str | None], str] = {}  # (api, receipt or None) -> outcome
        self._key: Any = None
        self._certificate = b""

    def routes(self) -> dict[str, tuple[Callable[[dict], Answer], Callable[[], Answer]]]:
        return {STATUS_PATH: (self.status, token_refused), REVERSAL_PATH: (self.reversal, token_refused)}

    def reset(self) -> None:
        with self.sim._lock:
            self._outcomes.clear()
            self.result_delay, self.style = self._initial_delay, "daraja3"

    # -- credentials -----------------------------------------------------------------

    @property
    def certificate_pem(self) -> bytes:
        """The simulator's certificate (PEM): the one the client encrypts the password with."""
        self._ensure_key()
        return self._certificate

    def write_certificate(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_bytes(self.certificate_pem)
        return path

    def _ensure_key(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        with self.sim._lock:
            if self._key is not None:
                return
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "apicrypt.simulated.daraja")])
            now = datetime.now(timezone.utc)
            certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                           .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                           .not_valid_after(now + timedelta(days=3650)).sign(key, hashes.SHA256()))
            self._certificate = certificate.public_bytes(serialization.Encoding.PEM)
            self._key = key

    def _credentials_ok(self, data: dict) -> bool:
        from cryptography.hazmat.primitives.asymmetric import padding

        self._ensure_key()
        try:
            password = self._key.decrypt(base64.b64decode(data["SecurityCredential"], validate=True),
                                         padding.PKCS1v15())
        except (ValueError, TypeError):
            return False
        return data["Initiator"] == self.initiator and password == self.password.encode()

    # -- outcomes --------------------------------------------------------------------

    def set_outcome(self, api: str, outcome: str | None, receipt: str | None = None) -> None:
        """How later `api` ("status" or "reversal") requests end, for `receipt` or for all;
        None goes back to what the ledger says."""
        if api not in ("status", "reversal"):
            raise ValueError("api is status or reversal")
        if outcome is not None and outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; choose one of {', '.join(OUTCOMES)}")
        with self.sim._lock:
            key = (api, receipt.upper() if receipt else None)
            if outcome is None:
                self._outcomes.pop(key, None)
            else:
                self._outcomes[key] = outcome

    def _chosen(self, api: str, receipt: str) -> str | None:
        with self.sim._lock:
            return self._outcomes.get((api, receipt.upper()), self._outcomes.get((api, None)))

    def wait_for_results(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until `n` results were POSTed; TimeoutError otherwise."""
        with self.sim._lock:
            if not self.sim._lock.wait_for(lambda: len(self.results) >= n, timeout):
                raise TimeoutError(f"{len(self.results)} result(s) POSTed within {timeout} s, expected {n}")
            return list(self.results)

    # -- the two APIs ----------------------------------------------------------------

    def status(self, data: dict) -> Answer:
        problem = self._common(data, "TransactionStatusQuery")
        if problem:
            return problem
        if not str(data.get("PartyA", "")).isdigit():
            return bad("PartyA")
        if str(data.get("IdentifierType")) not in ("1", "2", "4"):
            return bad("IdentifierType")
        if not _text(data.get("Remarks"), 1, 100):
            return bad("Remarks")
        return self._accept("status", data)

    def reversal(self, data: dict) -> Answer:
        problem = self._common(data, "TransactionReversal")
        if problem:
            return problem
        if _amount(data.get("Amount")) is None:
            return bad("Amount")
        if not str(data.get("ReceiverParty", "")).isdigit():
            return bad("ReceiverParty")
        if str(data.get("RecieverIdentifierType")) not in ("11", "4"):  # sic
            return bad("RecieverIdentifierType")
        if not _text(data.get("Remarks"), 2, 100):
            return bad("Remarks")
        return self._accept("reversal", data)

    def _common(self, data: dict, command: str) -> Answer | None:
        with self.sim._lock:
            self.requests.append(dict(data))
        for field in ("Initiator", "SecurityCredential"):
            if not _text(data.get(field), 1, 1024):
                return bad(field)
        if data.get("CommandID") != command:
            return bad("CommandID")
        if not _text(data.get("TransactionID"), 4, 40):
            return bad("TransactionID")
        for field in ("ResultURL", "QueueTimeOutURL"):
            url = data.get(field)
            if not (isinstance(url, str) and url.startswith(("http://", "https://")) and len(url) > 10):
                return bad(field)
        if data.get("Occasion") is not None and not _text(data.get("Occasion"), 0, 100):
            return bad("Occasion")
        return None

    def _accept(self, api: str, data: dict) -> Answer:
        now = datetime.now(timezone.utc)
        request = {"api": api, "data": dict(data), "at": now,
                   "conversation_id": f"AG_{daraja_time(now)[:8]}_{uuid.uuid4().hex[:20]}",
                   "originator_conversation_id": f"{uuid.uuid4().hex[:4]}-{uuid.uuid4().hex[:4]}-"
                                                 f"{uuid.uuid4().int % 10**12}"}
        self.sim._later(self.result_delay, self._finish, request)
        return 200, {"OriginatorConversationID": request["originator_conversation_id"],
                     "ConversationID": request["conversation_id"], "ResponseCode": "0",
                     "ResponseDescription": "Accept the service request successfully."}

    def _finish(self, request: dict[str, Any]) -> None:
        """Timer thread: decide, then POST the Result (or nothing, or a queue time-out)."""
        data, api = request["data"], request["api"]
        receipt = str(data["TransactionID"]).upper()
        outcome = self._chosen(api, receipt) or ("completed" if self._credentials_ok(data) else "credentials")
        if outcome == "no_result" or self.sim._stopping.is_set():
            return
        with self.sim._lock:  # decide and book the reversal at once: two requests never both succeed
            entry = self.sim.ledger.get(receipt)
            if outcome == "completed" and (entry is None or entry["kind"] == "reversal"):
                outcome = "unknown"
            if api == "reversal" and outcome == "completed" and entry["reversed_by"]:
                outcome = "already_reversed"
            body = self._body(request, outcome, entry)
        url = data["QueueTimeOutURL"] if outcome == "queue_timeout" else data["ResultURL"]
        status, answer = post_json(url, body)
        with self.sim._lock:
            self.results.append({"api": api, "receipt": receipt, "outcome": outcome, "url": url, "body": body,
                                 "status": status, "answer": answer})
            self.sim._lock.notify_all()

    def _body(self, request: dict[str, Any], outcome: str, entry: dict[str, Any] | None) -> dict:
        """The Result for `outcome`; a completed reversal is booked in the ledger (under the lock)."""
        api, data = request["api"], request["data"]
        code, desc = UNKNOWN_STATUS if (api, outcome) == ("status", "unknown") else OUTCOMES[outcome]
        if outcome == "queue_timeout":
            code, desc = 1037, "The request timed out in the queue."
        result: dict[str, Any] = {
            "ResultType": 0, "ResultCode": code,  # a number, or a string like "R000002"
            "ResultDesc": desc, "OriginatorConversationID": request["originator_conversation_id"],
            "ConversationID": request["conversation_id"],
            "TransactionID": str(data["TransactionID"]).upper()[:3] + "0000000"}
        if outcome == "completed" and entry is not None:
            if api == "status":
                result["ResultParameters"] = {"ResultParameter": self._status_parameters(request, entry)}
            else:
                result["TransactionID"] = self.sim._new_receipt()
                result["ResultParameters"] = {"ResultParameter": self._reversal_parameters(data, entry)}
                entry["reversed_by"] = result["TransactionID"]
                self.sim.ledger.add(result["TransactionID"], kind="reversal", amount=entry["amount"],
                                    phone=entry["phone"], short_code=entry["short_code"])
        if api == "status":  # the samples: the Occasion (without a Value when none was given)
            item = {"Key": "Occasion", **({"Value": data["Occasion"]} if data.get("Occasion") else {})}
        else:
            item = {"Key": "QueueTimeoutURL", "Value": REVERSAL_REFERENCE}
        result["ReferenceData"] = {"ReferenceItem": item}
        return {"Result": result}

    def _status_parameters(self, request: dict[str, Any], entry: dict[str, Any]) -> list[dict[str, Any]]:
        customer = f"{entry['phone']} - JOHN DOE"
        business = f"{entry['short_code']} - {self.sim.pull.organization}"
        when = daraja_time(entry["when"])
        phpm = self.style == "phpm"
        space = " " if phpm else ""
        parties = [{"Key": "DebitPartyName", "Value": customer},
                   {"Key": "CreditPartyName" if phpm else "DebitPartyName", "Value": business}]
        return [*([parties[1], parties[0]] if phpm else parties),
                {"Key": f"Originator{space}Conversation{space}ID", "Value": request["originator_conversation_id"]},
                {"Key": "InitiatedTime", "Value": int(when) if phpm else when},
                {"Key": "DebitAccountType", "Value": "MMF Account For Customer"},
                {"Key": "DebitPartyCharges"},
                {"Key": "TransactionReason"},
                {"Key": "ReasonType", "Value": "Pay Bill Online" if entry["kind"] == "stk" else "Pay Bill"},
                {"Key": "TransactionStatus", "Value": "Completed"},
                {"Key": "FinalizedTime" if phpm else "FinalisedTime", "Value": int(when) if phpm else when},
                {"Key": "Amount", "Value": entry["amount"] if phpm else f"{entry['amount']:g}"},
                {"Key": f"Conversation{space}ID", "Value": request["conversation_id"]},
                {"Key": "ReceiptNo", "Value": entry["receipt"]}]

    def _reversal_parameters(self, data: dict, entry: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"Key": "DebitAccountBalance", "Value": "Utility Account|KES|1000.00|1000.00|0.00|0.00"},
                {"Key": "Amount", "Value": float(_amount(data["Amount"]) or 0)},
                {"Key": "TransCompletedTime", "Value": int(daraja_time(datetime.now(timezone.utc)))},
                {"Key": "OriginalTransactionID", "Value": entry["receipt"]},
                {"Key": "Charge", "Value": 0.00},
                {"Key": "CreditPartyPublicName", "Value": f"{entry['phone']} - JOHN DOE"},
                {"Key": "DebitPartyPublicName", "Value": f"{entry['short_code']} - {self.sim.pull.organization}"}]

    def control(self, route: tuple[str, str], body: bytes) -> Answer | None:
        """`GET /__sim__/initiator` (requests, results, certificate); `POST /__sim__/initiator`
        with {"api": "status"|"reversal", "outcome": ..., "receipt": optional} or {"style": ...}."""
        if route == ("GET", "/__sim__/initiator"):
            with self.sim._lock:
                return 200, {"requests": list(self.requests), "results": list(self.results),
                             "initiator": self.initiator, "certificate": self.certificate_pem.decode()}
        if route == ("POST", "/__sim__/initiator"):
            try:
                data = json.loads(body)
                if not isinstance(data, dict) or not {"api", "style"} & set(data):
                    raise ValueError("nothing to change")
                if "style" in data:
                    if data["style"] not in ("daraja3", "phpm"):
                        raise ValueError("style is daraja3 or phpm")
                    self.style = data["style"]
                if "api" in data:
                    self.set_outcome(data["api"], data.get("outcome"), data.get("receipt"))
            except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as exc:
                return 400, {"error": f'expected JSON {{"api": "status"|"reversal", "outcome": one of {list(OUTCOMES)} '
                                      f'or null, "receipt": optional}} or {{"style": "daraja3"|"phpm"}}: {exc}'}
            return 200, {"ok": True}
        return None


def _text(value: Any, least: int, most: int) -> bool:
    return isinstance(value, str) and least <= len(value.strip()) <= most


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount > 0 else None
