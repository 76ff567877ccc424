"""Reading Daraja's asynchronous results: the published samples of Transaction Status and
Reversal read alike whatever their spelling, and odd or hostile bodies get a clear error."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from hotspotd.errors import MalformedCallback
from hotspotd.mpesa import results

from .test_initiator_contract import DARAJA3_STATUS, NOT_REVERSED, PHPM_STATUS, REVERSED


def read(document) -> results.DarajaResult:
    return results.parse_result(json.dumps(document).encode())


def test_both_published_status_samples_read_the_same_way():
    daraja3, phpm = (results.transaction_status(read(d)) for d in (DARAJA3_STATUS, PHPM_STATUS))
    assert daraja3.completed and phpm.completed
    assert (daraja3.receipt, daraja3.amount, phpm.receipt, phpm.amount) == ("MBN31H462N", Decimal(300),
                                                                            "LGR919G2AV", Decimal(10))
    # Daraja 3.0 names the second party DebitPartyName again; the older sample CreditPartyName.
    assert (daraja3.debit_party.number, daraja3.credit_party.number) == ("600310", "254708374149")
    assert (phpm.debit_party.number, phpm.credit_party.number) == ("600134", "254708374149")
    assert daraja3.credit_party.name == "John Doe"
    assert daraja3.between("254708374149", "600310") and phpm.between("254708374149", "600134")
    assert (daraja3.finalised_time, phpm.finalised_time) == ("20180223054112", "20170727101415")
    assert read(PHPM_STATUS).parameter("originator conversation id") == "19455-773836-1"
    assert read(DARAJA3_STATUS).parameter("TransactionReason") is None  # given without a Value
    assert read(PHPM_STATUS).reference == {"occasion": ("aaaa",)}


def test_both_published_reversal_results_read():
    done = results.reversal(read(REVERSED))
    assert done.succeeded and (done.reversal_receipt, done.original_receipt) == ("SKE52PAWR9", "SKC82PACB8")
    assert (done.amount, done.charge, done.completed_time) == (Decimal("1.0"), Decimal("0.0"), "20211114132711")
    assert done.credit_party == results.Party("254705912645", "NICHOLAS JOHN SONGOK")
    refused = results.reversal(read(NOT_REVERSED))
    assert not refused.succeeded and refused.result.result_code == "R000002" and refused.reversal_receipt is None
    assert refused.amount is None and refused.credit_party is None


@pytest.mark.parametrize("code, expected", [(0, "0"), ("0", "0"), ("00", "0"), (2001, "2001"), ("R000001", "R000001"),
                                            (" SFC_IC0003 ", "SFC_IC0003")])
def test_result_codes_are_strings_whatever_their_type(code, expected):
    document = json.loads(json.dumps(NOT_REVERSED))
    document["Result"]["ResultCode"] = code
    assert read(document).result_code == expected


def test_duplicates_missing_values_odd_values_and_a_lone_item_are_tolerated():
    document = json.loads(json.dumps(DARAJA3_STATUS))
    parameters = document["Result"]["ResultParameters"]["ResultParameter"]
    parameters[:0] = [{"Key": "Amount"}, {"Key": "ReceiptNo", "Value": {"nested": 1}}, {"Value": "no key"}, "junk", 7]
    parameters.append({"Key": "Amount", "Value": "999"})
    status = results.transaction_status(read(document))
    assert status.amount == 300 and status.receipt == "MBN31H462N"  # the first usable value of each
    assert read(document).every("Amount") == ("300", "999")
    document["Result"]["ResultParameters"] = {"ResultParameter": {"Key": "ReceiptNo", "Value": "ABC1234567"}}
    assert results.transaction_status(read(document)).receipt == "ABC1234567"
    document["Result"]["ResultParameters"] = "nonsense"
    lone = results.transaction_status(read(document))
    assert lone.receipt is None and not lone.completed and lone.parties == ()


@pytest.mark.parametrize("body, why", [
    (b"not json", "not JSON"), (b"\xff\xfe", "not JSON"), (b"[1, 2]", "no Result"), (b'{"Result": "x"}', "no Result"),
    (b'{"Result": {"ConversationID": "AG_1"}}', "no ResultCode"),
    (b'{"Result": {"ResultCode": true, "ConversationID": "AG_1"}}', "not a code"),
    (b'{"Result": {"ResultCode": 1.5, "ConversationID": "AG_1"}}', "not a code"),
    (b'{"Result": {"ResultCode": {"a": 1}, "ConversationID": "AG_1"}}', "not a code"),
    (b'{"Result": {"ResultCode": "", "ConversationID": "AG_1"}}', "empty"),
    (b'{"Result": {"ResultCode": 0}}', "neither ConversationID"),
    (b"[" * 100_000, "larger than 64 KiB"), (b"[" * 50_000 + b"]" * 50_000, "larger than 64 KiB"),
    (b"[" * 30_000 + b"]" * 30_000, "not JSON"),
])
def test_hostile_bodies_get_a_clear_error(body, why):
    with pytest.raises(MalformedCallback, match=why):
        results.parse_result(body)


def test_a_result_type_that_is_not_a_number_does_not_stop_the_reading():
    document = json.loads(json.dumps(REVERSED))
    document["Result"]["ResultType"] = "waiting"
    assert read(document).result_type == 0 and read(document).succeeded
