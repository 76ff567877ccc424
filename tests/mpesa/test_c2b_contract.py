"""The C2B (Paybill) contract, one test for both sides: the real Daraja client and the
Daraja simulator each meet the formats docs/protocols.md §5.7-§5.8 gives, and hotspotd reads
what the simulator sends exactly as it reads the published example.

Like huey's StorageTests: the same assertions run against the simulator and against a
stand-in that answers with nothing but the published examples.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
import requests

from hotspotd.errors import UpstreamError
from hotspotd.mpesa.c2b import parse_c2b, payer_matches
from hotspotd.mpesa.client import SANDBOX_PASSKEY, DarajaClient

from ..loopback import QuietHandler, Served
from .published import PublishedDaraja

# docs/protocols.md §5.7-§5.8, as published (the register answer as its sample body has it:
# "success" in lower case; the page's table says "Success", and no code reads the text)
PUBLISHED_REGISTER = {"ShortCode": "600984", "ResponseType": "Completed",
                      "ConfirmationURL": "https://example.test/api/payments/c2b-confirmation/tok",
                      "ValidationURL": "https://example.test/api/payments/c2b-validation/tok"}
PUBLISHED_REGISTER_ANSWER = {"OriginatorCoversationID": "7619-37765134-1", "ResponseCode": "0",
                             "ResponseDescription": "success"}
PUBLISHED_PAYLOAD = {"TransactionType": "Pay Bill", "TransID": "RKL51ZDR4F", "TransTime": "20231121121325",
                     "TransAmount": "5.00", "BusinessShortCode": "600966", "BillRefNumber": "Sample Transaction",
                     "InvoiceNumber": "", "OrgAccountBalance": "25.00", "ThirdPartyTransID": "",
                     "MSISDN": "2547 ***** 126", "FirstName": "NICHOLAS", "MiddleName": "", "LastName": ""}
PHONE = "254708374126"


def published_daraja() -> PublishedDaraja:
    """A Daraja that knows only the published examples: OAuth, and the register answer."""
    return PublishedDaraja(lambda path, body: PUBLISHED_REGISTER_ANSWER)


class Receiver(Served):
    """The site's end: records each validation and confirmation body, accepts it."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, dict]] = []
        self.changed = threading.Condition()
        owner = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = json.loads(self.body())
                with owner.changed:
                    owner.bodies.append((self.path, body))
                    owner.changed.notify_all()
                self.reply({"ResultCode": "0", "ResultDesc": "Accepted"})

        super().__init__(Handler)
        self.url += "/api/payments"

    def wait(self, n: int) -> list[tuple[str, dict]]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.bodies) >= n, 10), self.bodies
            return list(self.bodies)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(params=["simulator", "published"])
def daraja(request, make_sim):
    if request.param == "simulator":
        sim = make_sim()
        sim.requests = sim.c2b.requests
        yield sim
    else:
        published = published_daraja()
        yield published
        published.close()


def client(url: str) -> DarajaClient:
    return DarajaClient(url, "sim-key", "sim-secret", "600984", SANDBOX_PASSKEY, timeout=5)


def test_registering_sends_and_reads_the_published_shapes(daraja, receiver):
    done = client(daraja.url).register_c2b(short_code="600984", confirmation_url=f"{receiver.url}/c2b-confirmation/t",
                                           validation_url=f"{receiver.url}/c2b-validation/t")
    assert done.originator_conversation_id and done.description == "success"  # Safaricom's misspelt key read
    [sent] = [r["body"] for r in daraja.requests if r["path"].endswith("/registerurl")]
    assert set(sent) == set(PUBLISHED_REGISTER)
    assert all(isinstance(value, str) for value in sent.values())
    assert sent["ResponseType"] == "Completed" and sent["ShortCode"] == "600984"


