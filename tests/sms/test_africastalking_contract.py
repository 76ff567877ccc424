"""Africa's Talking SMS (docs/protocols.md, "Africa's Talking SMS"), one contract for both
sides: the real client sends the published form with the published headers to the SMS
simulator and to a stand-in that answers only the published sample, over real HTTP on
loopback, and reads either answer alike; the delivery reports the simulator POSTs read as
the published fields do. Then the failure switches and bodies nobody publishes."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import parse_qs, urlencode

import pytest

from hotspotd.errors import InvalidInput, UpstreamError
from hotspotd.sms.africastalking import (NOT_SET_UP, AfricasTalkingClient, parse_delivery_report,
                                         parse_send_answer)

from ..loopback import Inbox, QuietHandler, Served, free_port

PUBLISHED_FORM = {"username", "to", "message", "from", "bulkSMSMode", "enqueue"}
PUBLISHED_ANSWER = {"SMSMessageData": {"Message": "Sent to 1/1 Total Cost: KES 0.8000", "Recipients": [
    {"statusCode": 101, "number": "+254711000111", "status": "Success", "cost": "KES 0.8000",
     "messageId": "ATPid_SampleTxnId123"}]}}
REPORT_FIELDS = {"id", "status", "phoneNumber", "networkCode", "failureReason", "retryCount"}
PHONE = "254711000111"


class Published(Served):
    """A gateway that answers every send with the published sample; keeps what came."""

    def __init__(self, answer=PUBLISHED_ANSWER, status: int = 201, content_type: str = "application/json") -> None:
        self.requests: list[tuple[str, dict, dict]] = []
        owner = self

        class Handler(QuietHandler):
            def do_POST(self):
                form = {k: v[0] for k, v in parse_qs(self.body().decode(), keep_blank_values=True).items()}
                owner.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, form))
                self.reply(answer, status=status, content_type=content_type)

        super().__init__(Handler)


def client(url: str, *, key: str = "sim-api-key", sender: str = "HOTSPOT", timeout: float = 5.0):
    return AfricasTalkingClient(url, "sim-user", key, sender, timeout=timeout)


@pytest.fixture(params=["simulator", "published"])
def gateway(request, make_sms):
    """(base URL, a function giving the form fields of every send it received)."""
    if request.param == "simulator":
        sim = make_sms()
        yield sim.url, lambda: [m["fields"] for m in sim.messages]
    else:
        with Published() as published:
            yield published.url, lambda: [form for _, _, form in published.requests]


def test_a_send_carries_the_published_form_and_reads_the_answer(gateway):
    url, forms = gateway
    sent = client(url).send("Your WiFi: 1 hour, login ABC / 123", PHONE)
    [form] = forms()
    assert set(form) == PUBLISHED_FORM
    assert (form["username"], form["to"], form["from"], form["bulkSMSMode"], form["enqueue"]) == (
        "sim-user", "+254711000111", "HOTSPOT", "1", "0")
    assert form["message"] == "Your WiFi: 1 hour, login ABC / 123"
    [recipient] = sent.recipients
    assert recipient.accepted and (recipient.number, recipient.status_code) == ("+254711000111", 101)
    assert recipient.message_id and recipient.cost_amount == ("KES", Decimal("0.8000"))
    assert sent.recipient("254711000111") is recipient and sent.summary.startswith("Sent to 1/1")


def test_the_published_headers_and_path():
    with Published() as published:
        client(published.url + "/", sender="").send("hello", ["+254711000111", "254722000222"], enqueue=True)
    [(path, headers, form)] = published.requests
    assert path == "/version1/messaging"
    assert headers["apikey"] == "sim-api-key" and headers["accept"] == "application/json"
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert form["to"] == "+254711000111,+254722000222" and form["enqueue"] == "1" and "from" not in form


def test_the_simulator_refuses_a_wrong_key_or_username_and_the_client_says_how_to_fix_it(make_sms):
    sim = make_sms()
    for wrong in (client(sim.url, key="wrong"), AfricasTalkingClient(sim.url, "other", "sim-api-key")):
        with pytest.raises(UpstreamError) as refused:
            wrong.send("hello", PHONE)
        assert str(refused.value) == NOT_SET_UP and not refused.value.retryable
    assert sim.messages == []


def test_a_refused_number_is_in_its_recipient_not_an_exception(make_sms):
    sim = make_sms()
    sim.refuse_number("+254722000222", 406)
    sent = client(sim.url).send("hello", [PHONE, "254722000222"])
    ok, refused = sent.recipients
    assert ok.accepted and not refused.accepted and refused.status_code == 406 and refused.status == "UserInBlacklist"
    assert refused.message_id is None and not refused.retryable and refused.cost_amount is None
    assert sent.summary.startswith("Sent to 1/2")


@pytest.mark.parametrize("kind, retryable, words", [("unauthorized", False, "API key"), ("server_error", True, "500"),
                                                    ("slow", True, "in time")])
def test_failure_switches_become_clear_errors(make_sms, kind, retryable, words):
    sim = make_sms()
    sim.set_failure(kind, times=1, seconds=2.0)
    with pytest.raises(UpstreamError, match=words) as failed:
        client(sim.url, timeout=0.5).send("hello", PHONE)
    assert failed.value.retryable is retryable
    assert client(sim.url).send("hello", PHONE).recipients[0].accepted  # only the next one failed


def test_refusing_every_recipient_is_retryable_when_the_balance_is_the_reason(make_sms):
    sim = make_sms()
    sim.set_failure("refuse")
    [recipient] = client(sim.url).send("hello", PHONE).recipients
    assert (recipient.status_code, recipient.status, recipient.accepted, recipient.retryable) == (
        405, "InsufficientBalance", False, True)


def test_no_gateway_is_a_retryable_error():
    with pytest.raises(UpstreamError, match="cannot be reached") as failed:
        client(f"http://127.0.0.1:{free_port()}").send("hello", PHONE)
    assert failed.value.retryable


@pytest.mark.parametrize("message, to", [("", PHONE), ("   ", PHONE), ("x" * 919, PHONE), ("hi", "abc"),
                                         ("hi", []), ("hi", "+12")])
def test_bad_input_is_refused_before_anything_is_sent(message, to):
    with Published() as published:
        with pytest.raises(InvalidInput):
            client(published.url).send(message, to)
    assert published.requests == []


# -- delivery reports -------------------------------------------------------------------

def test_the_simulator_reports_delivery_as_published_and_each_report_names_its_message(make_sms):
    with Inbox(answer={"ok": True}) as inbox:
        sim = make_sms(report_url=f"{inbox.url}/api/sms/delivery/t", report_delay=0.05)
        sim.set_delivery("+254722000222", "Failed", "AbsentSubscriber")
        sent = client(sim.url).send("hello", [PHONE, "254722000222"])
        reports = {}
        for path, headers, body in inbox.wait(2):
            assert path == "/api/sms/delivery/t" and headers["content-type"] == "application/x-www-form-urlencoded"
            assert set(parse_qs(body.decode())) <= REPORT_FIELDS
            report = parse_delivery_report(body)
            reports[report.phone_number] = report
    ok, failed = (reports[r.number] for r in sent.recipients)
    assert (ok.message_id, ok.delivered, ok.final, ok.network_code) == (sent.recipients[0].message_id, True, True,
                                                                        "63902")
    assert (failed.message_id, failed.failed, failed.failure_reason) == (sent.recipients[1].message_id, True,
                                                                         "AbsentSubscriber")


def test_a_published_report_reads_as_a_form_or_as_json():
    fields = {"id": "ATXid_1", "status": "Rejected", "phoneNumber": "+254711000111", "networkCode": "63902",
              "failureReason": "UserInBlackList", "retryCount": "2"}
    for body in (urlencode(fields).encode(), json.dumps(fields).encode()):
        report = parse_delivery_report(body)
        assert (report.message_id, report.status, report.failure_reason, report.retry_count) == (
            "ATXid_1", "Rejected", "UserInBlackList", 2)
        assert report.failed and report.final and not report.delivered
    on_its_way = parse_delivery_report(b"id=ATXid_2&status=Buffered&phoneNumber=%2B254711000111")
    assert not on_its_way.final and on_its_way.retry_count is None


@pytest.mark.parametrize("body, why", [(b"status=Success", "without id"), (b"id=ATXid_1", "without id or status"),
                                       (b"\xff\xfe", "not UTF-8"), (b"{not json", "not JSON"),
                                       (b"[1, 2]", "without id"), (b"[" + b" " * 20_000, "larger than 16 KiB"),
                                       (b'["x"]', "without id"), (b'{"id": "", "status": "Success"}', "without id")])
def test_odd_reports_get_a_clear_error(body, why):
    with pytest.raises(InvalidInput, match=why):
        parse_delivery_report(body)


@pytest.mark.parametrize("answer, why", [
    ({"SMSMessageData": {"Message": "InvalidSenderId", "Recipients": []}}, "sent nothing: InvalidSenderId"),
    ({"SMSMessageData": {"Recipients": "x"}}, "could not read"), ([1], "could not read"), (None, "could not read"),
    ({"SMSMessageData": {"Message": "x", "Recipients": [{"no": "number"}]}}, "sent nothing"),
])
def test_answers_that_send_nothing_are_errors_not_retried(answer, why):
    with pytest.raises(UpstreamError, match=why) as failed:
        parse_send_answer(answer)
    assert not failed.value.retryable  # it may have gone out: never sent twice by a blind retry


def test_a_2xx_that_is_not_json_is_an_error_and_odd_recipient_values_are_read():
    with Published(answer=b"<html>ok</html>", content_type="text/html") as published:
        with pytest.raises(UpstreamError, match="could not read"):
            client(published.url).send("hello", PHONE)
    [recipient] = parse_send_answer({"SMSMessageData": {"Message": "", "Recipients": [
        {"statusCode": "101", "number": "+254711000111", "status": "Success", "cost": "KES x", "messageId": "None"},
        ]}}).recipients
    assert recipient.accepted and recipient.message_id is None and recipient.cost_amount is None
