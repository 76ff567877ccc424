"""The portal's routes in-process: hostile input gets a clear 4xx and stores nothing,
attempts are budgeted, answers come in the customer's language, assets are small and cached."""

from __future__ import annotations

import gzip
import io
import json
import logging
import urllib.parse
from wsgiref.util import setup_testing_defaults

import pytest

from hotspotd.billing import vouchers
from hotspotd.billing.packages import add_package
from hotspotd.customer.checkout import Checkout
from hotspotd.mpesa.client import DarajaClient
from hotspotd.plumbing.runtime import Runtime
from hotspotd.sim.daraja.wire import c2b_body, masked_msisdn
from hotspotd.store.db import utcnow
from hotspotd.router import add_router
from hotspotd.sim.routeros import RouterOSSimulator
from hotspotd.store.models import C2BTransaction, Customer, Payment, Router, Subscription, Trial, Voucher
from hotspotd.web.portal import make_app

from ..conftest import CALLBACK_TOKEN
from ..loopback import wait_for

MAC = "AA:BB:CC:00:00:01"


class Answer:
    def __init__(self, status: str, headers: list, body: bytes) -> None:
        self.status = int(status.split()[0])
        self.headers = {k.lower(): v for k, v in headers}
        self.raw = body

    @property
    def json(self):
        return json.loads(self.raw)

    @property
    def text(self) -> str:
        return self.raw.decode()


def request(app, method: str, path: str, body: bytes | dict | None = None, *, remote: str = "10.5.50.2",
            headers: dict | None = None, form: bool = False) -> Answer:
    if isinstance(body, dict):
        body = urllib.parse.urlencode(body).encode() if form else json.dumps(body).encode()
    body = body or b""
    path, _, query = path.partition("?")
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update(REQUEST_METHOD=method, PATH_INFO=path, QUERY_STRING=query, CONTENT_LENGTH=str(len(body)),
                   CONTENT_TYPE="application/x-www-form-urlencoded" if form else "application/json",
                   REMOTE_ADDR=remote, **{"wsgi.input": io.BytesIO(body)})
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    got: list = []
    chunks = app(environ, lambda status, hdrs, exc=None: got.append((status, hdrs)))
    return Answer(got[0][0], got[0][1], b"".join(chunks))


@pytest.fixture
def sim(make_sim):
    return make_sim(callback_delay=3600)


@pytest.fixture
def app(store, config, sim):
    config.mpesa.paybill = "600984"
    config.portal.trial_minutes = 15
    client = DarajaClient(sim.url, "sim-key", "sim-secret", "174379", config.mpesa.passkey, timeout=5)
    runtime = Runtime(config, daraja=client)
    checkout = Checkout(runtime)
    application = make_app(config, checkout)
    add_package(name="Hour", price=10, duration="1h", rate="2M/5M", now=utcnow())
    yield application
    application.config["hotspotd.portal"].cases.close()
    checkout.close()
    runtime.close()


@pytest.fixture
def no_errors(caplog):
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def nothing_stored() -> bool:
    return not (Payment.select().exists() or Subscription.select().exists() or Customer.select().exists()
                or Trial.select().exists())


ROUTES = {
    "/api/portal/pay": {"package_id": 1, "phone": "0712345678", "mac": MAC},
    "/api/portal/paybill": {"package_id": 1, "mac": MAC},
    "/api/portal/voucher": {"code": "ABCDEFGHJK", "mac": MAC},
    "/api/portal/restore": {"receipt": "TJK3ABC12X", "phone": "0712345678", "mac": MAC},
    "/api/portal/login": {"username": "uabcdefg", "password": "secret12", "mac": MAC},
    "/api/portal/logout": {"username": "uabcdefg", "password": "secret12", "mac": MAC},
    "/api/portal/trial": {"mac": MAC},
}
HOSTILE_BODIES = {
    "too large": b'{"pad": "' + b"x" * 9000 + b'"}',
    "nested 4000 deep": b'{"a": ' + b"[" * 4000 + b"]" * 4000 + b"}",
    "not an object": b"[1, 2, 3]",
    "not JSON": b"package_id=1",
    "not UTF-8": b'{"code": "\xff\xfe"}',
    "huge number": b'{"package_id": 1' + b"0" * 5000 + b"}",
}
HOSTILE_VALUES = [10**30, -1, 0, True, 1.9, "1", 1e300, [1], {"a": 1}, "a\x00b", "\u202e" * 3, "ü" * 300]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("name", HOSTILE_BODIES)
def test_hostile_bodies_get_a_clear_400(app, no_errors, route, name):
    answer = request(app, "POST", route, HOSTILE_BODIES[name])
    assert answer.status == 400 and isinstance(answer.json["error"], str)
    assert nothing_stored()


