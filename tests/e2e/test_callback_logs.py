"""What the portal process logs when a callback route fails unexpectedly: the path is
there (the operator needs to see which route failed), the callback token is not (it is the
only thing keeping strangers from posting payments)."""

from __future__ import annotations

import pytest

from hotspotd.sim.daraja import DarajaSimulator

from .site import CALLBACK_TOKEN, Site, free_port, http, wait_for

pytestmark = pytest.mark.e2e

FORCED = "forced for this test"


# Loaded by the portal process at start (Python imports `sitecustomize` from its path): the
# callback use cases fail as a bug would. Nothing else about the process is changed.
# Its message names the path, as an error from deeper down might: the traceback carries the token too.
BREAK = f"""
import bottle
from hotspotd.customer.checkout import Checkout
from hotspotd.customer.paybill import Paybill

def broken(*args, **kwargs):
    raise RuntimeError("{FORCED} on " + bottle.request.path)

Checkout.receive_callback = broken
Paybill.confirm = broken
"""


@pytest.fixture(params=["portal listener", "callback listener"])
def site(tmp_path, monkeypatch, request):
    own = {"callback_listen": f"127.0.0.1:{free_port()}"} if request.param == "callback listener" else {}
    with DarajaSimulator() as sim:
        site = Site(tmp_path, sim.url, portal=own)
        site.callbacks = f"http://{own['callback_listen']}" if own else site.portal
        (tmp_path / "broken").mkdir()
        (tmp_path / "broken" / "sitecustomize.py").write_text(BREAK)
        monkeypatch.setenv("PYTHONPATH", str(tmp_path / "broken"))  # Site adds the project's folder in front
        yield site
        site.stop()


@pytest.mark.parametrize("route", ["stk-callback", "c2b-confirmation"])
def test_an_unexpected_error_on_a_callback_route_logs_no_token(site, route):
    site.start("portal")
    body = {"Body": {"stkCallback": {"MerchantRequestID": "m-1", "CheckoutRequestID": "ws_CO_1", "ResultCode": 1032,
                                     "ResultDesc": "Request cancelled by user"}}}
    wait_for(lambda: http("GET", site.callbacks + "/healthz")[0] == 200, 30, "the callback listener")
    status, answer = http("POST", f"{site.callbacks}/api/payments/{route}/{CALLBACK_TOKEN}", body)
    assert status == 500 and "Traceback" not in str(answer) and FORCED not in str(answer), answer
    wait_for(lambda: FORCED in site.log("portal"), 30, "the error in the portal's log")
    site.stop()  # and whatever it logs on the way out
    log = site.log("portal")
    assert f"/api/payments/{route}/<token>" in log  # which route failed is still said
    assert "Traceback" in log and f"RuntimeError: {FORCED} on /api/payments/{route}/<token>" in log
    assert CALLBACK_TOKEN not in log, [line for line in log.splitlines() if CALLBACK_TOKEN in line]
