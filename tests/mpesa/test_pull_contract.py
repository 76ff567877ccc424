"""The Pull Transactions contract (docs/protocols.md, "Pull Transactions"), one set of tests
for both sides: the real client drives the Daraja simulator, and a stand-in that answers
with nothing but the published samples, over real HTTP on loopback; what the client sends
must have the published field names either way. Then the simulator's own behaviour (paging,
dropped confirmations, the 48-hour window, its quirk switches) and bodies nobody publishes.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from hotspotd.errors import UpstreamError
from hotspotd.mpesa.c2b import parse_c2b
from hotspotd.mpesa.client import SANDBOX_PASSKEY, DarajaClient
from hotspotd.mpesa.pull import NOT_REGISTERED, PullTransactions, parse_page, window_start

from ..loopback import Inbox
from .published import PublishedDaraja

SHORT_CODE = "600000"
# docs/protocols.md, "Pull Transactions": the register body and both answer spellings, and
# the query body and answer as published (PHPM's sample, trimmed to the fields it shows).
PUBLISHED_REGISTER = {"ShortCode": "600000", "RequestType": "Pull", "NominatedNumber": "0722000000",
                      "CallBackURL": "https://domain/path"}
REGISTERED = {"ResponseRefID": "feb5e3f2-fbc-4745-844c-ee37b546f627", "ResponseStatus": "1000",
              "ShortCode": "600000", "ResponseDescription": "Shortcode Registered Successfully"}
ALREADY = {"ResponseRefID": "18633-7271215-1", "Response Status": "1001", "ShortCode": "600000",
           "Response Description": "ShortCode already Registered"}
PUBLISHED_QUERY = {"ShortCode": "600000", "StartDate": "2020-08-04 8:36:00", "EndDate": "2020-08-16 10:10:000",
                   "OffSetValue": "0"}
ROW = {"transactionId": "yzlyrEsRG1", "trxDate": "2020-08-05T10:13:00Z", "msisdn": 72200000, "sender": "UAT2",
       "transactiontype": "c2b-pay-bill-debit", "billreference": "37207636392", "amount": "168.00",
       "organizationname": "Daraja Pull API Test"}
PAGE = {"ResponseRefID": "26178-42530161-2", "ResponseCode": "1000", "ResponseMessage": "Success",
        "Response": [[ROW, {**ROW, "transactionId": "ZobjR29vdz", "amount": "647.00"},
                      {**ROW, "transactionId": "nZ84WxLx8p", "amount": "876.00"},
                      {**ROW, "transactionId": "9MFsu3cihH", "amount": "687.00"},
                      {**ROW, "transactionId": "LjFzAtI088", "amount": "93.00"}]]}
NONE = {"ResponseRefID": "26178-42530161-3", "ResponseCode": "1001", "ResponseMessage": "Null", "Response": [[]]}
ZONE = ZoneInfo("Africa/Nairobi")
DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def published_daraja(register_answer: dict = REGISTERED, pages: dict | None = None,
                     default: dict = NONE) -> PublishedDaraja:
    """A Daraja that knows only the published samples; `pages` answers each OffSetValue."""
    pages = {"0": PAGE} if pages is None else pages
    return PublishedDaraja(lambda path, body: register_answer if path.endswith("/register")
                           else pages.get(body.get("OffSetValue"), default))


def client(url: str) -> DarajaClient:
    return DarajaClient(url, "sim-key", "sim-secret", "174379", SANDBOX_PASSKEY, timeout=5)


@pytest.fixture
def inbox():
    with Inbox() as box:
        yield box


@pytest.fixture
def paying_sim(make_sim, inbox):
    """A simulator with Paybill URLs registered to `inbox` and Pull registered; `pay(n)`
    makes n payments and waits until each is done."""
    sim = make_sim()
    daraja = client(sim.url)
    daraja.register_c2b(short_code=SHORT_CODE, confirmation_url=f"{inbox.url}/api/payments/c2b-confirmation/t",
                        validation_url=f"{inbox.url}/api/payments/c2b-validation/t")
    PullTransactions(daraja, SHORT_CODE).register(nominated_number="254722000000",
                                                  callback_url=f"{inbox.url}/api/payments/c2b-confirmation/t")

    def pay(n: int, amount: int = 50, phone: str = "254712345678") -> list[dict]:
        payments = [sim.c2b.pay(amount=amount + i, phone=phone, account=f"A{i}X", short_code=SHORT_CODE)
                    for i in range(n)]
        for payment in payments:
            assert payment["done"].wait(10)
        return payments

    sim.pay = pay
    return sim


@pytest.fixture(params=["simulator", "published"])
def daraja(request, paying_sim):
    """Daraja, either way, holding five C2B payments to SHORT_CODE, and a function that
    lists the query bodies the client sent."""
    if request.param == "simulator":
        paying_sim.pay(5)
        paying_sim.pull.page_size = 2
        yield paying_sim, lambda: list(paying_sim.pull.queries)
    else:
        with published_daraja() as published:
            yield published, lambda: [r["body"] for r in published.requests if r["path"].endswith("/query")]


@pytest.mark.parametrize("answer", [REGISTERED, ALREADY])
def test_registering_sends_the_published_fields_and_reads_either_spelling(answer):
    with published_daraja(register_answer=answer) as published:
        done = PullTransactions(client(published.url), SHORT_CODE).register(
            nominated_number="254722000000", callback_url="https://wifi.example.test/api/payments/c2b-confirmation/t")
    [sent] = [r["body"] for r in published.requests]
    assert set(sent) == set(PUBLISHED_REGISTER) and sent["RequestType"] == "Pull" and sent["ShortCode"] == SHORT_CODE
    assert all(isinstance(value, str) for value in sent.values())
    assert done.short_code == SHORT_CODE and done.ref_id
    assert (done.status, done.already_registered, done.description) == (
        ("1000", False, "Shortcode Registered Successfully") if answer is REGISTERED
        else ("1001", True, "ShortCode already Registered"))


def test_the_simulator_takes_the_client_registration(make_sim):
    sim = make_sim()
    done = PullTransactions(client(sim.url), SHORT_CODE).register(
        nominated_number="254722000000", callback_url="https://wifi.example.test/api/payments/c2b-confirmation/t")
    assert done.status == "1000" and not done.already_registered
    assert sim.pull.registrations[SHORT_CODE]["NominatedNumber"] == "254722000000"


def test_the_simulator_refuses_a_second_registration_as_daraja_does(make_sim):
    sim = make_sim()
    sim.pull.spaced_keys = True
    pull = PullTransactions(client(sim.url), SHORT_CODE)
    first = pull.register(nominated_number="0722000000", callback_url="https://wifi.example.test/x")
    second = pull.register(nominated_number="0722000000", callback_url="https://wifi.example.test/x")
    assert (first.status, second.status) == ("1000", "1001") and second.already_registered


def test_pulling_sends_the_published_query_and_pages_until_nothing_is_left(daraja):
    daraja, queries = daraja
    now = datetime.now(timezone.utc)
    result = PullTransactions(client(daraja.url), SHORT_CODE).pull(now - timedelta(hours=1), now + timedelta(minutes=1),
                                                                   now=now)
    assert len(result.transactions) == 5 and len({t.trans_id for t in result.transactions}) == 5
    assert result.unreadable == 0 and result.unchecked is None
    sent = queries()
    for body in sent:
        assert set(body) == set(PUBLISHED_QUERY) and all(isinstance(v, str) for v in body.values())
        assert DATE.fullmatch(body["StartDate"]) and DATE.fullmatch(body["EndDate"])
        assert body["ShortCode"] == SHORT_CODE
    offsets = [int(body["OffSetValue"]) for body in sent]
    assert offsets[0] == 0 and offsets == sorted(set(offsets)) and offsets[-1] == 5  # the last page came back empty
    assert result.pages == len(sent)
    for transaction in result.transactions:
        assert transaction.trans_id == transaction.trans_id.upper() and transaction.amount > 0
        assert transaction.when is not None and transaction.when.tzinfo is not None


def test_the_published_rows_read_as_confirmations_would():
    [first, *_] = parse_page(PAGE).transactions
    assert (first.trans_id, first.amount, first.bill_ref, first.msisdn) == ("YZLYRESRG1", Decimal("168.00"),
                                                                            "37207636392", "72200000")
    assert first.when == datetime(2020, 8, 5, 10, 13, tzinfo=timezone.utc)
    payment = first.as_c2b(SHORT_CODE)
    assert (payment.trans_id, payment.short_code, payment.account, payment.trans_time) == (
        "YZLYRESRG1", SHORT_CODE, "37207636392", "20200805131300")  # Nairobi time, as TransTime is


def test_a_payment_whose_confirmation_was_dropped_is_pulled_exactly_as_a_confirmation_reads(paying_sim, inbox):
    [confirmed] = paying_sim.pay(1, amount=20)
    paying_sim.pull.configure(drop_confirmations=True)
    [dropped] = paying_sim.pay(1, amount=30)
    confirmations = [body for path, _, body in inbox.wait(2) if "c2b-confirmation" in path]
    assert len(confirmations) == 1 and dropped["confirmations"] == []
    now = datetime.now(timezone.utc)
    pulled = {t.trans_id: t for t in PullTransactions(client(paying_sim.url), SHORT_CODE).pull(
        now - timedelta(minutes=5), now + timedelta(minutes=1), now=now).transactions}
    assert set(pulled) == {confirmed["trans_id"], dropped["trans_id"]}
    as_confirmed = parse_c2b(confirmations[0])
    as_pulled = pulled[confirmed["trans_id"]].as_c2b(SHORT_CODE)
    for name in ("trans_id", "amount", "short_code", "bill_ref", "account", "trans_time"):
        assert getattr(as_pulled, name) == getattr(as_confirmed, name), name
    assert pulled[dropped["trans_id"]].amount == 30 and pulled[dropped["trans_id"]].bill_ref == "A0X"


def test_only_the_last_48_hours_can_be_pulled_and_the_rest_is_named(paying_sim):
    old, recent = paying_sim.pay(2)
    now = datetime.now(timezone.utc)
    paying_sim.ledger.backdate(old["trans_id"], now - timedelta(hours=50))
    asked = now - timedelta(hours=72)
    result = PullTransactions(client(paying_sim.url), SHORT_CODE).pull(asked, now + timedelta(minutes=1), now=now)
    assert [t.trans_id for t in result.transactions] == [recent["trans_id"]]
    assert result.start == window_start(now) and result.unchecked == (asked, window_start(now))
    first = paying_sim.pull.queries[0]
    assert first["StartDate"] == window_start(now).astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")
    gone = PullTransactions(client(paying_sim.url), SHORT_CODE).pull(asked, now - timedelta(hours=49), now=now)
    assert gone.pages == 0 and gone.transactions == () and gone.unchecked == (asked, now - timedelta(hours=49))


@pytest.mark.parametrize("switch", ["empty_as_string", "amount_as_number"])
def test_the_client_reads_each_published_variant(paying_sim, switch):
    paying_sim.pay(3)
    paying_sim.pull.configure(**{switch: True})
    now = datetime.now(timezone.utc)
    result = PullTransactions(client(paying_sim.url), SHORT_CODE).pull(now - timedelta(hours=1), now, now=now)
    assert sorted(t.amount for t in result.transactions) == [50, 51, 52]


def test_an_unregistered_short_code_is_a_clear_error_not_a_retry(make_sim):
    sim = make_sim()
    now = datetime.now(timezone.utc)
    with pytest.raises(UpstreamError) as refused:
        PullTransactions(client(sim.url), "600999").pull(now - timedelta(hours=1), now, now=now)
    assert str(refused.value) == NOT_REGISTERED and refused.value.retryable is False


def test_a_refused_token_is_renewed_once(paying_sim):
    paying_sim.pay(1)
    daraja = client(paying_sim.url)
    daraja.access_token()
    paying_sim.revoke_tokens()
    now = datetime.now(timezone.utc)
    issued = paying_sim.tokens_issued
    assert len(PullTransactions(daraja, SHORT_CODE).pull(now - timedelta(hours=1), now, now=now).transactions) == 1
    assert paying_sim.tokens_issued == issued + 1


def test_a_daraja_that_ignores_the_offset_is_stopped_not_followed_forever():
    with published_daraja(default=PAGE) as published:
        now = datetime.now(timezone.utc)
        with pytest.raises(UpstreamError, match="same page twice"):
            PullTransactions(client(published.url), SHORT_CODE).pull(now - timedelta(hours=1), now, now=now)
        assert len(published.requests) == 2


def test_none_found_in_any_published_form_is_an_empty_page():
    with published_daraja(pages={"0": {**NONE, "Response": None, "Transaction": "[[]]"}}) as published:
        now = datetime.now(timezone.utc)
        result = PullTransactions(client(published.url), SHORT_CODE).pull(now - timedelta(hours=1), now, now=now)
    assert result.transactions == () and result.pages == 1


# -- bodies nobody publishes ------------------------------------------------------------

def test_unreadable_rows_are_counted_and_never_hide_the_others():
    rows = [ROW, {**ROW, "transactionId": None}, {**ROW, "transactionId": "x"}, {**ROW, "amount": "abc"},
            {**ROW, "transactionId": "NEGATIVE01", "amount": -5}, {**ROW, "transactionId": "NOTANUMBER", "amount": "NaN"},
            {**ROW, "transactionId": "INFINITE01", "amount": "Infinity"}, {**ROW, "transactionId": "BOOLEAN001",
                                                                              "amount": True},
            "a string", 7, None, {**ROW, "transactionId": "ODDDATE001", "trxDate": "yesterday"},
            {**ROW, "transactionId": "NAIVEDATE1", "trxDate": "2020-08-05 10:13:00", "amount": 233.8}]
    page = parse_page({"ResponseCode": "1000", "Response": [rows]})
    assert page.rows == len(rows) and page.unreadable == len(rows) - 3
    read = {t.trans_id: t for t in page.transactions}
    assert set(read) == {"YZLYRESRG1", "ODDDATE001", "NAIVEDATE1"}
    assert read["ODDDATE001"].when is None and read["ODDDATE001"].as_c2b(SHORT_CODE).trans_time == ""
    assert read["NAIVEDATE1"].when == datetime(2020, 8, 5, 7, 13, tzinfo=timezone.utc)  # Nairobi local time
    assert read["NAIVEDATE1"].amount == Decimal("233.8")


def test_a_flat_list_of_rows_is_read_too():
    assert [t.trans_id for t in parse_page({"ResponseCode": "1000", "Response": [ROW]}).transactions] == ["YZLYRESRG1"]


@pytest.mark.parametrize("answer", [{"ResponseCode": "1000"}, {"ResponseCode": "1000", "Response": {"a": 1}},
                                    {"ResponseCode": "1000", "Response": "not json"}])
def test_an_answer_without_a_row_list_is_a_clear_error(answer):
    with pytest.raises(UpstreamError, match="without transactions"):
        parse_page(answer)


def test_an_error_page_midway_fails_the_whole_pull_for_a_later_retry():
    with published_daraja(pages={"0": PAGE, "5": {"requestId": "x", "errorCode": "500.003.02", "errorMessage": "busy"}},
                   default=NONE) as published:
        now = datetime.now(timezone.utc)
        with pytest.raises(UpstreamError) as failed:
            PullTransactions(client(published.url), SHORT_CODE).pull(now - timedelta(hours=1), now, now=now)
    assert failed.value.retryable



def test_the_next_page_starts_after_every_row_the_last_one_held_read_or_not():
    page = {**PAGE, "Response": [[ROW, {**ROW, "transactionId": None}, {**ROW, "transactionId": "SECOND0001"}]]}
    busy = {"requestId": "x", "errorCode": "500.003.02", "errorMessage": "busy"}
    with published_daraja(pages={"0": page, "3": NONE}, default=busy) as published:
        now = datetime.now(timezone.utc)
        result = PullTransactions(client(published.url), SHORT_CODE).pull(now - timedelta(hours=1), now, now=now)
    assert [t.trans_id for t in result.transactions] == ["YZLYRESRG1", "SECOND0001"] and result.unreadable == 1
    assert [r["body"]["OffSetValue"] for r in published.requests] == ["0", "3"]


def test_the_simulator_takes_the_published_query_body_as_it_is(paying_sim):
    daraja = client(paying_sim.url)
    status, answer = daraja.call("/pulltransactions/v1/query", PUBLISHED_QUERY)
    assert status == 200 and answer["ResponseCode"] == "1001" and answer["Response"] == [[]]  # 2020: long gone
    for field, value in (("StartDate", "yesterday"), ("EndDate", "2020-08-01 00:00:00"), ("OffSetValue", "-1")):
        status, answer = daraja.call("/pulltransactions/v1/query", {**PUBLISHED_QUERY, field: value})
        assert status == 400 and answer["errorMessage"] == f"Bad Request - Invalid {field}"
    status, answer = daraja.call("/pulltransactions/v1/query", {**PUBLISHED_QUERY, "ShortCode": "600999"})
    assert (status, answer["errorCode"]) == (400, "400.001")