@pytest.mark.parametrize("route", ROUTES)
def test_every_field_refuses_wrong_types_and_odd_text(app, no_errors, route):
    for field in ROUTES[route]:
        for value in HOSTILE_VALUES:
            answer = request(app, "POST", route, {**ROUTES[route], field: value})
            assert 400 <= answer.status < 500, (field, value, answer.text)
            assert isinstance(answer.json["error"], str), (field, value)
    assert nothing_stored()


def test_1e400_and_the_lookalikes_of_1_are_not_package_1(app, no_errors):
    for raw in (b"1e400", b"-1e400", b"true", b"1.9", b'"1"', b"1.0", b"NaN", b"Infinity"):
        body = b'{"package_id": ' + raw + b', "phone": "0712345678"}'
        answer = request(app, "POST", "/api/portal/pay", body)
        assert answer.status == 400 and "package_id" in answer.json["error"], raw
    assert nothing_stored()


def test_voucher_guesses_are_budgeted_per_device_and_per_address(app, no_errors):
    for attempt in range(5):
        assert request(app, "POST", "/api/portal/voucher", {"code": "ABCDEFGHJK", "mac": MAC}).status == 404
    refused = request(app, "POST", "/api/portal/voucher", {"code": "ABCDEFGHJK", "mac": MAC})
    assert refused.status == 429 and int(refused.headers["retry-after"]) >= 60
    assert refused.json["error"].startswith("Too many attempts")
    # Another MAC from the same address gets the rest of the address's 10, then no more.
    statuses = [request(app, "POST", "/api/portal/voucher", {"code": "ABCDEFGHJK", "mac": f"AA:BB:CC:00:01:{i:02X}"}
                        ).status for i in range(8)]
    assert statuses == [404] * 5 + [429] * 3
    assert request(app, "POST", "/api/portal/voucher", {"code": "ABCDEFGHJK", "mac": "AA:BB:CC:00:02:01"},
                   remote="10.5.50.3").status == 404  # another address is not held up


def test_no_phone_gets_more_than_three_prompts_whoever_asks(app, sim, no_errors):
    answers = [request(app, "POST", "/api/portal/pay", {"package_id": 1, "phone": "0712 345 678",
                                                         "mac": f"AA:BB:CC:00:03:{i:02X}"}, remote=f"10.5.51.{i}")
               for i in range(20)]
    assert [a.status for a in answers] == [202] * 3 + [429] * 17
    assert len(sim.pushes) == 3 and Payment.select().count() == 3


def test_a_flood_of_payments_and_trials_from_many_addresses_writes_a_bounded_number_of_records(app, no_errors, now):
    """Every request from an address and a device of its own: each one's budgets allow it, so
    only the site's budgets (300 payments at once then two a second; 60 trials at once
    then one every 10 s) hold the records down. The trials' devices are real to the router
    (its host table knows 10.7.0.0/16), the payers' are only claimed."""
    import time

    from hotspotd.store.models import Event

    with RouterOSSimulator(password="api-pass") as routeros:
        routeros.router.auto_hosts("10.7.0.0/16")
        add_router("gate", "127.0.0.1", "radius-secret-123", "127.0.0.1", api_port=routeros.port, api_user="admin",
                   api_password="api-pass", now=now)
        started = time.monotonic()
        paid = [request(app, "POST", "/api/portal/paybill",
                        {"package_id": 1, "mac": f"02:00:00:00:{n >> 8:02X}:{n & 255:02X}"},
                        remote=f"10.6.{n >> 8}.{n & 255}").status for n in range(1500)]
        tried = [request(app, "POST", "/api/portal/trial", {}, remote=f"10.7.{n >> 8}.{n & 255}").status
                 for n in range(1500)]
    elapsed = time.monotonic() - started
    assert set(paid) == {201, 429} and set(tried) == {200, 429}
    assert 300 <= paid.count(201) == Payment.select().count() <= 300 + 2 * elapsed + 1
    assert Event.select().where(Event.type == "payment.initiated").count() == paid.count(201)
    assert 60 <= tried.count(200) == Trial.select().count() <= 60 + elapsed / 10 + 1


