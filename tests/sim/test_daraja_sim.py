"""The Daraja simulator: wire formats of docs/protocols.md §5.1-§5.6, callbacks, control, standalone run."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest
import requests

from hotspotd.errors import UpstreamError
from hotspotd.mpesa.client import SANDBOX_PASSKEY, DarajaClient, password, timestamp
from hotspotd.sim.daraja import RESULT_DESCS, DarajaSimulator

from ..loopback import QuietHandler, Served

PHONE = "254708374149"
NOW = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)
PUSH = "/mpesa/stkpush/v1/processrequest"
QUERY = "/mpesa/stkpushquery/v1/query"


class Receiver(Served):
    """A tiny callback endpoint: records each POST and answers as integrators do."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.changed = threading.Condition()
        owner = self

        class Handler(QuietHandler):
            def do_POST(self):
                raw = self.body()
                with owner.changed:
                    owner.posts.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                        "raw": raw.decode(), "body": json.loads(raw)})
                    owner.changed.notify_all()
                self.reply(b'{"ResultCode":0,"ResultDesc":"Accepted"}')

        super().__init__(Handler)
        self.url += "/api/payments/stk-callback/tok123"

    def wait_for(self, n: int, timeout: float = 5.0) -> list[dict]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.posts) >= n, timeout), f"{len(self.posts)} of {n} posts"
            return list(self.posts)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sim(make_sim):
    return make_sim(callback_delay=0.05)


def client_for(sim: DarajaSimulator) -> DarajaClient:
    return DarajaClient(sim.url, "sim-key", "sim-secret", "174379", SANDBOX_PASSKEY, timeout=5.0)


def token_for(sim: DarajaSimulator) -> str:
    return client_for(sim).access_token()


def push_body(**overrides) -> dict:
    ts = timestamp(NOW)
    body = {"BusinessShortCode": 174379, "Password": password("174379", SANDBOX_PASSKEY, ts), "Timestamp": ts,
            "TransactionType": "CustomerPayBillOnline", "Amount": "1", "PartyA": PHONE, "PartyB": "174379",
            "PhoneNumber": PHONE, "CallBackURL": "https://hotspot.example/api/payments/stk-callback/t",
            "AccountReference": "accountref", "TransactionDesc": "txndesc"}
    body.update(overrides)
    return body


def post(sim: DarajaSimulator, path: str, token: str, **kwargs) -> requests.Response:
    return requests.post(sim.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=5, **kwargs)


def items(callback: dict) -> dict:
    return {item["Name"]: item.get("Value", "<none>")
            for item in callback["Body"]["stkCallback"]["CallbackMetadata"]["Item"]}


# -- OAuth and tokens -------------------------------------------------------------------

@pytest.mark.parametrize("as_string,expected", [(True, "3599"), (False, 3599)])
def test_oauth_issues_tokens_with_expires_in_as_configured(make_sim, as_string, expected):
    sim = make_sim(expires_in_as_string=as_string)
    answer = requests.get(sim.url + "/oauth/v1/generate?grant_type=client_credentials",
                          auth=("sim-key", "sim-secret"), timeout=5)
    assert answer.status_code == 200
    assert answer.json()["expires_in"] == expected
    assert re.fullmatch(r"[A-Za-z0-9]{28}", answer.json()["access_token"])


