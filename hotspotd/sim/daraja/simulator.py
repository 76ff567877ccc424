"""The Daraja simulator's rules: tokens, STK pushes, callbacks and queries, in one object.

The HTTP front (`http.py`) only parses and answers; `DarajaSimulator.handle()` decides.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import string
from collections import deque
from datetime import datetime, timezone
from functools import partial
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from ...phone import mask
from . import c2b
from ..served import ServedSimulator
from .http import Handler
from .initiator import InitiatorSimulator
from .ledger import Ledger
from .outbound import post
from .pull import PullSimulator
from .wire import (OUTCOMES, PUSH_RULES, RESULT_DESCS, SANDBOX_PASSKEY, Answer, bad, daraja_time, error,
                   failure_callback, request_id, stk_password, success_callback, whole_number)

log = logging.getLogger(__name__)


class DarajaSimulator(ServedSimulator):
    """An in-process Daraja on 127.0.0.1; `start()` it, point a client at `url`.

    PartyB is checked (docs/protocols.md §5.2): a CustomerPayBillOnline push pays
    the BusinessShortCode itself; a CustomerBuyGoodsOnline push pays a till, which must be
    `till` when one is given (any number otherwise). Each push is kept in `pushes`.
    """

    handler = Handler
    name = "Daraja simulator"

    def __init__(self, *, consumer_key: str = "sim-key", consumer_secret: str = "sim-secret",
                 shortcode: str = "174379", passkey: str = SANDBOX_PASSKEY, till: str | None = None,
                 callback_delay: float = 0.3, expires_in_as_string: bool = True, duplicate_count: int = 3,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.shortcode, self.passkey = str(shortcode), passkey
        self.till = None if till is None else str(till)
        # what reset() goes back to: the settings a test may change on a running simulator
        self._initial = {"callback_delay": callback_delay, "duplicate_count": duplicate_count,
                         "expires_in_as_string": expires_in_as_string, "till": self.till}
        self.callback_delay, self.duplicate_count = callback_delay, duplicate_count
        self.expires_in_as_string = expires_in_as_string
        self._serve_on(host, port)
        self.pushes: list[dict] = []
        self.callbacks: list[dict] = []
        self.tokens_issued = 0  # OAuth answers given, for caching tests
        self._tokens: set[str] = set()
        self._outcome: tuple[str, int | None] = ("success", None)
        self._phone_outcomes: dict[str, tuple[str, int | None]] = {}
        # one-shot outcomes, for every phone (key None) or one phone: [outcome, paid, pushes left]
        self._once: dict[str | None, deque[list]] = {}
        self._failures: deque[tuple[str, str, int]] = deque()
        self._stall = 0.0
        self._results: dict[str, tuple[int, str] | None] = {}  # checkout id -> decided result
        self._by_id: dict[str, dict] = {}
        self._receipts: set[str] = set()
        self.c2b = c2b.C2BSimulator(self)  # Paybill: register, simulate, validation, confirmation
        self.ledger = Ledger(self._lock)  # every transaction that moved money, by receipt
        self.pull = PullSimulator(self)  # Pull Transactions over the ledger's C2B payments
        self.initiator = InitiatorSimulator(self)  # Transaction Status and Reversal
        stk_token = lambda: error(404, "404.001.03", "Invalid Access Token")  # noqa: E731
        c2b_token = lambda: error(400, "400.003.01", "Invalid Access Token")  # noqa: E731 (C2B's pages)
        # path -> (what answers a request, what answers an unknown token)
        self._apis: dict[str, tuple[Callable[[dict], Answer], Callable[[], Answer]]] = {
            "/mpesa/stkpush/v1/processrequest": (self._push, stk_token),
            "/mpesa/stkpushquery/v1/query": (self._query, stk_token),
            **{path: (partial(self.c2b.handle, path), c2b_token) for path in c2b.PATHS},
            **self.pull.routes(), **self.initiator.routes()}

    def set_outcome(self, outcome: str, phone: str | None = None, *, paid_amount: int | None = None,
                    times: int | None = None) -> None:
        """How later pushes end: for every phone, or only for `phone`.

        Without `times` the outcome sticks: every later push ends so, until the next call.
        With `times=N` it is a one-shot: the next N pushes end so, then the earlier setting
        returns. One-shots given one after another queue up in that order; a sticky call
        drops the one-shots still waiting for the same phone (or for every phone).

        A push from a phone takes, first found: that phone's one-shot, that phone's sticky
        outcome, a one-shot for every phone, the sticky outcome for every phone. Only pushes
        that are accepted count (not those refused, or failed by `fail_next_push`).

        `paid_amount` makes a success callback report that amount instead of the one asked.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; choose one of {', '.join(OUTCOMES)}")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise ValueError(f"times must be a whole number of pushes, at least 1, not {times!r}")
        key = None if phone is None else str(phone)
        with self._lock:
            if times is not None:
                self._once.setdefault(key, deque()).append([outcome, paid_amount, times])
                return
            self._once.pop(key, None)
            if key is None:
                self._outcome = (outcome, paid_amount)
            else:
                self._phone_outcomes[key] = (outcome, paid_amount)

    def reset(self) -> None:
        """Back to the settings the simulator was made with: every push succeeds, no queued
        failures or one-shots, no stall, the original callback_delay, duplicate_count,
        expires_in_as_string and till. What already happened (pushes, callbacks, tokens,
        callbacks still to be sent) is kept."""
        with self._lock:
            self._outcome = ("success", None)
            self._phone_outcomes.clear()
            self._once.clear()
            self._failures.clear()
            self._stall = 0.0
            for name, value in self._initial.items():
                setattr(self, name, value)
            self.c2b.validation, self.c2b.duplicates, self.c2b.drop_confirmations = True, 0, False
        self.pull.reset()
        self.initiator.reset()

    def _take_outcome(self, phone: str) -> tuple[str, int | None]:
        """The outcome of an accepted push from `phone` (see set_outcome); under the lock."""
        for key, sticky in ((phone, self._phone_outcomes.get(phone)), (None, self._outcome)):
            waiting = self._once.get(key)
            if waiting:
                entry = waiting[0]
                entry[2] -= 1
                if entry[2] == 0:
                    waiting.popleft()
                return entry[0], entry[1]
            if sticky is not None:
                return sticky
        return self._outcome

    def fail_next_push(self, error_code: str = "500.003.02", message: str = "System is busy",
                       status: int = 500) -> None:
        """The next STK push gets this error body instead of being accepted."""
        with self._lock:
            self._failures.append((error_code, message, status))

    def stall(self, seconds: float) -> None:
        """Every Daraja request waits `seconds` before answering; 0 turns it off."""
        self._stall = max(float(seconds), 0.0)

    def revoke_tokens(self) -> None:
        """Forget every issued token, as when Daraja expires them early."""
        with self._lock:
            self._tokens.clear()

    def wait_for_callbacks(self, n: int, timeout: float = 10.0) -> None:
        """Block until at least `n` callback POSTs were made; TimeoutError otherwise."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.callbacks) >= n, timeout):
                raise TimeoutError(f"Daraja simulator made {len(self.callbacks)} callback POST(s) "
                                   f"within {timeout} s, expected {n}")

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """Answer one HTTP request: (status, JSON-able body)."""
        parts = urlsplit(path)
        route = (method, parts.path)
        if parts.path.startswith("/__sim__/"):
            return self._control(route, body)
        if self._stall:
            self._stopping.wait(self._stall)
        if route == ("GET", "/oauth/v1/generate"):
            return self._oauth(parse_qs(parts.query), headers.get("authorization", ""))
        api = self._apis.get(parts.path)
        if api is not None:
            if method != "POST":
                return error(405, "405.001", "Method Not Allowed")
            auth = headers.get("authorization", "")
            with self._lock:
                known = auth.startswith("Bearer ") and auth[7:] in self._tokens
            if not known:
                return api[1]()
            if "json" not in headers.get("content-type", "").lower():
                return bad("Content-Type")
            try:
                data = json.loads(body)
            except ValueError:  # UnicodeDecodeError included
                data = None
            if not isinstance(data, dict):
                return bad("JSON")
            return api[0](data)
        return error(404, "404.001.01", "Resource not found")

    def _oauth(self, query: dict[str, list[str]], auth: str) -> Answer:
        if query.get("grant_type") != ["client_credentials"]:
            return error(400, "400.008.02", "Invalid grant type passed")
        expected = base64.b64encode(f"{self.consumer_key}:{self.consumer_secret}".encode()).decode()
        if auth != f"Basic {expected}":
            return error(400, "400.008.01", "Invalid Authentication passed")
        token = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(28))
        with self._lock:
            self._tokens.add(token)
            self.tokens_issued += 1
        return 200, {"access_token": token, "expires_in": "3599" if self.expires_in_as_string else 3599}

    def _check_credentials(self, data: dict) -> Answer | None:
        if str(data.get("BusinessShortCode")) != self.shortcode:
            return bad("BusinessShortCode")
        ts = data.get("Timestamp")
        try:
            if not (isinstance(ts, str) and len(ts) == 14 and ts.isdigit()):
                raise ValueError(ts)
            datetime.strptime(ts, "%Y%m%d%H%M%S")
        except ValueError:
            return bad("Timestamp")
        if data.get("Password") != stk_password(self.shortcode, self.passkey, ts):
            # docs/protocols.md §5.3: a bad Password is 500.001.1001 "Wrong credentials", not 400.
            return error(500, "500.001.1001", "Wrong credentials")
        return None

    def _push(self, data: dict) -> Answer:
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure:
            return error(failure[2], failure[0], failure[1])
        problem = self._check_credentials(data)
        if problem:
            return problem
        for field, valid in PUSH_RULES:
            if not valid(data.get(field)):
                return bad(field)
        party_b = str(data["PartyB"])
        if data["TransactionType"] == "CustomerPayBillOnline":
            receiver = self.shortcode
        else:
            receiver = party_b if self.till is None else self.till
        if party_b != receiver:
            return bad("PartyB")
        phone = str(data["PhoneNumber"])
        with self._lock:
            outcome, paid = self._take_outcome(phone)
            checkout_id = self._new_checkout_id()
            push = {"checkout_request_id": checkout_id, "merchant_request_id": request_id(),
                    "phone": phone, "amount": whole_number(data["Amount"]), "callback_url": data["CallBackURL"],
                    "account_reference": data["AccountReference"], "transaction_type": data["TransactionType"],
                    "party_b": party_b, "outcome": outcome}
            self.pushes.append(push)
            self._results[checkout_id] = None
            self._by_id[checkout_id] = push
            self._later(self.callback_delay, self._finish, push, paid)
        log.info("Simulated STK push %s for %s: %s", checkout_id, mask(phone), outcome)
        return 200, {"MerchantRequestID": push["merchant_request_id"], "CheckoutRequestID": checkout_id,
                     "ResponseCode": "0", "ResponseDescription": "Success. Request accepted for processing",
                     "CustomerMessage": "Success. Request accepted for processing"}

    def _query(self, data: dict) -> Answer:
        problem = self._check_credentials(data)
        if problem:
            return problem
        checkout_id = data.get("CheckoutRequestID")
        with self._lock:
            if checkout_id not in self._results:
                return bad("CheckoutRequestID")
            result = self._results[checkout_id]
            push = self._by_id[checkout_id]
        if result is None:
            return error(500, "500.001.1001", "The transaction is being processed")
        return 200, {"ResponseCode": "0",
                     "ResponseDescription": "The service request has been accepted successfully",
                     "MerchantRequestID": push["merchant_request_id"], "CheckoutRequestID": checkout_id,
                     "ResultCode": str(result[0]), "ResultDesc": result[1]}

    def _control(self, route: tuple[str, str], body: bytes) -> Answer:
        if route == ("GET", "/__sim__/pushes"):
            with self._lock:
                return 200, list(self.pushes)
        if route == ("GET", "/__sim__/callbacks"):
            with self._lock:
                return 200, list(self.callbacks)
        if route == ("GET", "/__sim__/c2b"):
            return 200, self.c2b.public()
        if route == ("POST", "/__sim__/paybill"):  # a customer pays by hand (for the demo)
            try:
                data = json.loads(body)
                self.c2b.pay(amount=int(data["amount"]), phone=str(data["phone"]), account=str(data["account"]))
            except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
                return 400, {"error": f'expected JSON {{"amount": 10, "phone": "2547...", "account": "..."}}: {exc}'}
            return 200, {"ok": True}
        if route == ("POST", "/__sim__/outcome"):
            try:
                data = json.loads(body)
                self.set_outcome(data["outcome"], data.get("phone"), paid_amount=data.get("paid_amount"),
                                 times=data.get("times"))
            except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
                return 400, {"error": f"expected JSON {{\"outcome\": one of {list(OUTCOMES)}, \"phone\": "
                                      f"optional, \"paid_amount\": optional, \"times\": optional (the next N "
                                      f"pushes only; sticks without it)}}: {exc}"}
            return 200, {"ok": True}
        if route == ("GET", "/__sim__/ledger"):
            return 200, self.ledger.public()
        for part in (self.pull, self.initiator):
            answer = part.control(route, body)
            if answer is not None:
                return answer
        return 404, {"error": "unknown simulator control endpoint"}

    def _finish(self, push: dict, paid: int | None) -> None:
        """Timer thread: decide the result, then POST the callback(s) it calls for."""
        outcome = push["outcome"]
        code = OUTCOMES[outcome]
        checkout_id, merchant_id = push["checkout_request_id"], push["merchant_request_id"]
        if code == 0:
            with self._lock:
                receipt = self._new_receipt()
            amount = paid if paid is not None else push["amount"]
            push["receipt"] = receipt
            body = success_callback(checkout_id, merchant_id, amount, receipt, push["phone"],
                                    datetime.now(timezone.utc))
            self.ledger.add(receipt, kind="stk", amount=amount, phone=push["phone"], short_code=push["party_b"],
                            account=push["account_reference"], command=push["transaction_type"])
        else:
            body = failure_callback(checkout_id, merchant_id, code, RESULT_DESCS[code])
        with self._lock:
            self._results[checkout_id] = (code, RESULT_DESCS[code])
        posts = {"no_callback": 0, "duplicate": self.duplicate_count}.get(outcome, 1)
        for _ in range(posts):
            if self._stopping.is_set():
                return
            self._post_callback(push["callback_url"], body)

    def _post_callback(self, url: str, body: dict) -> None:
        status, response = post(url, body, content_type="application/json;charset=UTF-8")
        with self._lock:
            self.callbacks.append({"url": url, "status": status, "body": body, "response": response})
            self._lock.notify_all()

    def _new_checkout_id(self) -> str:
        while True:
            found = f"ws_CO_{daraja_time(datetime.now(timezone.utc))}{secrets.randbelow(10**12):012d}"
            if found not in self._results:
                return found

    def _new_receipt(self) -> str:
        alphabet = string.ascii_uppercase + string.digits
        while True:
            receipt = secrets.choice(string.ascii_uppercase) + "".join(secrets.choice(alphabet) for _ in range(9))
            if receipt not in self._receipts:
                self._receipts.add(receipt)
                return receipt
