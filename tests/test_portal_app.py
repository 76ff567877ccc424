"""The portal app in-process (no sockets): answers to what goes wrong with storage."""

import io
import json
from wsgiref.util import setup_testing_defaults

import peewee
import pytest

from hotspotd.billing.packages import add_package
from hotspotd.customer.checkout import Checkout
from hotspotd.plumbing.runtime import Runtime
from hotspotd.store.db import db
from hotspotd.store.models import MpesaCallback, Payment
from hotspotd.web.portal import make_app

from .billing.test_payments import success
from .e2e.site import wait_for


def call(app, method, path, body=b"", lang=None):
    environ = {}
    setup_testing_defaults(environ)
    environ.update(REQUEST_METHOD=method, PATH_INFO=path, CONTENT_LENGTH=str(len(body)),
                   CONTENT_TYPE="application/json", **{"wsgi.input": io.BytesIO(body)})
    if lang:
        environ["HTTP_ACCEPT_LANGUAGE"] = lang
    status = []
    chunks = app(environ, lambda s, h, e=None: status.append(s))
    return int(status[0].split()[0]), json.loads(b"".join(chunks) or b"null")


@pytest.fixture
def app(config, checkout):
    return make_app(config, checkout)


@pytest.fixture
def full_disk():
    """SQLite's page limit gives exactly the error a full disk gives ('database or disk is
    full'). It is a per-connection setting, so it goes into the pragmas every new
    connection gets (the portal's callback writer opens its own)."""
    pages = db.execute_sql("PRAGMA page_count").fetchone()[0]
    db._pragmas.append(("max_page_count", pages))
    db.execute_sql(f"PRAGMA max_page_count = {pages}")
    yield
    db._pragmas[:] = [pragma for pragma in db._pragmas if pragma[0] != "max_page_count"]
    db.execute_sql("PRAGMA max_page_count = 1073741823")


def test_callback_on_a_full_disk_is_refused_with_503_and_nothing_half_written(runtime, config, now, full_disk):
    with db.atomic():
        db.execute_sql("PRAGMA max_page_count = 1073741823")  # room for the test's own setup
        package = add_package(name="Hour", price=10, duration="1h", now=now)
        Payment.create(ref="r1", package=package, phone="254712345678", amount=10, status="pending",
                       checkout_request_id="ws_CO_1", created_at=now, updated_at=now)
    path = f"/api/payments/stk-callback/{config.mpesa.callback_token}"
    big = success("ws_CO_1")[:-4] + b', "pad": "' + b"x" * 60000 + b'"}}}}'
    full = Checkout(runtime)  # its callback writer's connection has the page limit
    status, body = call(make_app(config, full), "POST", path, big)
    full.close()
    assert status == 503 and body["ResultCode"] == 1
    assert Payment.get(Payment.ref == "r1").status == "pending"  # not recorded, so not acknowledged
    assert MpesaCallback.select().count() == 0
    db._pragmas[:] = [pragma for pragma in db._pragmas if pragma[0] != "max_page_count"]
    again = Checkout(runtime)
    status, body = call(make_app(config, again), "POST", path, success("ws_CO_1"))  # space again: the retry is taken
    assert (status, body) == (200, {"ResultCode": 0, "ResultDesc": "Accepted"})
    wait_for(lambda: Payment.get(Payment.ref == "r1").status == "paid", 30, "the payment applied after the answer")
    again.close()


def test_pay_on_a_full_disk_is_a_clear_503(app, now):
    package = add_package(name="Hour", price=10, duration="1h", now=now)
    pages = db.execute_sql("PRAGMA page_count").fetchone()[0]
    db.execute_sql(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(peewee.OperationalError, match="full"):
        for n in range(100000):  # fill the payment table's last pages too
            Payment.create(ref=f"fill-{n}", package=package, phone="254712345678", amount=10,
                           created_at=now, updated_at=now)
    before = Payment.select().count()
    status, body = call(app, "POST", "/api/portal/pay", json.dumps({"package_id": 1, "phone": "0712345678"}).encode())
    db.execute_sql("PRAGMA max_page_count = 1073741823")
    assert status == 503 and "try again" in body["error"]
    assert Payment.select().count() == before  # and no M-Pesa prompt was sent for a payment not recorded


def test_unknown_route_and_wrong_method_are_json(app):
    assert call(app, "GET", "/nope") == (404, {"error": "Not found"})
    assert call(app, "GET", "/api/portal/pay")[0] == 405


def test_device_addresses_are_stored_as_the_router_reports_them(store, now, make_sim, config):
    from hotspotd.mpesa.client import DarajaClient
    sim = make_sim(callback_delay=3600)
    daraja = DarajaClient(sim.url, "sim-key", "sim-secret", "174379", config.mpesa.passkey, timeout=5)
    checkout = Checkout(Runtime(config, daraja=daraja))
    app = make_app(config, checkout)
    add_package(name="Hour", price=10, duration="1h", now=now)
    status, body = call(app, "POST", "/api/portal/pay",
                        json.dumps({"package_id": 1, "phone": "0712345678", "mac": "bc-24-11-eb-56-4d"}).encode())
    assert status == 202
    assert Payment.get(Payment.ref == body["payment_id"]).mac == "BC:24:11:EB:56:4D"
    status, body = call(app, "POST", "/api/portal/pay",
                        json.dumps({"package_id": 1, "phone": "0712345678", "mac": "not-a-mac"}).encode())
    assert status == 400 and "mac" in body["error"]


def test_selling_waits_for_a_believable_clock_in_both_languages(config, store, now):
    from hotspotd.customer.checkout import Checkout as Cases
    from hotspotd.web import language

    from .plumbing.test_clock import FakeTime

    stale = Runtime(config, site_clock=FakeTime(wall=86400.0).clock())  # a Pi without a clock battery: 1970
    checkout = Cases(stale)
    app = make_app(config, checkout)
    package = add_package(name="Hour", price=10, duration="1h", now=now)
    sales = [("/api/portal/pay", {"package_id": package.id, "phone": "0712345678", "mac": "AA:BB:CC:DD:EE:01"}),
             ("/api/portal/voucher", {"code": "ABCDE12345", "mac": "AA:BB:CC:DD:EE:01"}),
             ("/api/portal/paybill", {"package_id": package.id, "mac": "AA:BB:CC:DD:EE:01"}),
             ("/api/portal/trial", {"mac": "AA:BB:CC:DD:EE:01"})]
    for path, body in sales:
        for lang in ("en", "sw"):
            status, answer = call(app, "POST", path, json.dumps(body).encode(), lang=lang)
            assert status == 503, (path, answer)
            assert answer["error"] == language.catalogue(lang)("err.clock"), (path, lang)
    assert Payment.select().count() == 0  # and no prompt went to anyone's phone
    app.config["hotspotd.portal"].cases.close()
    checkout.close()