def test_errors_come_in_the_customers_language(app, no_errors):
    cookie = request(app, "POST", "/api/portal/voucher", {"code": "ABCDEFGHJK", "mac": MAC}, headers={"Cookie": "lang=sw"})
    assert cookie.json == {"error": "Nambari ya vocha haijulikani: iangalie kisha ujaribu tena"}
    browser = request(app, "POST", "/api/portal/pay", {"package_id": 1, "phone": "12"}, remote="10.5.50.9",
                      headers={"Accept-Language": "sw-KE,sw;q=0.9"})
    assert browser.json["error"].startswith("Andika nambari")
    assert request(app, "GET", "/no/such/page", headers={"Cookie": "lang=sw"}).json == {"error": "Haikupatikana"}


def test_the_landing_page_is_small_in_both_languages_and_the_choice_sticks(app):
    page = request(app, "GET", f"/?mac={MAC}&ip=10.5.50.2&lang=sw")
    assert page.status == 200 and 'lang="sw"' in page.text and "Lipa na M-Pesa" in page.text
    assert page.headers["set-cookie"].startswith("lang=sw")
    assert "Saa 1 · hadi Mbps 5" in page.text
    assert f'href="/?mac={urllib.parse.quote(MAC)}&amp;ip=10.5.50.2&amp;lang=en"' in page.text  # the switch keeps the device
    english = request(app, "GET", f"/?mac={MAC}", headers={"Cookie": "lang=en", "Accept-Language": "sw"})
    assert 'lang="en"' in english.text and "set-cookie" not in english.headers
    total = len(page.raw) + sum(len(request(app, "GET", f"/static/{name}").raw) for name in ("portal.css", "portal.js"))
    total += len(request(app, "GET", "/favicon.ico").raw)
    assert total < 100_000, total


def test_assets_are_gzipped_and_cached_by_version(app):
    page = request(app, "GET", "/").text
    url = next(part.split('"')[1] for part in page.split("src=")[1:] if "portal.js" in part)
    zipped = request(app, "GET", url, headers={"Accept-Encoding": "gzip, deflate"})
    plain = request(app, "GET", url)
    assert zipped.headers["content-encoding"] == "gzip" and gzip.decompress(zipped.raw) == plain.raw
    assert len(zipped.raw) < len(plain.raw) / 2
    assert "immutable" in zipped.headers["cache-control"] and zipped.headers["vary"] == "Accept-Encoding"
    again = request(app, "GET", url, headers={"If-None-Match": zipped.headers["etag"]})
    assert again.status == 304 and again.raw == b""


def test_the_voucher_form_works_without_javascript(app, store):
    [code] = vouchers.make(add_package(name="Day", price=50, duration="1d", now=utcnow()), 1, utcnow())
    gate = add_router("gate", "127.0.0.1", "radius-secret-123", now=utcnow())
    Router.update(login_hosts=["10.5.50.1"]).where(Router.id == gate.id).execute()  # as the probe read it
    login = "http://10.5.50.1/login"
    done = request(app, "POST", "/voucher", {"code": code.lower(), "mac": MAC, "ip": "10.5.50.2", "lang": "sw",
                                              "link-login-only": login, "link-orig": "http://example.com/"}, form=True)
    assert done.status == 200 and "Uko tayari kuingia mtandaoni" in done.text
    customer_id = Voucher.get(Voucher.code == code).customer_id
    from hotspotd.billing.subscriptions import credential_for
    username, password = credential_for(customer_id, utcnow())
    assert f'action="{login}"' in done.text and f'value="{username}"' in done.text and password in done.text
    wrong = request(app, "POST", "/voucher", {"code": "ABCDEFGHJK", "mac": MAC, "lang": "en"}, form=True)
    assert wrong.status == 404 and "Unknown voucher code" in wrong.text