def test_the_simulator_takes_the_published_register_body_as_it_is(make_sim):
    sim = make_sim()
    token = requests.get(f"{sim.url}/oauth/v1/generate?grant_type=client_credentials",
                         auth=("sim-key", "sim-secret"), timeout=5).json()["access_token"]
    answer = requests.post(f"{sim.url}/mpesa/c2b/v2/registerurl", json=PUBLISHED_REGISTER, timeout=5,
                           headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and set(answer.json()) == set(PUBLISHED_REGISTER_ANSWER)
    assert answer.json()["ResponseCode"] == "0"


@pytest.mark.parametrize("change, field", [
    ({"ResponseType": "completed"}, "ResponseType"),  # sentence case only
    ({"ConfirmationURL": "https://example.test/mpesa/confirm"}, "ConfirmationURL"),
    ({"ValidationURL": "https://example.test/query/validate"}, "ValidationURL"),
    ({"ValidationURL": "https://example.test/exec"}, "ValidationURL"),
])
def test_the_simulator_refuses_what_daraja_refuses_and_the_client_says_so(make_sim, change, field):
    sim = make_sim()
    urls = {"confirmation_url": PUBLISHED_REGISTER["ConfirmationURL"],
            "validation_url": PUBLISHED_REGISTER["ValidationURL"], "response_type": "Completed"}
    urls.update({{"ResponseType": "response_type", "ConfirmationURL": "confirmation_url",
                  "ValidationURL": "validation_url"}[k]: v for k, v in change.items()})
    if urls["response_type"] not in ("Completed", "Cancelled"):
        with pytest.raises(Exception, match="Completed or Cancelled"):
            client(sim.url).register_c2b(short_code="600984", **urls)
        return
    with pytest.raises(UpstreamError):
        client(sim.url).register_c2b(short_code="600984", **urls)
    assert sim.c2b.registrations == {}


def test_registering_twice_in_production_is_refused_clearly(make_sim):
    sim = make_sim()
    sim.c2b.register_once = True
    urls = dict(confirmation_url=PUBLISHED_REGISTER["ConfirmationURL"], validation_url=PUBLISHED_REGISTER["ValidationURL"])
    client(sim.url).register_c2b(short_code="600984", **urls)
    with pytest.raises(UpstreamError, match="already registered"):
        client(sim.url).register_c2b(short_code="600984", **urls)


@pytest.fixture(params=["published", "simulator-v2", "simulator-v1"])
def payload(request, make_sim, receiver):
    """A confirmation body: the published example, or what the simulator sent."""
    if request.param == "published":
        return PUBLISHED_PAYLOAD
    sim = make_sim()
    token = requests.get(f"{sim.url}/oauth/v1/generate?grant_type=client_credentials",
                         auth=("sim-key", "sim-secret"), timeout=5).json()["access_token"]
    version = request.param.split("-")[1]
    requests.post(f"{sim.url}/mpesa/c2b/{version}/registerurl", timeout=5, headers={"Authorization": f"Bearer {token}"},
                  json={**PUBLISHED_REGISTER, "ShortCode": "600966",
                        "ConfirmationURL": f"{receiver.url}/c2b-confirmation/t",
                        "ValidationURL": f"{receiver.url}/c2b-validation/t"}).raise_for_status()
    answer = requests.post(f"{sim.url}/mpesa/c2b/v2/simulate", timeout=5, headers={"Authorization": f"Bearer {token}"},
                           json={"ShortCode": 600966, "CommandID": "CustomerPayBillOnline", "Amount": 5,
                                 "Msisdn": int(PHONE), "BillRefNumber": "Sample Transaction"})
    assert answer.json()["ResponseCode"] == "0"
    (validation_path, validation), (confirmation_path, confirmation) = receiver.wait(2)
    assert validation_path.endswith("c2b-validation/t") and confirmation_path.endswith("c2b-confirmation/t")
    assert validation["OrgAccountBalance"] == "" and confirmation["OrgAccountBalance"]
    assert {k: v for k, v in validation.items() if k != "OrgAccountBalance"} == {
        k: v for k, v in confirmation.items() if k != "OrgAccountBalance"}
    return confirmation


def test_every_confirmation_has_the_published_fields_all_strings(payload):
    assert set(payload) == set(PUBLISHED_PAYLOAD)
    assert all(isinstance(value, str) for value in payload.values())
    assert len(payload["TransID"]) == 10 and len(payload["TransTime"]) == 14
    assert payload["TransAmount"] == "5.00" and payload["BusinessShortCode"] == "600966"


def test_hotspotd_reads_each_confirmation_alike(payload):
    read = parse_c2b(json.dumps(payload).encode())
    assert read.trans_id == payload["TransID"] and read.amount == Decimal("5.00")
    assert (read.short_code, read.bill_ref, read.account) == ("600966", "Sample Transaction", "SAMPLETRANSACTION")
    assert payer_matches(read.msisdn, PHONE) and not payer_matches(read.msisdn, "254708374127")
