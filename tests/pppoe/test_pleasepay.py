"""The "please pay" page, in process: the asking address finds the subscriber through their
open PPP session; the page says what is owed and until when; paying sends a prompt; the
router's redirected traffic (a foreign Host) is sent to the page, nobody else's."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest

from hotspotd.customer.checkout import Checkout
from hotspotd.sessions import AccountingRecord, apply_accounting
from hotspotd.store.db import utcnow
from hotspotd.store.models import Payment, Subscriber
from hotspotd.web import portal

SUSPENDED_AT = "10.21.0.5"


def call(app, method, path, *, address="127.0.0.1", host="127.0.0.1", body=b"", ctype="application/json",
         lang="en"):
    environ = {}
    setup_testing_defaults(environ)
    path, _, query = path.partition("?")
    environ.update(REQUEST_METHOD=method, PATH_INFO=path, QUERY_STRING=query, CONTENT_LENGTH=str(len(body)),
                   CONTENT_TYPE=ctype, REMOTE_ADDR=address, HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE=lang,
                   **{"wsgi.input": io.BytesIO(body)})
    status, headers = [], []
    chunks = app(environ, lambda s, h, e=None: (status.append(s), headers.extend(h)))
    return int(status[0].split()[0]), dict(headers), b"".join(chunks).decode()


@pytest.fixture
def app(runtime, config):
    checkout = Checkout(runtime)
    yield portal.make_app(config, checkout)
    checkout.close()


@pytest.fixture
def suspended(subscribe, router, config):
    """A subscriber whose period ended a day ago, dialled into the suspended pool."""
    now = utcnow()
    sub = subscribe(days=None, language="en")
    Subscriber.update(period_end=now - timedelta(days=1), balance_cents=50000).where(Subscriber.id == sub.id).execute()
    apply_accounting([AccountingRecord(router.id, 1, "81C00077", sub.username, "AA:BB:CC:00:00:07", SUSPENDED_AT,
                                       kind="pppoe")], now)
    return Subscriber.get_by_id(sub.id)


def test_the_page_says_who_what_is_owed_and_until_when(app, suspended):
    status, headers, page = call(app, "GET", "/please-pay", address=SUSPENDED_AT)
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert "Hi Wanjiku" in page and "Your home internet (Home 5M) ended on" in page
    assert "Pay KES 1,000 for up to 5 Mbps until " in page  # 1,500 less the 500 already paid
    assert f"account {suspended.account}" in page and "You have KES 500 towards it already." in page
    status, _, sw = call(app, "GET", "/please-pay", address=SUSPENDED_AT, lang="sw")
    assert "Habari Wanjiku" in sw and "Lipa KES 1,000 kwa hadi Mbps 5 hadi tarehe" in sw
    status, _, data = call(app, "GET", "/api/portal/please-pay", address=SUSPENDED_AT)
    owing = json.loads(data)
    assert owing["known"] and (owing["owed"], owing["status"], owing["account"]) == (1000, "suspended", suspended.account)


def test_anyone_else_learns_nothing(app, suspended):
    status, _, page = call(app, "GET", "/please-pay", address="10.21.0.99")
    assert status == 200 and "could not tell who you are" in page and suspended.account not in page
    assert json.loads(call(app, "GET", "/api/portal/please-pay", address="10.21.0.99")[2]) == {"known": False}
    status, _, answer = call(app, "POST", "/api/portal/please-pay/pay", address="10.21.0.99", body=b"{}")
    assert status == 404


def test_redirected_web_traffic_of_a_subscriber_goes_to_the_page(app, suspended, config):
    status, headers, _ = call(app, "GET", "/some/page?q=1", address=SUSPENDED_AT, host="example.com")
    assert status == 302 and headers["Location"] == config.portal.public_url + "/please-pay"
    # the portal's own host, or someone who is not a subscriber: nothing changes
    assert call(app, "GET", "/healthz", address=SUSPENDED_AT)[0] == 200
    assert call(app, "GET", "/healthz", address="10.5.50.9", host="example.com")[0] == 200


def test_pay_now_sends_the_prompt_once_a_minute(app, suspended, runtime, make_sim):
    sim = make_sim(callback_delay=3600)
    runtime.config.mpesa.base_url = sim.url
    status, headers, _ = call(app, "POST", "/please-pay", address=SUSPENDED_AT, body=urlencode({"phone": ""}).encode(),
                              ctype="application/x-www-form-urlencoded")
    assert status == 303 and "/please-pay?payment=" in headers["Location"]
    payment = Payment.get()
    assert (payment.amount, payment.phone, payment.subscriber_id) == (1000, "254712345678", suspended.id)
    assert sim.pushes[-1]["account_reference"] == suspended.account
    status, _, page = call(app, "GET", headers["Location"].split("127.0.0.1", 1)[-1], address=SUSPENDED_AT)
    assert "Check your phone" in page and 'http-equiv="refresh"' in page
    status, _, answer = call(app, "POST", "/api/portal/please-pay/pay", address=SUSPENDED_AT,
                             body=json.dumps({"phone": "0722000111"}).encode())
    assert status == 429  # one prompt a minute per subscriber
    status, _, answer = call(app, "GET", f"/api/portal/please-pay/payments/{payment.ref}", address="10.9.9.9")
    assert json.loads(answer)["status"] == "pending" and json.loads(answer)["online"] is False
