"""Transaction Status and Reversal (docs/protocols.md, "Transaction Status", "Reversal",
"SecurityCredential"), one contract for both sides: the real client's requests carry the
published field names (Safaricom's `RecieverIdentifierType` included) to the Daraja
simulator and to a stand-in that answers only the published acknowledgement; the results
the simulator POSTs, and the published result samples, read alike. The SecurityCredential
is checked by decrypting it with a key pair made here.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from hotspotd.errors import ConfigError, InvalidInput, MalformedCallback
from hotspotd.mpesa import results
from hotspotd.mpesa.client import SANDBOX_PASSKEY, DarajaClient
from hotspotd.mpesa.initiator import InitiatorClient, certificate_problem, security_credential

from ..loopback import Inbox
from .published import PublishedDaraja

SHORT_CODE = "600000"
PHONE = "254708374149"
# The published names (the Daraja page's table; its sample misspells two of them).
STATUS_FIELDS = {"Initiator", "SecurityCredential", "CommandID", "TransactionID", "PartyA", "IdentifierType",
                 "ResultURL", "QueueTimeOutURL", "Remarks", "Occasion"}
REVERSAL_FIELDS = {"Initiator", "SecurityCredential", "CommandID", "TransactionID", "Amount", "ReceiverParty",
                   "RecieverIdentifierType", "ResultURL", "QueueTimeOutURL", "Remarks", "Occasion"}
ACK = {"OriginatorConversationID": "1236-7134259-1", "ConversationID": "AG_20210709_1234409f86436c583e3f",
       "ResponseCode": "0", "ResponseDescription": "Accept the service request successfully."}
# Daraja 3.0's Transaction Status result, as published (DebitPartyName twice, Amount "300").
DARAJA3_STATUS = {"Result": {
    "ConversationID": "AG_20180223_0000493344ae97d86f75", "OriginatorConversationID": "3213-416199-2",
    "ReferenceData": {"ReferenceItem": {"Key": "Occasion"}}, "ResultCode": 0,
    "ResultDesc": "The service request is processed successfully.",
    "ResultParameters": {"ResultParameter": [
        {"Key": "DebitPartyName", "Value": "600310 - Safaricom333"},
        {"Key": "DebitPartyName", "Value": "254708374149 - John Doe"},
        {"Key": "OriginatorConversationID", "Value": "3211-416020-3"},
        {"Key": "InitiatedTime", "Value": "20180223054112"}, {"Key": "DebitAccountType", "Value": "Utility Account"},
        {"Key": "DebitPartyCharges", "Value": "Fee For B2C Payment|KES|22.40"}, {"Key": "TransactionReason"},
        {"Key": "ReasonType", "Value": "Business Payment to Customer via API"},
        {"Key": "TransactionStatus", "Value": "Completed"}, {"Key": "FinalisedTime", "Value": "20180223054112"},
        {"Key": "Amount", "Value": "300"}, {"Key": "ConversationID", "Value": "AG_20180223_000041b09c22e613d6c9"},
        {"Key": "ReceiptNo", "Value": "MBN31H462N"}]},
    "ResultType": 0, "TransactionID": "MBN0000000"}}
# The older sample (PHPM): CreditPartyName, keys with spaces, numbers for times and Amount.
PHPM_STATUS = {"Result": {
    "ResultType": 0, "ResultCode": 0, "ResultDesc": "The service request has been accepted successfully.",
    "OriginatorConversationID": "10816-694520-2", "ConversationID": "AG_20170727_000059c52529a8e080bd",
    "TransactionID": "LGR0000000", "ResultParameters": {"ResultParameter": [
        {"Key": "ReceiptNo", "Value": "LGR919G2AV"}, {"Key": "Conversation ID", "Value": "AG_20170727_00004492b1b6d0078fbe"},
        {"Key": "FinalizedTime", "Value": 20170727101415}, {"Key": "Amount", "Value": 10},
        {"Key": "TransactionStatus", "Value": "Completed"}, {"Key": "ReasonType", "Value": "Salary Payment via API"},
        {"Key": "TransactionReason"}, {"Key": "DebitPartyCharges", "Value": "Fee For B2C Payment|KES|33.00"},
        {"Key": "DebitAccountType", "Value": "Utility Account"}, {"Key": "InitiatedTime", "Value": 20170727101415},
        {"Key": "Originator Conversation ID", "Value": "19455-773836-1"},
        {"Key": "CreditPartyName", "Value": "254708374149 - John Doe"},
        {"Key": "DebitPartyName", "Value": "600134 - Safaricom157"}]},
    "ReferenceData": {"ReferenceItem": {"Key": "Occasion", "Value": "aaaa"}}}}
REVERSED = {"Result": {
    "ResultType": 0, "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
    "OriginatorConversationID": "dad6-4c34-8787-c8cb963a496d1268232", "ConversationID": "AG_20211114_201018edbbf9f1582eaa",
    "TransactionID": "SKE52PAWR9", "ResultParameters": {"ResultParameter": [
        {"Key": "DebitAccountBalance", "Value": "Utility Account|KES|7722179.62|7722179.62|0.00|0.00"},
        {"Key": "Amount", "Value": 1.00}, {"Key": "TransCompletedTime", "Value": 20211114132711},
        {"Key": "OriginalTransactionID", "Value": "SKC82PACB8"}, {"Key": "Charge", "Value": 0.00},
        {"Key": "CreditPartyPublicName", "Value": "254705912645 - NICHOLAS JOHN SONGOK"},
        {"Key": "DebitPartyPublicName", "Value": "600992 - Safaricom Daraja 992"}]},
    "ReferenceData": {"ReferenceItem": {"Key": "QueueTimeoutURL",
                                        "Value": "https://internalsandbox.safaricom.co.ke/mpesa/reversalresults/v1/submit"}}}}
NOT_REVERSED = {"Result": {
    "ResultType": 0, "ResultCode": "R000002", "ResultDesc": "The OriginalTransactionID is invalid.",
    "OriginatorConversationID": "3124-481d-b706-10bdd6fbc8e21792398", "ConversationID": "AG_20211114_2010573069aefb6b625a",
    "TransactionID": "SKE0000000", "ReferenceData": {"ReferenceItem": {"Key": "QueueTimeoutURL", "Value": "https://x"}}}}


def self_signed(key) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "apicrypt.test")])
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))


@pytest.fixture(scope="module")
def keypair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key, self_signed(key)


# -- the SecurityCredential -------------------------------------------------------------

@pytest.mark.parametrize("encoding", [serialization.Encoding.PEM, serialization.Encoding.DER])
def test_the_credential_is_the_password_under_pkcs1_v15_and_decrypts_back(keypair, encoding):
    key, certificate = keypair
    made = [security_credential("Safaricom#999", certificate.public_bytes(encoding)) for _ in range(2)]
    assert made[0] != made[1]  # random padding: a new value each time, each one valid
    for credential in made:
        assert key.decrypt(base64.b64decode(credential, validate=True), padding.PKCS1v15()) == b"Safaricom#999"
        with pytest.raises(ValueError):  # not OAEP
            key.decrypt(base64.b64decode(credential), padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(),
                                                                    None))


def test_a_certificate_that_cannot_serve_is_named(tmp_path, keypair):
    missing = tmp_path / "none.cer"
    assert "cannot read" in certificate_problem(missing)
    garbage = tmp_path / "garbage.cer"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    assert "not an X.509 certificate" in certificate_problem(garbage)
    ec_cert = tmp_path / "ec.cer"
    ec_cert.write_bytes(self_signed(ec.generate_private_key(ec.SECP256R1())).public_bytes(serialization.Encoding.PEM))
    assert "not an RSA key" in certificate_problem(ec_cert)
    good = tmp_path / "good.cer"
    good.write_bytes(keypair[1].public_bytes(serialization.Encoding.DER))
    assert certificate_problem(good) is None
    with pytest.raises(ConfigError, match=r"\[mpesa\] certificate"):
        InitiatorClient.from_files(DarajaClient("http://127.0.0.1:9", "k", "s", SHORT_CODE, "p"), "api", "pw", garbage)


# -- the requests, against both sides ---------------------------------------------------

def published_daraja() -> PublishedDaraja:
    """A Daraja that answers every request with the published acknowledgement."""
    return PublishedDaraja(lambda path, body: ACK)


@pytest.fixture(params=["simulator", "published"])
def side(request, make_sim, tmp_path):
    """(Daraja's URL, the certificate path, the password, the request bodies seen by path end)."""
    if request.param == "simulator":
        sim = make_sim()
        certificate = sim.initiator.write_certificate(tmp_path / "sim.cer")
        yield sim.url, certificate, sim.initiator.password, lambda end: [
            r for r in sim.initiator.requests if ("Amount" in r) == end.endswith("request")]
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certificate = tmp_path / "published.cer"
        certificate.write_bytes(self_signed(key).public_bytes(serialization.Encoding.PEM))
        with published_daraja() as published:
            yield published.url, certificate, "pw", published.bodies


def initiator(url: str, certificate, password: str, name: str = "testapi") -> InitiatorClient:
    daraja = DarajaClient(url, "sim-key", "sim-secret", "174379", SANDBOX_PASSKEY, timeout=5)
    return InitiatorClient.from_files(daraja, name, password, certificate, short_code=SHORT_CODE)


def test_transaction_status_sends_the_published_fields(side):
    url, certificate, password, bodies = side
    accepted = initiator(url, certificate, password).transaction_status(
        " nlj7rt61sv ", result_url="https://wifi.example.test/api/payments/result/t",
        timeout_url="https://wifi.example.test/api/payments/timeout/t", occasion="restore 12")
    assert accepted.conversation_id.startswith("AG_") and accepted.originator_conversation_id
    [sent] = bodies("/query")
    assert set(sent) == STATUS_FIELDS and all(isinstance(v, str) for v in sent.values())
    assert (sent["CommandID"], sent["TransactionID"], sent["PartyA"], sent["IdentifierType"]) == (
        "TransactionStatusQuery", "NLJ7RT61SV", SHORT_CODE, "4")
    assert sent["Initiator"] == "testapi" and sent["Occasion"] == "restore 12"


def test_a_reversal_sends_the_published_fields_with_safaricoms_spelling(side):
    url, certificate, password, bodies = side
    accepted = initiator(url, certificate, password).reversal(
        "PDU91HIVIT", Decimal("200.00"), result_url="https://wifi.example.test/api/payments/result/t",
        timeout_url="https://wifi.example.test/api/payments/timeout/t", remarks="Refund: wrong package")
    assert accepted.conversation_id and accepted.description == "Accept the service request successfully."
    [sent] = bodies("/request")
    assert set(sent) == REVERSAL_FIELDS - {"Occasion"} and "ReceiverIdentifierType" not in sent
    assert (sent["CommandID"], sent["Amount"], sent["ReceiverParty"], sent["RecieverIdentifierType"]) == (
        "TransactionReversal", "200", SHORT_CODE, "11")


@pytest.mark.parametrize("receipt, amount, remarks", [("", 10, "ok"), ("NLJ-7RT", 10, "ok"), ("NLJ7RT61SV", 10, "x"),
                                                     ("NLJ7RT61SV", 0, "ok"), ("NLJ7RT61SV", "ten", "ok")])
def test_bad_input_is_refused_before_anything_is_sent(tmp_path, keypair, receipt, amount, remarks):
    certificate = tmp_path / "c.cer"
    certificate.write_bytes(keypair[1].public_bytes(serialization.Encoding.PEM))
    with published_daraja() as published:
        with pytest.raises(InvalidInput):
            initiator(published.url, certificate, "pw").reversal(
                receipt, amount, result_url="https://x.test/r", timeout_url="https://x.test/t", remarks=remarks)
    assert published.requests == []


def test_the_simulator_refuses_the_corrected_spelling(make_sim):
    sim = make_sim()
    daraja = DarajaClient(sim.url, "sim-key", "sim-secret", "174379", SANDBOX_PASSKEY, timeout=5)
    body = {"Initiator": "testapi", "SecurityCredential": "eA==", "CommandID": "TransactionReversal",
            "TransactionID": "PDU91HIVIT", "Amount": "200", "ReceiverParty": SHORT_CODE,
            "ReceiverIdentifierType": "11", "ResultURL": "https://x.test/r", "QueueTimeOutURL": "https://x.test/t",
            "Remarks": "Payment reversal"}
    status, answer = daraja.call("/mpesa/reversal/v1/request", body)
    assert status == 400 and answer["errorMessage"] == "Bad Request - Invalid RecieverIdentifierType"
    status, answer = daraja.call("/mpesa/reversal/v1/request", {**body, "RecieverIdentifierType": "11"})
    assert status == 200 and answer["ResponseCode"] == "0"


# -- the results the simulator POSTs ----------------------------------------------------

class Bank:
    """A simulator holding one C2B payment to SHORT_CODE, the client, and an inbox for results."""

    def __init__(self, sim, certificate, inbox: Inbox) -> None:
        self.sim, self.inbox = sim, inbox
        sim.c2b.validation = False
        sim.initiator.result_delay = 0.05
        daraja = DarajaClient(sim.url, "sim-key", "sim-secret", "174379", SANDBOX_PASSKEY, timeout=5)
        daraja.register_c2b(short_code=SHORT_CODE, confirmation_url="http://127.0.0.1:9/api/payments/c2b-confirmation/t",
                            validation_url="http://127.0.0.1:9/api/payments/c2b-validation/t")
        self.daraja = daraja
        self.payment = sim.c2b.pay(amount=50, phone=PHONE, account="ACC1", short_code=SHORT_CODE)
        assert self.payment["done"].wait(10)
        self.receipt = self.payment["trans_id"]
        self.client = InitiatorClient.from_files(daraja, sim.initiator.initiator, sim.initiator.password, certificate,
                                                 short_code=SHORT_CODE)
        self.urls = dict(result_url=f"{inbox.url}/api/payments/result/t",
                         timeout_url=f"{inbox.url}/api/payments/timeout/t")

    def status(self, receipt: str, client: InitiatorClient | None = None):
        return (client or self.client).transaction_status(receipt, **self.urls)

    def reverse(self, receipt: str, client: InitiatorClient | None = None):
        return (client or self.client).reversal(receipt, 50, remarks="Refund: router down", **self.urls)

    def result(self, n: int) -> tuple[str, dict, results.DarajaResult]:
        """The n-th request to the inbox (1-based): its path, raw JSON and parsed result."""
        path, _, body = self.inbox.wait(n)[n - 1]
        return path, json.loads(body), results.parse_result(body)


@pytest.fixture
def bank(make_sim, tmp_path):
    sim = make_sim(callback_delay=0.05)
    with Inbox() as inbox:
        yield Bank(sim, sim.initiator.write_certificate(tmp_path / "sim.cer"), inbox)


@pytest.mark.parametrize("style", ["daraja3", "phpm"])
def test_the_status_of_a_known_payment_reads_completed_in_either_published_style(bank, style):
    bank.sim.initiator.style = style
    accepted = bank.status(bank.receipt.lower())
    path, raw, result = bank.result(1)
    assert path.endswith("/api/payments/result/t") and raw["Result"]["ResultCode"] == 0
    published = DARAJA3_STATUS if style == "daraja3" else PHPM_STATUS
    assert set(raw["Result"]) == set(published["Result"])
    assert {p["Key"] for p in raw["Result"]["ResultParameters"]["ResultParameter"]} == {
        p["Key"] for p in published["Result"]["ResultParameters"]["ResultParameter"]}
    status = results.transaction_status(result)
    assert result.conversation_id == accepted.conversation_id and status.completed
    assert (status.receipt, status.amount) == (bank.receipt, Decimal(50))
    assert status.between(PHONE, SHORT_CODE)
    assert not status.between("254708374150", SHORT_CODE) and not status.between(PHONE, "600001")


def test_the_status_of_an_stk_payment_is_known_too(bank):
    bank.daraja.stk_push(phone=PHONE, amount=20, callback_url="http://127.0.0.1:9/api/payments/stk-callback/t",
                         account_reference="Hotspot", description="1 hour", now=datetime.now(timezone.utc))
    bank.sim.wait_for_callbacks(1)
    bank.status(bank.sim.pushes[0]["receipt"])
    status = results.transaction_status(bank.result(1)[2])
    assert status.completed and status.amount == 20 and status.between(PHONE, "174379")


def test_an_unknown_receipt_and_a_wrong_password_are_failures(bank):
    bank.status("NOSUCH0001")
    unknown = results.transaction_status(bank.result(1)[2])
    assert not unknown.completed and unknown.result.result_code == "25" and unknown.receipt is None
    wrong = InitiatorClient(bank.daraja, bank.sim.initiator.initiator,
                            security_credential("not-the-password", bank.sim.initiator.certificate_pem), SHORT_CODE)
    bank.status(bank.receipt, wrong)
    bank.reverse(bank.receipt, wrong)
    codes = {bank.result(n)[2].result_code for n in (2, 3)}
    assert codes == {results.BAD_CREDENTIALS} and bank.sim.ledger.get(bank.receipt)["reversed_by"] is None


def test_a_payment_is_reversed_once_then_already_reversed(bank):
    bank.reverse(bank.receipt)
    _, raw, result = bank.result(1)
    reversal = results.reversal(result)
    assert reversal.succeeded and reversal.original_receipt == bank.receipt and reversal.amount == 50
    assert reversal.reversal_receipt and reversal.reversal_receipt != bank.receipt
    assert reversal.credit_party.number == PHONE
    assert {p["Key"] for p in raw["Result"]["ResultParameters"]["ResultParameter"]} == {
        p["Key"] for p in REVERSED["Result"]["ResultParameters"]["ResultParameter"]}
    bank.reverse(bank.receipt)
    _, raw, result = bank.result(2)
    assert raw["Result"]["ResultCode"] == "R000001" and "ResultParameters" not in raw["Result"]  # a string, as published
    assert results.reversal(result).already_reversed and not results.reversal(result).succeeded
    bank.reverse("NOSUCH0001")
    assert bank.result(3)[2].result_code == results.INVALID_ORIGINAL


def test_two_reversals_at_once_give_the_money_back_once(bank):
    bank.reverse(bank.receipt)
    bank.reverse(bank.receipt)
    codes = sorted(bank.result(n)[2].result_code for n in (1, 2))
    assert codes == ["0", "R000001"]


def test_outcomes_set_per_receipt(bank):
    initiator_sim = bank.sim.initiator
    initiator_sim.set_outcome("status", "no_result", bank.receipt)
    initiator_sim.set_outcome("reversal", "insufficient")
    bank.status(bank.receipt)  # no result will come for this one
    bank.reverse(bank.receipt)
    _, _, result = bank.result(1)
    assert result.result_code == "1" and [r["outcome"] for r in initiator_sim.wait_for_results(1)] == ["insufficient"]
    initiator_sim.set_outcome("status", "queue_timeout", bank.receipt)
    bank.status(bank.receipt)
    path, _, timed_out = bank.result(2)
    assert path.endswith("/api/payments/timeout/t") and not timed_out.succeeded
    initiator_sim.reset()
    bank.status(bank.receipt)
    assert results.transaction_status(bank.result(3)[2]).completed
