"""The simulators' `/__sim__/` controls over HTTP, as the demo and a person with curl use
them: Pull Transactions, Transaction Status and Reversal outcomes, the ledger, and the
Africa's Talking simulator's messages and failure switches."""

from __future__ import annotations

import pytest
import requests

from hotspotd.sim.sms import SmsSimulator

from ..loopback import wait_for


def test_pull_settings_can_be_read_and_changed_and_reset(make_sim):
    sim = make_sim()
    answer = requests.post(f"{sim.url}/__sim__/pull", json={"drop_confirmations": True, "page_size": 3}, timeout=5)
    assert answer.status_code == 200 and answer.json()["settings"]["page_size"] == 3
    assert sim.c2b.drop_confirmations and sim.pull.page_size == 3
    shown = requests.get(f"{sim.url}/__sim__/pull", timeout=5).json()
    assert shown["settings"]["drop_confirmations"] is True and shown["registrations"] == {}
    for wrong in ({"page_size": 0}, {"page_size": True}, {"nonsense": 1}, {"spaced_keys": "yes"}):
        refused = requests.post(f"{sim.url}/__sim__/pull", json=wrong, timeout=5)
        assert refused.status_code == 400 and "error" in refused.json()
    sim.reset()
    assert not sim.c2b.drop_confirmations and sim.pull.page_size == 100


def test_a_paybill_payment_by_hand_lands_in_the_ledger(make_sim):
    sim = make_sim()
    sim.c2b.registrations["174379"] = {"ConfirmationURL": "http://127.0.0.1:9/c", "ValidationURL": "http://127.0.0.1:9/v",
                                       "ResponseType": "Completed", "version": "v2"}
    sim.c2b.validation = False
    requests.post(f"{sim.url}/__sim__/paybill", json={"amount": 10, "phone": "254712345678", "account": "AB12"},
                  timeout=5).raise_for_status()
    [entry] = wait_for(lambda: requests.get(f"{sim.url}/__sim__/ledger", timeout=5).json(), 10, "a ledger entry")
    assert (entry["kind"], entry["amount"], entry["account"], entry["short_code"]) == ("c2b", 10, "AB12", "174379")


def test_initiator_outcomes_and_style_over_http(make_sim):
    sim = make_sim()
    for body in ({"api": "status", "outcome": "unknown"}, {"api": "reversal", "outcome": "already_reversed",
                                                           "receipt": "abc1234567"}, {"style": "phpm"}):
        assert requests.post(f"{sim.url}/__sim__/initiator", json=body, timeout=5).json() == {"ok": True}
    assert sim.initiator._chosen("reversal", "ABC1234567") == "already_reversed"
    assert sim.initiator._chosen("status", "ANY0000001") == "unknown" and sim.initiator.style == "phpm"
    requests.post(f"{sim.url}/__sim__/initiator", json={"api": "status", "outcome": None}, timeout=5)
    assert sim.initiator._chosen("status", "ANY0000001") is None
    for wrong in ({"api": "b2c", "outcome": "unknown"}, {"api": "status", "outcome": "maybe"}, {"style": "x"}, [1]):
        assert requests.post(f"{sim.url}/__sim__/initiator", json=wrong, timeout=5).status_code == 400
    shown = requests.get(f"{sim.url}/__sim__/initiator", timeout=5).json()
    assert shown["certificate"].startswith("-----BEGIN CERTIFICATE-----") and shown["initiator"] == "testapi"


@pytest.fixture
def sms(make_sms):
    return make_sms()


def send(sim: SmsSimulator, to: str = "+254711000111", key: str = "sim-api-key") -> requests.Response:
    return requests.post(f"{sim.url}/version1/messaging", data={"username": "sim-user", "to": to, "message": "hi"},
                         headers={"apiKey": key, "Accept": "application/json"}, timeout=5)


def test_the_sms_simulator_answers_like_the_gateway_and_shows_what_it_got(sms):
    answer = send(sms, "+254711000111,0711")
    assert answer.status_code == 201 and answer.headers["Content-Type"] == "application/json"
    ok, bad = answer.json()["SMSMessageData"]["Recipients"]
    assert (ok["statusCode"], bad["statusCode"], bad["status"]) == (101, 403, "InvalidPhoneNumber")
    [message] = requests.get(f"{sms.url}/__sim__/messages", timeout=5).json()
    assert message["fields"]["message"] == "hi" and message["recipients"][0]["messageId"] == ok["messageId"]
    assert send(sms, key="wrong").status_code == 401
    assert requests.get(f"{sms.url}/version1/messaging", timeout=5).status_code == 405
    assert requests.post(f"{sms.url}/version1/other", timeout=5).status_code == 404
    missing = requests.post(f"{sms.url}/version1/messaging", data={"username": "sim-user", "to": "+254711000111"},
                            headers={"apiKey": "sim-api-key"}, timeout=5)
    assert missing.status_code == 400 and "message" in missing.text


def test_the_sms_failure_switches_over_http(sms):
    assert requests.post(f"{sms.url}/__sim__/failure", json={"kind": "server_error", "times": 1, "status": 503},
                         timeout=5).json() == {"ok": True}
    assert send(sms).status_code == 503 and send(sms).status_code == 201
    assert requests.post(f"{sms.url}/__sim__/refuse", json={"phone": "254711000111"}, timeout=5).ok
    assert send(sms).json()["SMSMessageData"]["Recipients"][0]["statusCode"] == 406
    requests.post(f"{sms.url}/__sim__/reset", timeout=5).raise_for_status()
    assert send(sms).json()["SMSMessageData"]["Recipients"][0]["statusCode"] == 101
    for wrong in ({"kind": "bogus"}, {"kind": "slow", "times": 0}, {}):
        assert requests.post(f"{sms.url}/__sim__/failure", json=wrong, timeout=5).status_code == 400
    assert requests.post(f"{sms.url}/__sim__/nothing", json={}, timeout=5).status_code == 404
    assert requests.post(f"{sms.url}/__sim__/refuse", json={"phone": "+1", "status_code": 101},
                         timeout=5).status_code == 400
