"""What both web apps share, in-process: favicon, JSON errors, one error-to-status mapping."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest

from hotspotd.customer.checkout import Checkout
from hotspotd.errors import Conflict, HotspotdError, InvalidInput, NotFound, StorageUnavailable, UpstreamError
from hotspotd.web import admin, portal
from hotspotd.console.actions import Console
from hotspotd.web.jsonapi import status_for


def call(app, method, path, body=b""):
    environ = {}
    setup_testing_defaults(environ)
    environ.update(REQUEST_METHOD=method, PATH_INFO=path, CONTENT_LENGTH=str(len(body)),
                   CONTENT_TYPE="application/json", **{"wsgi.input": io.BytesIO(body)})
    status, headers = [], []
    chunks = app(environ, lambda s, h, e=None: (status.append(s), headers.extend(h)))
    return int(status[0].split()[0]), dict(headers), b"".join(chunks)


@pytest.fixture
def apps(runtime, config):
    checkout = Checkout(runtime)
    yield {"portal": portal.make_app(config, checkout), "admin": admin.make_app(config, Console(runtime), extensions=[])}
    checkout.close()


@pytest.mark.parametrize("name", ["portal", "admin"])
def test_favicon_is_served_without_a_login(apps, name):
    status, headers, body = call(apps[name], "GET", "/favicon.ico")
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml") and body.startswith(b"<svg")


@pytest.mark.parametrize("name", ["portal", "admin"])
def test_healthz_and_unknown_routes_answer_json(apps, name):
    status, _, body = call(apps[name], "GET", "/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, _, body = call(apps[name], "GET", "/no-such-page")
    assert status in (401, 404) and "error" in json.loads(body)


def test_one_mapping_from_core_errors_to_http_status():
    assert [status_for(e("x")) for e in (InvalidInput, NotFound, Conflict, UpstreamError, StorageUnavailable,
                                          HotspotdError)] == [400, 404, 409, 502, 503, 500]
