"""/api/admin/routers...: the routes the console's Routers page uses, in process, over the
real core (queue in immediate mode, so queued work runs inline against the simulator)."""

from __future__ import annotations

import json

import bottle
import pytest

from hotspotd.router.console import RouterConsole
from hotspotd.store.models import Router, RouterSession
from hotspotd.web import admin, jsonapi
from hotspotd.web.admin import routers as routes
from hotspotd.console.actions import Console

from ..test_web_apps import call as call_path
from .conftest import PASSWORD


@pytest.fixture
def app(runtime):
    app = bottle.Bottle()
    jsonapi.install_common_routes(app)
    routes.install(app, RouterConsole(runtime))
    return app


def call(app, method, path, body=b""):
    """test_web_apps.call, with a query string."""
    path, _, query = path.partition("?")
    original = app.__call__

    def with_query(environ, start_response):
        environ["QUERY_STRING"] = query
        return original(environ, start_response)

    return call_path(with_query, method, path, body)


def send(app, method, path, body=None):
    status, headers, raw = call(app, method, path, b"" if body is None else json.dumps(body).encode())
    text = raw.decode()
    return status, headers, (json.loads(text) if headers.get("Content-Type", "").startswith("application/json") else text)


def new_router(app, sim, **extra):
    body = {"name": "gate", "host": "127.0.0.1", "api_port": sim.port, "api_user": "admin", "api_password": PASSWORD,
            "secret": "radius-secret-123", **extra}
    status, _, created = send(app, "POST", "/api/admin/routers", body)
    assert status == 201, created
    return created


def test_create_list_edit_remove_and_no_secrets_anywhere(app, routeros):
    created = new_router(app, routeros, mode="api")
    assert created["mode"] == "api" and created["status"] == "unknown"
    status, _, listed = send(app, "GET", "/api/admin/routers")
    assert status == 200 and [r["name"] for r in listed] == ["gate"]
    text = json.dumps(listed) + json.dumps(created)
    assert PASSWORD not in text and "radius-secret-123" not in text
    assert "api_password" not in listed[0] and "secret" not in listed[0]
    status, _, edited = send(app, "POST", f"/api/admin/routers/{created['id']}", {"name": "gateway", "coa_port": 1700})
    assert (status, edited["name"], edited["coa_port"]) == (200, "gateway", 1700)
    assert send(app, "POST", f"/api/admin/routers/{created['id']}/remove")[0] == 200
    assert send(app, "GET", "/api/admin/routers")[2] == []


@pytest.mark.parametrize("body, status, words", [
    ({"name": "x", "host": "127.0.0.1"}, 400, "secret is required"),
    ({"name": "x", "host": "127.0.0.1", "secret": "short"}, 400, "at least 8"),
    ({"name": "x", "host": "h", "secret": "long-enough", "nas_ip": "nope"}, 400, "NAS address"),
    ({"name": "x", "host": "127.0.0.1", "secret": "long-enough", "mode": "magic"}, 400, "radius or api"),
    ({"name": "x", "host": "127.0.0.1", "secret": "long-enough", "api_port": "eighty"}, 400, "number"),
    ({"name": "x", "host": "127.0.0.1", "secret": "long-enough", "colour": "red"}, 400, "unknown field"),
    ({"name": "x", "host": "127.0.0.1", "secret": "long-enough", "api_fingerprint": "abc"}, 400, "SHA-256"),
])
def test_bad_input_gets_a_clear_error(app, body, status, words):
    got, _, answer = send(app, "POST", "/api/admin/routers", body)
    assert got == status and words in answer["error"]
    assert not Router.select().exists()


def test_a_second_router_with_the_same_name_is_a_conflict_and_unknown_ids_404(app, routeros):
    new_router(app, routeros)
    status, _, answer = send(app, "POST", "/api/admin/routers", {"name": "gate", "host": "127.0.0.2",
                                                                  "secret": "radius-secret-123"})
    assert status == 409 and "exists" in answer["error"]
    for method, path in (("POST", "/api/admin/routers/99/probe"), ("GET", "/api/admin/routers/99/sessions"),
                         ("POST", "/api/admin/sessions/99/kick"), ("GET", "/api/admin/routers/99/script"),
                         ("POST", "/api/admin/routers/99/deploy"), ("POST", "/api/admin/routers/99/remove")):
        assert send(app, method, path)[0] == 404, path


def test_probe_sessions_kick_deploy_and_script(app, routeros):
    router = new_router(app, routeros)
    status, _, answer = send(app, "POST", f"/api/admin/routers/{router['id']}/probe")
    assert status == 202 and answer["queued"] == "probe"
    assert Router.get_by_id(router["id"]).status == "online"  # immediate mode: done inline
    routeros.router.add_active("alice", "AA:BB:CC:00:00:01", "10.5.50.2")
    status, _, listed = send(app, "GET", f"/api/admin/routers/{router['id']}/sessions?refresh=1")
    assert status == 200
    status, _, listed = send(app, "GET", f"/api/admin/routers/{router['id']}/sessions")
    [alice] = listed["sessions"]
    assert (alice["kind"], alice["user"], alice["mac"]) == ("hotspot", "alice", "AA:BB:CC:00:00:01")
    status, _, answer = send(app, "POST", f"/api/admin/sessions/{alice['id']}/kick")
    assert status == 202 and routeros.router.table("/ip/hotspot/active") == []
    assert not RouterSession.select().exists()
    status, _, answer = send(app, "POST", f"/api/admin/routers/{router['id']}/deploy")
    assert status == 202 and Router.get_by_id(router["id"]).deployed_at is not None
    status, headers, script = send(app, "GET", f"/api/admin/routers/{router['id']}/script")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert script.startswith("# hotspotd configuration for router gate") and "/radius incoming" in script


def test_the_admin_app_guards_the_router_routes(config, runtime):
    app = admin.make_app(config, Console(runtime))
    status, _, _ = call(app, "GET", "/api/admin/routers")
    assert status == 401


def test_roles_that_never_talk_to_a_router_do_not_import_librouteros():
    import subprocess
    import sys

    code = ("import sys, hotspotd.web.portal, hotspotd.web.admin, hotspotd.radius.server, hotspotd.plumbing.tasks, "
            "hotspotd.plumbing.worker, hotspotd.router.console; print('librouteros' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_router_view_warns_about_a_plain_api_and_an_unpinned_certificate(app, routeros):
    router = new_router(app, routeros)
    assert len(router["warnings"]) == 1 and "password crosses the network in clear" in router["warnings"][0]
    path = f"/api/admin/routers/{router['id']}"
    _, _, tls = send(app, "POST", path, {"api_tls": True, "api_port": 8729})
    assert len(tls["warnings"]) == 1 and "any certificate is accepted, anonymous ciphers too" in tls["warnings"][0]
    _, _, pinned = send(app, "POST", path, {"api_fingerprint": "ab" * 32})
    assert pinned["warnings"] == []
    _, _, radius_only = send(app, "POST", path, {"api_user": ""})
    assert radius_only["warnings"] == []  # no API login: nothing is sent to the API
    assert send(app, "GET", "/api/admin/routers")[2][0]["warnings"] == []
