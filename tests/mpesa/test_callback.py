import json
from decimal import Decimal

import pytest

from hotspotd.errors import MalformedCallback
from hotspotd.billing.payments import status_for_result
from hotspotd.mpesa.callback import parse_stk_callback

SUCCESS = {"Body": {"stkCallback": {
    "MerchantRequestID": "29115-34620561-1", "CheckoutRequestID": "ws_CO_191220191020363925",
    "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
    "CallbackMetadata": {"Item": [
        {"Name": "Amount", "Value": 1.00}, {"Name": "MpesaReceiptNumber", "Value": "NLJ7RT61SV"},
        {"Name": "Balance"}, {"Name": "TransactionDate", "Value": 20191219102115},
        {"Name": "PhoneNumber", "Value": 254708374149}]}}}}


def body(document) -> bytes:
    return json.dumps(document).encode()


def test_official_success_sample_with_valueless_balance():
    cb = parse_stk_callback(body(SUCCESS))
    assert cb.succeeded and cb.checkout_request_id == "ws_CO_191220191020363925"
    assert cb.amount == Decimal("1.0") and cb.receipt == "NLJ7RT61SV"
    assert cb.phone == "254708374149" and cb.transaction_date == "20191219102115"


def test_items_in_any_order_and_result_code_as_string():
    document = json.loads(json.dumps(SUCCESS))
    document["Body"]["stkCallback"]["ResultCode"] = "0"
    document["Body"]["stkCallback"]["CallbackMetadata"]["Item"].reverse()
    cb = parse_stk_callback(body(document))
    assert cb.succeeded and cb.receipt == "NLJ7RT61SV"


def test_failure_has_no_metadata():
    cb = parse_stk_callback(body({"Body": {"stkCallback": {
        "MerchantRequestID": "f1e2", "CheckoutRequestID": "ws_CO_2107", "ResultCode": 1032,
        "ResultDesc": "Request cancelled by user"}}}))
    assert not cb.succeeded and cb.result_code == 1032 and cb.amount is None


@pytest.mark.parametrize("raw,reason", [
    (b"not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[]", "no Body.stkCallback"),
    (b'{"Body": {"stkCallback": "x"}}', "not an object"),
    (b'{"Body": {"stkCallback": {"ResultCode": 0}}}', "no CheckoutRequestID"),
    (b'{"Body": {"stkCallback": {"CheckoutRequestID": "ws_1"}}}', "no ResultCode"),
    (b'{"Body": {"stkCallback": {"CheckoutRequestID": "ws_1", "ResultCode": "zero"}}}', "not a number"),
    (b'{"Body": {"stkCallback": {"CheckoutRequestID": "ws_1", "ResultCode": 0}}}', "without CallbackMetadata"),
    (b'{"Body": {"stkCallback": {"CheckoutRequestID": "ws_1", "ResultCode": 0, "CallbackMetadata": '
     b'{"Item": [{"Name": "Amount", "Value": 10}]}}}}', "without MpesaReceiptNumber"),
    (b'{"Body": {"stkCallback": {"CheckoutRequestID": "ws_1", "ResultCode": 0, "CallbackMetadata": '
     b'{"Item": [{"Name": "Amount", "Value": "NaN"}, {"Name": "MpesaReceiptNumber", "Value": "X"}]}}}}',
     "positive number"),
    (b"x" * (64 * 1024 + 1), "larger than 64 KiB"),
])
def test_malformed_bodies_say_what_is_wrong(raw, reason):
    with pytest.raises(MalformedCallback, match=reason):
        parse_stk_callback(raw)


def test_result_codes_map_to_statuses():
    assert status_for_result(0) == "received"
    assert status_for_result(1032) == "cancelled"
    assert status_for_result(1037) == "expired"
    assert status_for_result(1) == "failed"
    assert status_for_result(2001) == "failed"
