"""Every console route, found in the app's router (routes added by other modules too), refuses
an anonymous request; every state-changing one refuses a request without the CSRF token,
and a request from an operator where only an admin may act. The handlers are never reached."""

from __future__ import annotations

import re
import types

import pytest

from hotspotd.web import admin
from hotspotd.web.admin.auth import LoginThrottle, required_role

from .conftest import ADMIN, OPERATOR, Client

# The router and sync modules arrive from other work; these stand-ins add the same routes
# the way they will (`install(app)`, no checks of their own) and count what reaches them.
REACHED: list[str] = []


def _stand_in(routes):
    def install(app):
        for method, rule in routes:
            app.route(rule, method, lambda _rule=rule, **_: REACHED.append(_rule) or {"ok": True})

    return types.SimpleNamespace(install=install)


ROUTERS = _stand_in([
    ("GET", "/api/admin/routers"), ("POST", "/api/admin/routers"), ("POST", "/api/admin/routers/<id:int>"),
    ("POST", "/api/admin/routers/<id:int>/remove"), ("POST", "/api/admin/routers/<id:int>/probe"),
    ("GET", "/api/admin/routers/<id:int>/sessions"), ("POST", "/api/admin/sessions/<id:int>/kick"),
    ("POST", "/api/admin/routers/<id:int>/deploy"), ("GET", "/api/admin/routers/<id:int>/script"),
])
SYNC = _stand_in([("GET", "/api/admin/sync")])

OPEN = {("GET", "/favicon.ico"), ("GET", "/static/<name:path>"), ("GET", "/healthz"), ("GET", "/login"),
        ("POST", "/login")}
OPERATOR_CHANGES = {
    "/logout", "/api/admin/me/password", "/api/admin/vouchers", "/api/admin/vouchers/<batch>/void",
    "/api/admin/payments/<payment_id:int>/resend", "/api/admin/payments/<payment_id:int>/extend",
    "/api/admin/callbacks/<callback_id:int>/assign", "/api/admin/customers/<customer_id:int>/suspend",
    "/api/admin/customers/<customer_id:int>/resume", "/api/admin/customers/<customer_id:int>/credentials",
    "/api/admin/customers/<customer_id:int>/phone", "/api/admin/subscriptions/<subscription_id:int>/extend",
    "/api/admin/queue/failed/<failed_id:int>/retry", "/api/admin/queue/failed/retry", "/api/admin/sessions/<id:int>/kick",
    "/api/admin/sessions/<session_id:int>/disconnect",
}
ADMIN_ONLY_READS = {"/api/admin/admins", "/api/admin/audit", "/api/admin/routers/<id:int>/script"}


@pytest.fixture
def full_app(config, console, accounts, clock):
    REACHED.clear()
    return admin.make_app(config, console, throttle=LoginThrottle(config, clock=clock), extensions=[ROUTERS, SYNC])


def concrete(rule: str) -> str:
    return re.sub(r"<([^>:]+)(:int)?[^>]*>", lambda m: "7" if m.group(2) else "x", rule)


def guarded(app):
    return [r for r in app.routes if (r.method, r.rule) not in OPEN]


def test_only_the_login_page_health_and_static_files_are_open(full_app):
    open_routes = {(r.method, r.rule) for r in full_app.routes if r.config.get("open")}
    assert open_routes == OPEN
    assert len(guarded(full_app)) > 50  # the console's own and the stand-ins'


def test_every_route_refuses_an_anonymous_request(full_app):
    anonymous = Client(full_app)
    for route in guarded(full_app):
        status, headers, _ = anonymous.call(route.method, concrete(route.rule))
        page = route.method == "GET" and not route.rule.startswith(("/api/", "/ws", "/metrics"))
        if page:
            assert status == 303 and headers["Location"].startswith("/login?next="), route.rule
        else:
            assert status == 401, f"{route.method} {route.rule} answered {status} without a login"
    assert REACHED == []


def test_every_change_refuses_a_request_without_the_csrf_token(full_app):
    boss = Client(full_app)
    assert boss.login(*ADMIN) == 200
    changes = [r for r in guarded(full_app) if r.method not in ("GET", "HEAD")]
    assert len(changes) > 25
    for route in changes:
        status, body = boss.json(route.method, concrete(route.rule), {}, csrf=False)
        assert status == 403 and "CSRF" in body["error"], f"{route.method} {route.rule}: {status} {body}"
        status, _ = boss.json(route.method, concrete(route.rule), {}, headers={"X-CSRF-Token": "forged"}, csrf=False)
        assert status == 403, route.rule
    assert REACHED == []


