""""Already paid?" with an M-Pesa code hotspotd never heard of: the portal asks Daraja's
Transaction Status (the simulator, over real HTTP), the result comes back to the portal's
result URL, and the page's poll gets the login, or one "not found" for every way a code
can fail. And the result routes answer as Daraja's callbacks do."""

from __future__ import annotations

import json

import pytest

from hotspotd.billing.packages import add_package
from hotspotd.customer.receipt_check import NO_MATCH
from hotspotd.router import add_router
from hotspotd.sim.routeros import RouterOSSimulator
from hotspotd.store.db import utcnow
from hotspotd.store.models import InitiatorRequest, MpesaCallback, Payment

from ..conftest import CALLBACK_TOKEN
from ..e2e.site import http
from ..loopback import wait_for
from ..money import served_portal

MAC, ADDRESS = "AA:BB:CC:00:00:07", "127.0.7.7"  # the phone asking, as the router's host table has it
OTHER, OTHER_ADDRESS = "AA:BB:CC:00:00:99", "127.0.7.99"
PHONE = "254712345678"


@pytest.fixture
def sim(make_sim):
    return make_sim(callback_delay=3600)


@pytest.fixture
def portal(store, config, sim, tmp_path):
    add_package(name="Hour", price=10, duration="1h", now=utcnow())
    add_package(name="Day", price=50, duration="1d", now=utcnow())
    with RouterOSSimulator(password="api-pass") as routeros:
        routeros.router.connect_device(MAC, ADDRESS)
        routeros.router.connect_device(OTHER, OTHER_ADDRESS)
        add_router("gate", "127.0.0.1", "radius-secret-123", api_port=routeros.port, api_user="admin",
                   api_password="api-pass", now=utcnow())
        with served_portal(config, sim, tmp_path) as (_, served):
            yield served


def ask(portal, receipt: str, phone: str = "0712345678", source: str = ADDRESS) -> tuple[int, dict]:
    return http("POST", portal.url + "/api/portal/restore", {"receipt": receipt, "phone": phone}, source=source)


def poll(portal, restore_id: str, source: str = ADDRESS) -> tuple[int, dict]:
    """Poll as the page does until the check is over."""
    return wait_for(lambda: (answer := http("GET", f"{portal.url}/api/portal/restore/{restore_id}",
                                            source=source))[0] != 202 and answer, 15, "the check to end")


def test_a_receipt_hotspotd_never_heard_of_is_found_by_transaction_status(portal, sim):
    sim.ledger.add("QAB1CD2EF3", kind="c2b", amount=50, phone=PHONE, short_code="174379", account="typo")
    status, started = ask(portal, "qab1 cd2ef3")
    assert status == 202 and started["status"] == "checking" and started["restore_id"]
    [sent] = [r for r in sim.initiator.requests if r["CommandID"] == "TransactionStatusQuery"]
    assert sent["TransactionID"] == "QAB1CD2EF3" and sent["ResultURL"].endswith(f"/api/payments/result/{CALLBACK_TOKEN}")
    status, done = poll(portal, started["restore_id"])
    assert status == 200 and done["username"] and done["password"] and done["package"] == "Day"
    payment = Payment.get(Payment.receipt == "QAB1CD2EF3")
    assert (payment.status, payment.method, payment.phone, payment.mac) == ("paid", "status", PHONE, MAC)
    assert payment.amount == 50 and float(payment.amount_paid) == 50
    # The same code again: the same answer, no second query, no second payment.
    status, again = ask(portal, "QAB1CD2EF3")
    assert status == 200 and again["username"] == done["username"]
    assert len([r for r in sim.initiator.requests if r["CommandID"] == "TransactionStatusQuery"]) == 1
    assert Payment.select().count() == 1


@pytest.mark.parametrize("case", ["another short code", "another phone", "too little money", "unknown receipt"])
def test_every_way_a_code_fails_gets_the_same_answer(portal, sim, case):
    short_code, amount, phone = "174379", 50, "0712345678"
    if case == "another short code":
        short_code = "600111"
    elif case == "another phone":
        phone = "0722000111"
    elif case == "too little money":
        amount = 9
    if case != "unknown receipt":
        sim.ledger.add("QZX9YW8VU7", kind="c2b", amount=amount, phone=PHONE, short_code=short_code)
    status, started = ask(portal, "QZX9YW8VU7", phone=phone)
    assert status == 202
    status, answer = poll(portal, started["restore_id"])
    assert (status, answer) == (404, {"error": NO_MATCH})
    assert not Payment.select().exists()
    assert InitiatorRequest.get().outcome == "not_found"


def test_only_the_device_that_asked_gets_the_login(portal, sim):
    sim.ledger.add("QAB1CD2EF4", kind="c2b", amount=10, phone=PHONE, short_code="174379")
    _, started = ask(portal, "QAB1CD2EF4")
    wait_for(lambda: InitiatorRequest.get().result_at is not None, 15, "the result")
    other = http("GET", f"{portal.url}/api/portal/restore/{started['restore_id']}", source=OTHER_ADDRESS)
    assert other == (404, {"error": NO_MATCH})  # another phone, as the router knows it
    assert http("GET", f"{portal.url}/api/portal/restore/not-a-check", source=ADDRESS)[0] == 404
    assert poll(portal, started["restore_id"])[0] == 200


def test_the_result_routes_answer_as_callbacks_do(portal, sim):
    result = f"{portal.url}/api/payments/result/{CALLBACK_TOKEN}"
    assert http("POST", f"{portal.url}/api/payments/result/wrong-token", {"Result": {}})[0] == 404
    assert http("POST", f"{portal.url}/api/payments/timeout/wrong-token", {"Result": {}})[0] == 404
    status, answer = http("POST", result, raw=b"{not json")
    assert status == 400 and answer["ResultCode"] == 1
    status, _ = http("POST", result, {"Result": {"ResultCode": 0, "ConversationID": "AG_nobody"}})
    assert status == 200  # a result for no request of ours: answered, kept as a sample only
    kept = {row.outcome for row in MpesaCallback.select()}
    assert kept == {"result.malformed", "result.orphan"} and all(r.sampled for r in MpesaCallback.select())
    sim.ledger.add("QAB1CD2EF5", kind="c2b", amount=10, phone=PHONE, short_code="174379")
    _, started = ask(portal, "QAB1CD2EF5")
    [posted] = sim.initiator.wait_for_results(1)
    assert posted["status"] == 200
    status, answer = http("POST", result, raw=json.dumps(posted["body"]).encode())  # Daraja sends it again
    assert (status, answer) == (200, {"ResultCode": 0, "ResultDesc": "Accepted"})
    assert poll(portal, started["restore_id"])[0] == 200
    assert Payment.select().count() == 1
    assert MpesaCallback.select().where(MpesaCallback.outcome == "result.duplicate").count() == 1


def test_without_the_api_user_a_code_nobody_knows_is_simply_not_found(portal, config):
    config.mpesa.initiator = ""
    status, answer = ask(portal, "QAB1CD2EF6")
    assert (status, answer) == (404, {"error": NO_MATCH}) and not InitiatorRequest.select().exists()
