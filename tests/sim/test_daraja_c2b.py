"""The Daraja simulator's C2B rules (docs/protocols.md §5.7-§5.8): validation first, then the
confirmation; ResponseType decides when validation is silent; tokens and bad input refused."""

from __future__ import annotations

import json
import time

import pytest
import requests

from ..loopback import QuietHandler, Served, wait_for

PHONE = "254708374149"


class Site(Served):
    """Answers validation with `validation` (or not in time, when `silent`), confirmations with Success."""

    def __init__(self, validation: dict | None = None, silent: float = 0.0) -> None:
        self.calls: list[tuple[str, dict]] = []
        owner = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = json.loads(self.body())
                owner.calls.append((self.path.rsplit("/", 1)[-1], body))
                if self.path.endswith("validate") and silent:
                    time.sleep(silent)
                answer = (validation or {"ResultCode": "0", "ResultDesc": "Accepted"}) if self.path.endswith(
                    "validate") else {"ResultCode": 0, "ResultDesc": "Success"}
                try:
                    self.reply(answer)
                except OSError:  # the simulator gave up on a silent validation
                    pass

        super().__init__(Handler)


@pytest.fixture
def site():
    made = []

    def make(**kwargs) -> Site:
        made.append(Site(**kwargs))
        return made[-1]

    yield make
    for s in made:
        s.close()


def token(sim) -> dict:
    got = requests.get(f"{sim.url}/oauth/v1/generate?grant_type=client_credentials", auth=("sim-key", "sim-secret"),
                       timeout=5).json()["access_token"]
    return {"Authorization": f"Bearer {got}"}


def register(sim, site: Site, response_type: str = "Completed") -> None:
    answer = requests.post(f"{sim.url}/mpesa/c2b/v2/registerurl", headers=token(sim), timeout=5, json={
        "ShortCode": "600984", "ResponseType": response_type, "ConfirmationURL": f"{site.url}/confirm",
        "ValidationURL": f"{site.url}/validate"})
    assert answer.status_code == 200, answer.text


def pay(sim, account="1234567", amount=10):
    payment = sim.c2b.pay(amount=amount, phone=PHONE, account=account)
    assert payment["done"].wait(15)
    return payment


def test_an_accepted_payment_is_validated_then_confirmed_with_a_running_balance(make_sim, site):
    sim, receiver = make_sim(), site()
    register(sim, receiver)
    first, second = pay(sim), pay(sim, amount=20)
    assert [path for path, _ in receiver.calls] == ["validate", "confirm", "validate", "confirm"]
    confirmations = [body for path, body in receiver.calls if path == "confirm"]
    assert [c["OrgAccountBalance"] for c in confirmations] == ["10.00", "30.00"]
    assert [c["TransID"] for c in confirmations] == [first["trans_id"], second["trans_id"]]
    assert confirmations[0]["MSISDN"] == "2547 ***** 149"


def test_a_refused_payment_is_never_confirmed(make_sim, site):
    sim, receiver = make_sim(), site(validation={"ResultCode": "C2B00012", "ResultDesc": "Rejected"})
    register(sim, receiver)
    payment = pay(sim)
    assert [path for path, _ in receiver.calls] == ["validate"] and payment["confirmations"] == []


@pytest.mark.parametrize("response_type, confirmed", [("Completed", True), ("Cancelled", False)])
def test_when_validation_is_silent_the_response_type_decides(make_sim, site, response_type, confirmed):
    sim, receiver = make_sim(), site(silent=1.0)
    sim.c2b.validation_timeout = 0.2
    register(sim, receiver, response_type)
    payment = pay(sim)
    assert payment["validation"]["status"] is None
    assert bool(payment["confirmations"]) is confirmed


def test_without_validation_and_with_duplicates(make_sim, site):
    sim, receiver = make_sim(), site()
    register(sim, receiver)
    sim.c2b.validation, sim.c2b.duplicates = False, 2
    payment = pay(sim)
    assert [path for path, _ in receiver.calls] == ["confirm"] * 3
    assert len({json.dumps(body) for _, body in receiver.calls}) == 1  # the same body each time
    assert len(payment["confirmations"]) == 3


def test_simulate_checks_its_input_and_the_token(make_sim, site):
    sim, receiver = make_sim(), site()
    url = f"{sim.url}/mpesa/c2b/v2/simulate"
    good = {"ShortCode": 600984, "CommandID": "CustomerPayBillOnline", "Amount": 10, "Msisdn": int(PHONE),
            "BillRefNumber": "1234567"}
    assert requests.post(url, json=good, timeout=5).json()["errorCode"] == "400.003.01"  # no token
    assert requests.post(url, json=good, headers=token(sim), timeout=5).json()["errorMessage"].endswith("ShortCode")
    register(sim, receiver)
    for change, field in (({"Amount": 0}, "Amount"), ({"Amount": "ten"}, "Amount"), ({"Msisdn": 12345}, "Msisdn"),
                          ({"CommandID": "Pay"}, "CommandID"), ({"BillRefNumber": "x" * 21}, "BillRefNumber")):
        answer = requests.post(url, json={**good, **change}, headers=token(sim), timeout=5)
        assert answer.status_code == 400 and answer.json()["errorMessage"].endswith(field)
    answer = requests.post(url, json=good, headers=token(sim), timeout=5).json()
    assert answer["ResponseCode"] == "0" and answer["OriginatorCoversationID"]


def test_the_demo_control_pays_by_hand(make_sim, site):
    sim, receiver = make_sim(), site()
    register(sim, receiver)
    assert requests.post(f"{sim.url}/__sim__/paybill", json={"amount": 10, "phone": PHONE, "account": "1234567"},
                         timeout=5).json() == {"ok": True}
    assert requests.post(f"{sim.url}/__sim__/paybill", json={"amount": 10}, timeout=5).status_code == 400
    wait_for(lambda: any(p == "confirm" for p, _ in receiver.calls), 10, "the confirmation")
    [listed] = requests.get(f"{sim.url}/__sim__/c2b", timeout=5).json()
    assert listed["account"] == "1234567" and listed["amount"] == 10