def test_the_captive_api_speaks_rfc_8908(app, config):
    answer = request(app, "GET", "/api/captive")
    assert answer.headers["content-type"] == "application/captive+json"
    assert answer.headers["cache-control"] == "private, no-store"
    assert answer.json == {"captive": True, "user-portal-url": config.portal.public_url + "/"}


def c2b_post(app, kind: str, body: bytes, token: str = CALLBACK_TOKEN) -> Answer:
    return request(app, "POST", f"/api/payments/c2b-{kind}/{token}", body, remote="196.201.214.200")


def test_paybill_routes_answer_daraja_and_replays_change_nothing(app, config, no_errors):
    offer = request(app, "POST", "/api/portal/paybill", {"package_id": 1, "mac": MAC}).json
    body = json.dumps(c2b_body(trans_id="RKL51ZDR4F", when=utcnow(), amount=10, short_code="600984",
                               bill_ref=offer["account"], msisdn=masked_msisdn("254712345126"))).encode()
    assert c2b_post(app, "validation", body).json == {"ResultCode": "0", "ResultDesc": "Accepted"}
    assert c2b_post(app, "validation", body.replace(offer["account"].encode(), b"1111111")).json == {
        "ResultCode": "C2B00012", "ResultDesc": "Rejected"}
    for _ in range(3):  # Daraja may deliver a confirmation more than once
        assert c2b_post(app, "confirmation", body).json == {"ResultCode": 0, "ResultDesc": "Success"}
    assert C2BTransaction.select().count() == 1
    status = wait_for(lambda: (lambda s: s["status"] == "paid" and s)(
        request(app, "GET", f"/api/portal/payments/{offer['payment_id']}?mac={MAC}").json), 30, "applied after the commit")
    assert status["username"] and Subscription.select().count() == 1
    assert c2b_post(app, "confirmation", body, token="wrong-token").status == 404
    assert c2b_post(app, "confirmation", b"x" * 70_000).status == 413
    malformed = c2b_post(app, "confirmation", b'{"TransID": []}')
    assert malformed.status == 400 and C2BTransaction.select().count() == 2  # kept for inspection
    assert c2b_post(app, "validation", b"[[[[").json["ResultCode"] == "C2B00016"


def test_paying_without_javascript_waits_on_a_page_that_reloads_itself(app, no_errors):
    answer = request(app, "POST", "/pay", {"package_id": "1", "phone": "0712 345 678", "mac": MAC, "lang": "sw"},
                     form=True)
    assert answer.status == 303
    location = urllib.parse.urlsplit(answer.headers["location"])
    assert location.path.startswith("/wait/") and "lang=sw" in location.query
    waiting = request(app, "GET", f"{location.path}?{location.query}")
    assert waiting.status == 200 and 'http-equiv="refresh"' in waiting.text and "Angalia simu yako" in waiting.text


@pytest.mark.parametrize("route, fields", [
    ("/pay", {"package_id": "1e400", "phone": "0712345678"}), ("/pay", {"package_id": "1", "phone": "x" * 500}),
    ("/voucher", {"code": "A\x00B"}), ("/restore", {"receipt": "ü" * 50, "phone": "0712345678"}),
    ("/login", {"username": "u" * 100, "password": "p"}), ("/trial", {"mac": "not a mac"}),
])
def test_the_forms_refuse_hostile_fields_with_a_plain_page(app, no_errors, route, fields):
    answer = request(app, "POST", route, {"mac": MAC, **fields, "lang": "en"}, form=True)
    assert 400 <= answer.status < 500 and "That did not work" in answer.text
    assert nothing_stored()