def test_an_operator_is_refused_where_only_an_admin_may_act(full_app):
    clerk = Client(full_app)
    assert clerk.login(*OPERATOR) == 200
    admin_only = [r for r in guarded(full_app) if required_role(r) == "admin"]
    assert {r.rule for r in admin_only} >= ADMIN_ONLY_READS | {"/api/admin/routers", "/api/admin/packages",
                                                                "/api/admin/settings", "/api/admin/admins"}
    for route in admin_only:
        status, body = clerk.json(route.method, concrete(route.rule), {})
        assert status == 403 and body["error"] == "only an admin may do this", f"{route.method} {route.rule}"
    assert REACHED == []
    operator_changes = {r.rule for r in guarded(full_app) if r.method == "POST" and required_role(r) == "operator"}
    assert operator_changes == OPERATOR_CHANGES


def test_the_routers_changes_are_admin_only_and_kick_is_for_operators(full_app):
    roles = {(r.method, r.rule): required_role(r) for r in full_app.routes}
    for method, rule in [("POST", "/api/admin/routers"), ("POST", "/api/admin/routers/<id:int>"),
                         ("POST", "/api/admin/routers/<id:int>/remove"), ("POST", "/api/admin/routers/<id:int>/probe"),
                         ("POST", "/api/admin/routers/<id:int>/deploy"), ("GET", "/api/admin/routers/<id:int>/script")]:
        assert roles[(method, rule)] == "admin", rule
    assert roles[("POST", "/api/admin/sessions/<id:int>/kick")] == "operator"
    clerk = Client(full_app)
    assert clerk.login(*OPERATOR) == 200
    assert clerk.json("POST", "/api/admin/sessions/7/kick", {})[0] == 200
    assert clerk.json("GET", "/api/admin/routers")[0] == 200
    assert REACHED == ["/api/admin/sessions/<id:int>/kick", "/api/admin/routers"]


def test_a_request_from_another_site_is_refused_even_with_the_cookie(full_app):
    boss = Client(full_app)
    assert boss.login(*ADMIN) == 200
    status, body = boss.json("POST", "/api/admin/queue/failed/retry", {}, headers={"Origin": "http://evil.example"})
    assert status == 403 and "cross-origin" in body["error"]


def test_changes_are_audited_with_who_and_from_where(full_app, console):
    boss = Client(full_app, address="192.0.2.77")
    assert boss.login(*ADMIN) == 200
    assert boss.json("POST", "/api/admin/routers/7/probe", {})[0] == 200  # a route that does not audit itself
    status, log = boss.json("GET", "/api/admin/audit")
    assert status == 200
    latest = log["items"][0]["data"]
    assert latest == {"by": "boss", "role": "admin", "from": "192.0.2.77", "action": "POST /api/admin/routers/<id:int>/probe",
                      "target": "/api/admin/routers/7/probe", "details": {"status": 200}}
    assert log["items"][1]["data"]["action"] == "login"


def test_security_headers_on_pages_files_and_errors(full_app):
    client = Client(full_app)
    for path in ("/login", "/static/admin.js", "/no-such-thing", "/api/admin/dashboard"):
        _, headers, _ = client.call("GET", path)
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, path
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "same-origin", path


def test_an_account_makes_sixty_changes_at_once_then_one_a_second_so_the_audit_log_stays_bounded(full_app, clock):
    from hotspotd.store.db import db
    from hotspotd.web.admin.auth import CHANGES_AT_ONCE

    full_app.config["hotspotd.guard"].changes.clock = clock  # the test's clock, not the wall's
    boss = Client(full_app, address="192.0.2.77")
    assert boss.login(*ADMIN) == 200

    def audited() -> int:
        return db.execute_sql('SELECT COUNT(*) FROM "event" WHERE "type" = \'admin.action\' '
                              'AND json_extract("data", \'$.target\') = \'/api/admin/routers/7/probe\'').fetchone()[0]

    allowed = CHANGES_AT_ONCE - 1  # the login was one
    answers = [boss.call("POST", "/api/admin/routers/7/probe", {}) for _ in range(500)]
    assert [status for status, _, _ in answers] == [200] * allowed + [429] * (500 - allowed)
    assert answers[-1][1]["Retry-After"] == "1" and b"Too many changes" in answers[-1][2]
    assert audited() == allowed == REACHED.count("/api/admin/routers/<id:int>/probe")
    assert boss.json("GET", "/api/admin/audit")[0] == 200  # reading is not held up
    clock.now += 10
    assert [boss.call("POST", "/api/admin/routers/7/probe", {})[0] for _ in range(12)] == [200] * 10 + [429] * 2
    clerk = Client(full_app, address="192.0.2.78")  # another account has its own budget
    assert clerk.login(*OPERATOR) == 200
    assert clerk.json("POST", "/api/admin/sessions/7/kick", {})[0] == 200
    assert audited() == allowed + 10