@pytest.mark.parametrize("query,auth,code", [
    ("grant_type=client_credentials", ("sim-key", "wrong"), "400.008.01"),
    ("grant_type=password", ("sim-key", "sim-secret"), "400.008.02"),
])
def test_oauth_errors(sim, query, auth, code):
    answer = requests.get(f"{sim.url}/oauth/v1/generate?{query}", auth=auth, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["errorCode"] == code and answer.json()["requestId"]
    assert sim.tokens_issued == 0


@pytest.mark.parametrize("path", [PUSH, QUERY])
def test_calls_need_a_valid_bearer_token(sim, path):
    answer = post(sim, path, "made-up", json=push_body())
    assert answer.status_code == 404
    assert answer.json()["errorCode"] == "404.001.03"
    assert answer.json()["errorMessage"] == "Invalid Access Token"


# -- STK push validation --------------------------------------------------------------

def test_doc_style_push_is_accepted(sim):
    answer = post(sim, PUSH, token_for(sim), json=push_body(PhoneNumber="254112345678", PartyA="254112345678"))
    assert answer.status_code == 200
    data = answer.json()
    assert data["ResponseCode"] == "0"
    assert data["CustomerMessage"] == "Success. Request accepted for processing"
    assert re.fullmatch(r"ws_CO_\d{14}\d+", data["CheckoutRequestID"])
    assert sim.pushes[0]["amount"] == 1 and sim.pushes[0]["outcome"] == "success"


@pytest.mark.parametrize("field,value", [
    ("BusinessShortCode", "600000"), ("Timestamp", "2021-06-28 09:24"), ("TransactionType", "Pay"),
    ("Amount", 0), ("Amount", 1.5), ("Amount", "ten"), ("Amount", None),
    ("PhoneNumber", "0712345678"), ("PhoneNumber", "255712345678"), ("PartyA", "25471234567"),
    ("PartyB", "600000"), ("PartyB", "17437x"),
    ("CallBackURL", "ftp://hotspot.example/cb"), ("CallBackURL", "https://hotspot.example/MPesa/cb"),
    ("CallBackURL", "https://safaricom.hotspot.example/cb"), ("CallBackURL", "https://x.example/cb?Query=1"),
    ("CallBackURL", "not a url"), ("AccountReference", "A" * 13), ("AccountReference", ""),
    ("TransactionDesc", "D" * 14),
])
def test_invalid_push_fields_are_named(sim, field, value):
    answer = post(sim, PUSH, token_for(sim), json=push_body(**{field: value}))
    assert answer.status_code == 400
    assert answer.json()["errorCode"] == "400.002.02"
    assert answer.json()["errorMessage"] == f"Bad Request - Invalid {field}"
    assert sim.pushes == []


def test_wrong_password_is_wrong_credentials(sim):
    answer = post(sim, PUSH, token_for(sim), json=push_body(Password=base64.b64encode(b"nope").decode()))
    assert answer.status_code == 500
    assert answer.json()["errorCode"] == "500.001.1001"


# docs/protocols.md §5.2: the doc's request, whose Password decodes to 174379 + passkey + Timestamp.
DOC_TIMESTAMP = "20210628092408"
DOC_PASSWORD = ("MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiNzJhZGExZWQyYzkx"
                "OTIwMjEwNjI4MDkyNDA4")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_the_documented_password_is_accepted(sim):
    answer = post(sim, PUSH, token_for(sim), json=push_body(Password=DOC_PASSWORD, Timestamp=DOC_TIMESTAMP))
    assert answer.status_code == 200, answer.json()
    query = post(sim, QUERY, token_for(sim), json={"BusinessShortCode": "174379", "Password": DOC_PASSWORD,
                                                   "Timestamp": DOC_TIMESTAMP,
                                                   "CheckoutRequestID": answer.json()["CheckoutRequestID"]})
    assert query.json()["errorMessage"] == "The transaction is being processed"  # past the credentials


@pytest.mark.parametrize("made", [
    b64("bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919" + "174379" + DOC_TIMESTAMP),
    b64("174379" + DOC_TIMESTAMP + "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"),
    b64("174379:bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919:" + DOC_TIMESTAMP),
    b64("174379" + "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919" + "20210628092409"),
    "174379" + "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919" + DOC_TIMESTAMP,
    DOC_PASSWORD.rstrip("=") + "A",
], ids=["passkey-first", "timestamp-before-passkey", "with-colons", "another-second", "not-base64", "altered"])
@pytest.mark.parametrize("path", [PUSH, QUERY])
def test_a_password_made_another_way_is_wrong_credentials(sim, path, made):
    body = push_body(Password=made, Timestamp=DOC_TIMESTAMP, CheckoutRequestID="ws_CO_x")
    answer = post(sim, path, token_for(sim), json=body)
    assert (answer.status_code, answer.json()["errorCode"]) == (500, "500.001.1001")
    assert answer.json()["errorMessage"] == "Wrong credentials"
    assert sim.pushes == []


@pytest.mark.parametrize("kwargs", [
    {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
    {"data": b"[1, 2]", "headers": {"Content-Type": "application/json"}},
    {"data": b"\xff\xfe", "headers": {"Content-Type": "application/json"}},
    {"data": b"BusinessShortCode=174379", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
])
def test_malformed_bodies_get_a_json_400(sim, kwargs):
    token = token_for(sim)
    kwargs["headers"]["Authorization"] = f"Bearer {token}"
    answer = requests.post(sim.url + PUSH, timeout=5, **kwargs)
    assert answer.status_code == 400
    assert answer.json()["errorCode"] == "400.002.02"
    assert post(sim, PUSH, token, json=push_body()).status_code == 200  # still serving


def test_a_bad_content_length_gets_a_json_400(sim):
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as conn:
        conn.sendall(f"POST {PUSH} HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n".encode())
        reply = conn.makefile("rb").read().decode()
    assert reply.startswith("HTTP/1.0 400")
    assert json.loads(reply.split("\r\n\r\n", 1)[1])["errorCode"] == "400.002.02"


def test_unknown_paths_and_methods(sim):
    assert requests.get(sim.url + "/nowhere", timeout=5).json()["errorCode"] == "404.001.01"
    answer = requests.get(sim.url + PUSH, timeout=5)
    assert (answer.status_code, answer.json()["errorCode"]) == (405, "405.001")


def test_pushes_record_who_is_paid(sim):
    assert post(sim, PUSH, token_for(sim), json=push_body()).status_code == 200
    [push] = sim.pushes
    assert (push["transaction_type"], push["party_b"]) == ("CustomerPayBillOnline", "174379")


def test_buy_goods_must_pay_the_configured_till(make_sim):
    sim = make_sim(till="5432101")
    token = token_for(sim)
    till = post(sim, PUSH, token, json=push_body(TransactionType="CustomerBuyGoodsOnline", PartyB="5432101"))
    assert till.status_code == 200
    assert (sim.pushes[0]["transaction_type"], sim.pushes[0]["party_b"]) == ("CustomerBuyGoodsOnline", "5432101")
    for other in ("174379", "5432102"):  # the store number, or somebody else's till
        answer = post(sim, PUSH, token, json=push_body(TransactionType="CustomerBuyGoodsOnline", PartyB=other))
        assert answer.status_code == 400
        assert (answer.json()["errorCode"], answer.json()["errorMessage"]) == ("400.002.02", "Bad Request - Invalid PartyB")
    assert len(sim.pushes) == 1


def test_the_client_pays_the_till_it_is_given(make_sim):
    sim = make_sim(till="5432101")
    client = DarajaClient(sim.url, "sim-key", "sim-secret", "174379", SANDBOX_PASSKEY,
                          transaction_type="CustomerBuyGoodsOnline", party_b="5432101", timeout=5.0)
    accepted = client.stk_push(phone=PHONE, amount=10, callback_url="http://127.0.0.1:9/cb", account_reference="H",
                               description="W", now=NOW)
    [push] = sim.pushes
    assert push["checkout_request_id"] == accepted.checkout_request_id and push["party_b"] == "5432101"
    # a client that paid the store number instead of the till is refused
    without_till = DarajaClient(sim.url, "sim-key", "sim-secret", "174379", SANDBOX_PASSKEY,
                                transaction_type="CustomerBuyGoodsOnline", timeout=5.0)
    with pytest.raises(UpstreamError) as caught:
        without_till.stk_push(phone=PHONE, amount=10, callback_url="http://127.0.0.1:9/cb", account_reference="H",
                              description="W", now=NOW)
    assert (caught.value.code, caught.value.retryable) == ("400.002.02", False)
    assert len(sim.pushes) == 1


def test_fail_next_push_fails_only_the_next_one(sim):
    token = token_for(sim)
    sim.fail_next_push("500.003.03", "Quota Violation", 429)
    answer = post(sim, PUSH, token, json=push_body())
    assert (answer.status_code, answer.json()["errorCode"]) == (429, "500.003.03")
    assert post(sim, PUSH, token, json=push_body()).status_code == 200


def test_checkout_ids_and_receipts_are_unique(sim, receiver):
    client = client_for(sim)
    for _ in range(5):
        client.stk_push(phone=PHONE, amount=5, callback_url=receiver.url, account_reference="Hotspot",
                        description="WiFi", now=NOW)
    posts = receiver.wait_for(5)
    assert len({p["checkout_request_id"] for p in sim.pushes}) == 5
    assert len({items(p["body"])["MpesaReceiptNumber"] for p in posts}) == 5


# -- callbacks --------------------------------------------------------------------

def push_via_client(sim, receiver, amount=10, phone=PHONE):
    return client_for(sim).stk_push(phone=phone, amount=amount, callback_url=receiver.url,
                                    account_reference="Hotspot", description="WiFi", now=NOW)


def test_success_callback_shape(sim, receiver):
    before = timestamp(datetime.now(timezone.utc))
    accepted = push_via_client(sim, receiver)
    [post_] = receiver.wait_for(1)
    after = timestamp(datetime.now(timezone.utc))
    assert post_["content_type"] == "application/json;charset=UTF-8"
    assert post_["path"] == "/api/payments/stk-callback/tok123"
    callback = post_["body"]["Body"]["stkCallback"]
    assert callback["ResultCode"] == 0 and callback["ResultDesc"] == RESULT_DESCS[0]
    assert callback["CheckoutRequestID"] == accepted.checkout_request_id
    assert callback["MerchantRequestID"] == accepted.merchant_request_id
    found = items(post_["body"])
    assert isinstance(found["Amount"], float) and found["Amount"] == 10.0 and '"Value": 10.0' in post_["raw"]
    assert re.fullmatch(r"[A-Z0-9]{10}", found["MpesaReceiptNumber"])
    assert found["Balance"] == "<none>"
    assert isinstance(found["TransactionDate"], int) and before <= str(found["TransactionDate"]) <= after
    assert found["PhoneNumber"] == int(PHONE)
    sim.wait_for_callbacks(1)
    assert sim.callbacks[0]["status"] == 200 and "Accepted" in sim.callbacks[0]["response"]
    assert sim.callbacks[0]["body"] == post_["body"] and sim.callbacks[0]["url"] == receiver.url


@pytest.mark.parametrize("outcome,code", [("cancelled", 1032), ("timeout", 1037), ("insufficient", 1)])
def test_failure_callback_shape(sim, receiver, outcome, code):
    sim.set_outcome(outcome)
    push_via_client(sim, receiver)
    callback = receiver.wait_for(1)[0]["body"]["Body"]["stkCallback"]
    assert callback["ResultCode"] == code and callback["ResultDesc"] == RESULT_DESCS[code]
    assert "CallbackMetadata" not in callback


def test_outcome_for_one_phone_and_a_different_paid_amount(sim, receiver):
    sim.set_outcome("cancelled", "254711000111")
    sim.set_outcome("success", PHONE, paid_amount=1)
    push_via_client(sim, receiver, phone="254711000111")
    push_via_client(sim, receiver, amount=50)
    posts = receiver.wait_for(2)
    by_code = {p["body"]["Body"]["stkCallback"]["ResultCode"]: p["body"] for p in posts}
    assert set(by_code) == {0, 1032}
    assert items(by_code[0])["Amount"] == 1.0


def outcomes_of_pushes(sim, receiver, phones) -> list[str]:
    """Push once from each phone in turn; the outcome the simulator gave each push."""
    before = len(sim.pushes)
    for phone in phones:
        push_via_client(sim, receiver, phone=phone)
    return [p["outcome"] for p in sim.pushes[before:]]


def test_an_outcome_without_times_sticks(sim, receiver):
    sim.set_outcome("cancelled")
    assert outcomes_of_pushes(sim, receiver, [PHONE] * 3) == ["cancelled"] * 3


def test_an_outcome_with_times_applies_to_the_next_pushes_then_the_earlier_one_returns(sim, receiver):
    assert outcomes_of_pushes(sim, receiver, [PHONE]) == ["success"]
    sim.set_outcome("cancelled", times=1)
    assert outcomes_of_pushes(sim, receiver, [PHONE] * 2) == ["cancelled", "success"]
    sim.set_outcome("timeout")
    sim.set_outcome("insufficient", times=2)
    sim.set_outcome("cancelled", times=1)  # queued after the first one-shot
    assert outcomes_of_pushes(sim, receiver, [PHONE] * 5) == \
        ["insufficient", "insufficient", "cancelled", "timeout", "timeout"]
    # callbacks arrive in any order (each after its own delay): all eight, as a multiset
    codes = [p["body"]["Body"]["stkCallback"]["ResultCode"] for p in receiver.wait_for(8)]
    assert sorted(codes) == sorted([0, 1032, 0, 1, 1, 1032, 1037, 1037])


def test_a_one_shot_for_one_phone_waits_for_that_phone(sim, receiver):
    sim.set_outcome("cancelled", "254711000111", times=1)
    assert outcomes_of_pushes(sim, receiver, [PHONE, "254711000111", "254711000111"]) == \
        ["success", "cancelled", "success"]


def test_a_one_shot_paid_amount(sim, receiver):
    sim.set_outcome("success", paid_amount=1, times=1)
    push_via_client(sim, receiver, amount=50)
    push_via_client(sim, receiver, amount=50)
    amounts = sorted(items(p["body"])["Amount"] for p in receiver.wait_for(2))
    assert amounts == [1.0, 50.0]


def test_a_sticky_outcome_drops_waiting_one_shots(sim, receiver):
    sim.set_outcome("cancelled", times=3)
    sim.set_outcome("timeout")
    assert outcomes_of_pushes(sim, receiver, [PHONE] * 2) == ["timeout", "timeout"]


def test_refused_pushes_do_not_use_up_a_one_shot(sim, receiver):
    sim.set_outcome("cancelled", times=1)
    sim.fail_next_push()
    with pytest.raises(UpstreamError):
        push_via_client(sim, receiver)
    assert outcomes_of_pushes(sim, receiver, [PHONE] * 2) == ["cancelled", "success"]


@pytest.mark.parametrize("times", [0, -1, 1.5, "1", True])
def test_times_must_be_a_whole_number_of_pushes(sim, times):
    with pytest.raises(ValueError, match="times"):
        sim.set_outcome("cancelled", times=times)
    answer = requests.post(sim.url + "/__sim__/outcome", json={"outcome": "cancelled", "times": times}, timeout=5)
    assert answer.status_code == 400 and "times" in answer.json()["error"]


def test_reset_goes_back_to_the_settings_it_was_made_with(make_sim, receiver):
    sim = make_sim(callback_delay=0.05, duplicate_count=2, till="5432101")
    sim.set_outcome("cancelled")
    sim.set_outcome("timeout", PHONE)
    sim.set_outcome("insufficient", times=5)
    sim.fail_next_push()
    sim.stall(30)
    sim.duplicate_count, sim.callback_delay, sim.till = 7, 9.0, None
    sim.reset()
    assert (sim.duplicate_count, sim.callback_delay, sim.till) == (2, 0.05, "5432101")
    started = time.monotonic()
    assert outcomes_of_pushes(sim, receiver, [PHONE, "254711000111"]) == ["success", "success"]
    assert time.monotonic() - started < 10  # no stall left
    assert len(receiver.wait_for(2)) == 2


def test_duplicate_posts_identical_callbacks(make_sim, receiver):
    sim = make_sim(callback_delay=0.05, duplicate_count=3)
    sim.set_outcome("duplicate")
    push_via_client(sim, receiver)
    sim.wait_for_callbacks(3)
    posts = receiver.wait_for(3)
    assert len({p["raw"] for p in posts}) == 1
    assert posts[0]["body"]["Body"]["stkCallback"]["ResultCode"] == 0


def test_no_callback_posts_nothing_but_the_query_resolves(sim, receiver):
    sim.set_outcome("no_callback")
    client = client_for(sim)
    accepted = push_via_client(sim, receiver)
    deadline = time.monotonic() + 5
    while (answer := client.stk_query(accepted.checkout_request_id, now=NOW)).pending:
        assert time.monotonic() < deadline, "query still pending"
        time.sleep(0.02)
    assert answer.result_code == "0"
    assert sim.callbacks == [] and receiver.posts == []


def test_a_dead_callback_url_is_recorded_and_the_simulator_carries_on(sim):
    client = client_for(sim)
    client.stk_push(phone=PHONE, amount=1, callback_url="http://127.0.0.1:9/cb", account_reference="H",
                    description="W", now=NOW)
    sim.wait_for_callbacks(1)
    assert sim.callbacks[0]["status"] is None and sim.callbacks[0]["response"]
    assert client.stk_push(phone=PHONE, amount=1, callback_url="http://127.0.0.1:9/cb", account_reference="H",
                           description="W", now=NOW).checkout_request_id


def test_wait_for_callbacks_times_out_clearly(sim):
    with pytest.raises(TimeoutError, match="expected 1"):
        sim.wait_for_callbacks(1, timeout=0.1)


# -- control endpoints and the standalone process -------------------------------------

def test_control_endpoint_one_shot(sim, receiver):
    answer = requests.post(sim.url + "/__sim__/outcome", json={"outcome": "cancelled", "times": 1}, timeout=5)
    assert answer.json() == {"ok": True}
    assert outcomes_of_pushes(sim, receiver, [PHONE] * 2) == ["cancelled", "success"]
    requests.post(sim.url + "/__sim__/outcome", json={"outcome": "timeout", "phone": PHONE, "times": 2}, timeout=5)
    assert outcomes_of_pushes(sim, receiver, [PHONE] * 3) == ["timeout", "timeout", "success"]


def test_control_endpoints(sim, receiver):
    assert requests.post(sim.url + "/__sim__/outcome", json={"outcome": "cancelled"}, timeout=5).json() == {"ok": True}
    bad = requests.post(sim.url + "/__sim__/outcome", json={"outcome": "maybe"}, timeout=5)
    assert bad.status_code == 400 and "outcome" in bad.json()["error"]
    assert requests.post(sim.url + "/__sim__/outcome", data=b"{", timeout=5).status_code == 400
    accepted = push_via_client(sim, receiver)
    sim.wait_for_callbacks(1)
    pushes = requests.get(sim.url + "/__sim__/pushes", timeout=5).json()
    assert pushes[0]["checkout_request_id"] == accepted.checkout_request_id and pushes[0]["outcome"] == "cancelled"
    callbacks = requests.get(sim.url + "/__sim__/callbacks", timeout=5).json()
    assert callbacks[0]["body"]["Body"]["stkCallback"]["ResultCode"] == 1032


def test_simulator_refuses_unknown_outcomes(sim):
    with pytest.raises(ValueError, match="unknown outcome"):
        sim.set_outcome("maybe")


@pytest.mark.e2e
def test_standalone_process_serves_and_exits_cleanly_on_sigterm():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "hotspotd.sim.daraja", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert f"127.0.0.1:{port}" in proc.stdout.readline()
        answer = requests.get(f"http://127.0.0.1:{port}/oauth/v1/generate?grant_type=client_credentials",
                              auth=("sim-key", "sim-secret"), timeout=5)
        assert answer.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
