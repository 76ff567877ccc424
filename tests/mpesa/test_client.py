"""The real Daraja client, alone and against the Daraja simulator (real sockets, no mocks)."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timezone

import pytest

from hotspotd.errors import InvalidInput, UpstreamError
from hotspotd.mpesa.client import SANDBOX_PASSKEY, DarajaClient, password, timestamp
from hotspotd.sim.daraja import OUTCOMES

from ..clock import FakeClock
from ..loopback import QuietHandler, Served, free_port, wait_for

PHONE = "254708374149"
NOW = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)
DEAD_CALLBACK = "http://127.0.0.1:9/api/payments/stk-callback/tok"


@pytest.fixture
def sim(make_sim):
    return make_sim(callback_delay=0.2)


def make_client(url: str, **kwargs) -> DarajaClient:
    options = dict(consumer_key="sim-key", consumer_secret="sim-secret", shortcode="174379",
                   passkey=SANDBOX_PASSKEY, timeout=5.0)
    options.update(kwargs)
    return DarajaClient(url, **options)


def push(client: DarajaClient, **overrides):
    args = dict(phone=PHONE, amount=10, callback_url=DEAD_CALLBACK, account_reference="Hotspot",
                description="1 hour WiFi", now=NOW)
    args.update(overrides)
    return client.stk_push(**args)


# -- pure functions -------------------------------------------------------------------

def test_password_matches_the_daraja_doc_vector():
    assert password("174379", SANDBOX_PASSKEY, "20210628092408") == (
        "MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiNzJhZGExZWQyYzkx"
        "OTIwMjEwNjI4MDkyNDA4")


def test_timestamp_is_nairobi_local_time():
    assert timestamp(datetime(2026, 11, 23, 21, 30, 0, tzinfo=timezone.utc)) == "20261124003000"
    assert timestamp(datetime(2026, 11, 23, 21, 30, 0, tzinfo=timezone.utc), tz="UTC") == "20261123213000"


def test_timestamp_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        timestamp(datetime(2026, 11, 23, 21, 30, 0))


def test_amount_must_be_a_whole_number_of_at_least_one(sim):
    client = make_client(sim.url)
    for amount in (0, -5, 1.5, True):
        with pytest.raises(InvalidInput):
            push(client, amount=amount)
    assert sim.pushes == []


# -- OAuth token ----------------------------------------------------------------------

@pytest.mark.parametrize("as_string", [True, False], ids=["expires_in-string", "expires_in-number"])
def test_one_token_for_many_calls_until_a_minute_before_expiry(make_sim, as_string):
    sim = make_sim(expires_in_as_string=as_string)
    clock = FakeClock()
    client = make_client(sim.url, clock=clock)
    for _ in range(3):
        push(client)
    assert sim.tokens_issued == 1
    clock.now += 3599 - 60 - 1
    push(client)
    assert sim.tokens_issued == 1
    clock.now += 2
    push(client)
    assert sim.tokens_issued == 2
    assert len(sim.pushes) == 5


def test_threads_share_one_token(sim):
    client = make_client(sim.url)
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(client.access_token())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(set(tokens)) == 1 and len(tokens) == 8
    assert sim.tokens_issued == 1


def test_revoked_token_is_refetched_once_and_the_call_succeeds(sim):
    client = make_client(sim.url)
    client.access_token()
    sim.revoke_tokens()
    accepted = push(client)
    assert accepted.checkout_request_id.startswith("ws_CO_")
    assert sim.tokens_issued == 2


def test_wrong_consumer_secret_is_a_config_error(sim):
    client = make_client(sim.url, consumer_secret="wrong")
    with pytest.raises(UpstreamError) as caught:
        push(client)
    assert caught.value.code == "400.008.01"
    assert caught.value.retryable is False
    assert "not set up" in str(caught.value)


# -- STK push -------------------------------------------------------------------------

def test_stk_push_accepted(sim):
    client = make_client(sim.url)
    accepted = push(client, account_reference="HotspotCafe-Nyeri", description="One hour of WiFi access")
    assert accepted.checkout_request_id.startswith("ws_CO_")
    assert accepted.merchant_request_id
    assert accepted.customer_message == "Success. Request accepted for processing"
    [record] = sim.pushes
    assert record["checkout_request_id"] == accepted.checkout_request_id
    assert record["phone"] == PHONE and record["amount"] == 10
    assert record["account_reference"] == "HotspotCafe-"  # cut to Daraja's 12 characters


def test_till_numbers_go_in_party_b(make_sim):
    sim = make_sim(till="5432101")  # refuses buy-goods pushes that pay anything but this till
    client = make_client(sim.url, transaction_type="CustomerBuyGoodsOnline", party_b="5432101")
    accepted = push(client)
    [record] = sim.pushes
    assert record["checkout_request_id"] == accepted.checkout_request_id
    assert (record["transaction_type"], record["party_b"]) == ("CustomerBuyGoodsOnline", "5432101")


def test_paybill_pays_the_shortcode(sim):
    push(make_client(sim.url))
    assert (sim.pushes[0]["transaction_type"], sim.pushes[0]["party_b"]) == ("CustomerPayBillOnline", "174379")


@pytest.mark.parametrize("code,message,status,retryable,says", [
    ("500.003.02", "System is busy", 500, True, "busy"),
    ("500.003.03", "Quota Violation", 500, True, "busy"),
    ("500.003.1001", "Internal Server Error", 500, True, "try again"),
    ("500.001.1001", "Unable to lock subscriber, a transaction is already in process for the current subscriber",
     500, True, "already open"),
    ("500.001.1001", "Merchant does not exist", 500, False, "not set up"),
    ("400.002.02", "Bad Request - Invalid PhoneNumber", 400, False, "phone number"),
    ("400.002.02", "Bad Request - Invalid BusinessShortCode", 400, False, "not set up"),
])
def test_push_errors_become_upstream_errors(sim, code, message, status, retryable, says):
    client = make_client(sim.url)
    sim.fail_next_push(code, message, status)
    with pytest.raises(UpstreamError) as caught:
        push(client)
    assert caught.value.code == code
    assert caught.value.retryable is retryable
    assert says in str(caught.value)
    assert push(client).checkout_request_id  # only the next push failed


@pytest.mark.parametrize("setting,code", [("shortcode", "400.002.02"), ("passkey", "500.001.1001")])
def test_wrong_shortcode_or_passkey_is_not_retryable(sim, setting, code):
    client = make_client(sim.url, **{setting: "600999" if setting == "shortcode" else "nope"})
    with pytest.raises(UpstreamError) as caught:
        push(client)
    assert (caught.value.code, caught.value.retryable) == (code, False)


@pytest.mark.parametrize("url", [
    "https://hotspot.example/mpesa/callback",
    "https://hotspot.example/Safaricom/cb",
    "https://hotspot.example/cb?QUERY=1",
])
def test_callback_urls_with_forbidden_words_are_rejected(sim, url):
    client = make_client(sim.url)
    with pytest.raises(UpstreamError) as caught:
        push(client, callback_url=url)
    assert (caught.value.code, caught.value.retryable) == ("400.002.02", False)


def test_stalled_daraja_gives_upstream_error_within_the_timeout(sim):
    client = make_client(sim.url, timeout=0.5)
    sim.stall(5)
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        push(client)
    assert time.monotonic() - started < 2.0
    assert caught.value.retryable is True and "in time" in str(caught.value)
    sim.stall(0)
    assert push(client).checkout_request_id


def test_connection_refused_is_retryable():
    client = make_client(f"http://127.0.0.1:{free_port()}", timeout=2.0)
    with pytest.raises(UpstreamError) as caught:
        push(client)
    assert caught.value.retryable is True and caught.value.code is None


def test_logs_hold_no_secrets_and_no_full_phone_numbers(sim, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(sim.url)
    token = client.access_token()
    accepted = push(client)
    sim.fail_next_push()
    with pytest.raises(UpstreamError):
        push(client)
    text = caplog.text
    assert accepted.checkout_request_id in text
    assert "2547*****149" in text
    for secret in (PHONE, "sim-secret", SANDBOX_PASSKEY, token):
        assert secret not in text


# -- STK query ------------------------------------------------------------------------

@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_query_is_pending_then_resolves(make_sim, outcome):
    sim = make_sim(callback_delay=0.6)
    sim.set_outcome(outcome)
    client = make_client(sim.url)
    accepted = push(client)
    first = client.stk_query(accepted.checkout_request_id, now=NOW)
    assert first.pending is True and first.result_code is None
    assert "being processed" in first.result_desc
    answer = wait_for(lambda: (a := client.stk_query(accepted.checkout_request_id, now=NOW)).pending is False
                      and a, timeout=5.0, what="query resolved", interval=0.02)
    assert answer.result_code == str(OUTCOMES[outcome])
    assert answer.result_desc


def test_query_for_an_unknown_checkout_id_is_not_retryable(sim):
    client = make_client(sim.url)
    with pytest.raises(UpstreamError) as caught:
        client.stk_query("ws_CO_000000", now=NOW)
    assert (caught.value.code, caught.value.retryable) == ("400.002.02", False)


# -- answers the simulator never gives: a scripted server -------------------------------

class Scripted(Served):
    """A stand-in Daraja answering OAuth normally and other calls from a script."""

    def __init__(self, script: list[tuple[int, str, bytes]]):
        self.script = script
        self.seen: list[tuple[str, str]] = []
        owner = self

        class Handler(QuietHandler):
            def do_GET(self):
                owner.seen.append(("GET", self.headers.get("Authorization", "")))
                self.reply({"access_token": f"tok{len(owner.seen)}", "expires_in": 3599})

            def do_POST(self):
                self.body()
                owner.seen.append(("POST", self.headers.get("Authorization", "")))
                status, content_type, body = owner.script.pop(0)
                self.reply(body, status, content_type)

        super().__init__(Handler)


ACCEPTED = json.dumps({"MerchantRequestID": "m-1", "CheckoutRequestID": "ws_CO_1", "ResponseCode": 0,
                       "CustomerMessage": "ok"}).encode()


@pytest.fixture
def scripted():
    made = []

    def make(*script):
        server = Scripted(list(script))
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def test_http_401_drops_the_token_and_retries_once(scripted):
    server = scripted((401, "text/plain", b"Unauthorized"), (200, "application/json", ACCEPTED))
    accepted = push(make_client(server.url))
    assert accepted.checkout_request_id == "ws_CO_1"  # ResponseCode 0 as a number is success too
    assert [method for method, _ in server.seen] == ["GET", "POST", "GET", "POST"]
    assert server.seen[1][1] != server.seen[3][1]


def test_a_second_refusal_is_not_retried_again(scripted):
    refused = json.dumps({"requestId": "r", "errorCode": "404.001.03", "errorMessage": "Invalid Access Token"})
    server = scripted((404, "application/json", refused.encode()), (404, "application/json", refused.encode()))
    with pytest.raises(UpstreamError) as caught:
        push(make_client(server.url))
    assert caught.value.code == "404.001.03"
    assert len(server.seen) == 4


@pytest.mark.parametrize("status,body,retryable", [
    (502, b"<html>Bad Gateway</html>", True),
    (200, b"not json", True),
    (200, b"[1, 2]", True),
    (200, json.dumps({"ResponseCode": "0"}).encode(), True),
    (404, b"<html>Not Found</html>", False),
])
def test_unreadable_answers_become_upstream_errors(scripted, status, body, retryable):
    server = scripted((status, "text/html", body))
    with pytest.raises(UpstreamError) as caught:
        push(make_client(server.url))
    assert caught.value.retryable is retryable


def test_query_result_code_is_a_string_even_when_sent_as_a_number(scripted):
    answer = json.dumps({"ResponseCode": "0", "ResultCode": 1032, "ResultDesc": "Request cancelled by user"})
    server = scripted((200, "application/json", answer.encode()))
    result = make_client(server.url).stk_query("ws_CO_1", now=NOW)
    assert result == type(result)(pending=False, result_code="1032", result_desc="Request cancelled by user")


def test_every_answer_hands_its_date_to_the_clock_and_ask_time_mints_no_token(sim):
    from email.utils import parsedate_to_datetime

    dates: list[str | None] = []
    client = make_client(sim.url, on_date=dates.append)
    push(client)
    assert len(dates) == 2  # the token call and the push
    said = parsedate_to_datetime(dates[-1])
    assert abs(said.timestamp() - time.time()) < 5
    tokens = sim.tokens_issued
    assert client.ask_time() and len(dates) == 3
    assert sim.tokens_issued == tokens  # Daraja may revoke the previous token on every new one
    client.close()
