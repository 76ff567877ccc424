"""Logging in and out: the cookie, throttling and lockout, expiry after inactivity, logout."""

from __future__ import annotations

from datetime import timedelta

from hotspotd.store.db import utcnow
from hotspotd.store.models import AdminSession, Event, HealthLog
from hotspotd.web.admin.auth import LoginThrottle

from .conftest import ADMIN, OPERATOR, Client


def test_login_page_form_sets_a_strict_http_only_cookie_and_redirects(app):
    client = Client(app)
    status, headers, body = client.call("GET", "/login?next=/payments")
    assert status == 200 and b'name="next" value="/payments"' in body
    status, headers, _ = client.call("POST", "/login", form={"username": ADMIN[0], "password": ADMIN[1],
                                                            "next": "/payments"})
    assert status == 303 and headers["Location"].endswith("/payments")
    [cookie] = headers["Set-Cookie"]
    assert cookie.startswith("hotspotd_admin=") and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace(
        "Strict", "strict")
    assert "Secure" not in cookie  # plain HTTP here; over TLS it is Secure (next test)
    status, me = client.json("GET", "/api/admin/me")
    assert status == 200 and me["username"] == "boss" and me["role"] == "admin" and me["site"]["timezone"] == "Africa/Nairobi"


def test_the_cookie_is_secure_over_tls(app):
    import io
    import json
    from wsgiref.util import setup_testing_defaults

    environ_scheme = {"wsgi.url_scheme": "https"}
    body = json.dumps({"username": ADMIN[0], "password": ADMIN[1]}).encode()
    environ = {}
    setup_testing_defaults(environ)
    environ.update(REQUEST_METHOD="POST", PATH_INFO="/login", CONTENT_TYPE="application/json",
                   CONTENT_LENGTH=str(len(body)), HTTP_HOST="127.0.0.1", REMOTE_ADDR="192.0.2.5",
                   HTTP_ORIGIN="https://127.0.0.1", **{"wsgi.input": io.BytesIO(body)}, **environ_scheme)
    captured = []
    app(environ, lambda s, h, e=None: captured.extend(h))
    [cookie] = [v for k, v in captured if k == "Set-Cookie"]
    assert "Secure" in cookie


def test_the_next_page_after_login_stays_on_this_site(app):
    client = Client(app)
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        status, headers, _ = client.call("POST", "/login", form={"username": ADMIN[0], "password": ADMIN[1], "next": evil})
        assert status == 303 and headers["Location"] in ("http://127.0.0.1/", "/"), evil


def test_wrong_passwords_and_unknown_names_are_refused_alike(app):
    client = Client(app)
    assert client.login(ADMIN[0], "wrong password") == 401
    assert client.login("nobody", ADMIN[1]) == 401
    status, body = client.json("POST", "/login", {"username": "boss", "password": 12345})
    assert status == 400
    status, headers, page = client.call("POST", "/login", form={"username": "boss", "password": "nope"})
    assert status == 401 and b"Wrong username or password" in page
    assert client.json("GET", "/api/admin/me")[0] == 401


def test_failures_slow_logins_down_then_lock_the_account_and_the_address(app, clock):
    attacker = Client(app, address="192.0.2.66")
    statuses = []
    for _ in range(3):
        statuses.append(attacker.login(ADMIN[0], "guess"))
    assert statuses == [401, 401, 401]
    assert attacker.login(ADMIN[0], "guess") == 401  # the 4th is allowed; after it, waits begin
    status, headers, body = attacker.call("POST", "/login", {"username": ADMIN[0], "password": ADMIN[1]})
    assert status == 429 and headers["Retry-After"] == "1"  # even the right password waits: nothing is checked
    for _ in range(6):  # keep guessing as fast as allowed until locked
        clock.now += 31
        assert attacker.login(ADMIN[0], "guess") == 401
    clock.now += 31
    status, headers, body = attacker.call("POST", "/login", {"username": ADMIN[0], "password": ADMIN[1]})
    assert status == 429 and int(headers["Retry-After"]) > 800
    # the account is locked from everywhere, and the attacker's address for every account
    assert Client(app, address="192.0.2.1").login(*ADMIN) == 429
    assert attacker.login(*OPERATOR) == 429
    locks = [h.message for h in HealthLog.select()]
    assert any("account 'boss' locked" in m for m in locks) and any("address '192.0.2.66' locked" in m for m in locks)
    clock.now += 901
    assert Client(app, address="192.0.2.1").login(*ADMIN) == 200


def test_a_success_clears_the_failures(app, clock):
    client = Client(app)
    for _ in range(3):
        assert client.login(ADMIN[0], "typo") == 401
    assert client.login(*ADMIN) == 200
    for _ in range(3):
        assert client.login(ADMIN[0], "typo") == 401  # counted from zero again: no wait yet


def test_logout_ends_the_login_and_is_audited(boss):
    saved = dict(boss.cookies)
    status, body = boss.json("POST", "/logout", {})
    assert status == 200 and "hotspotd_admin" not in boss.cookies
    boss.cookies = saved  # the old cookie, replayed
    assert boss.json("GET", "/api/admin/me")[0] == 401
    actions = [e.data["action"] for e in Event.select().where(Event.type == "admin.action").order_by(Event.id)]
    assert actions[-2:] == ["login", "logout"]


def test_logout_needs_the_csrf_token(boss):
    assert boss.json("POST", "/logout", {}, csrf=False)[0] == 403
    assert boss.json("GET", "/api/admin/me")[0] == 200


def test_a_login_ends_after_inactivity_and_after_its_maximum_age(boss, config):
    assert boss.json("GET", "/api/admin/me")[0] == 200
    row = AdminSession.get()
    idle = timedelta(seconds=config.admin.session_idle + 1)
    AdminSession.update(seen_at=row.seen_at - idle).execute()  # as if nobody used it for that long
    assert boss.json("GET", "/api/admin/me")[0] == 401
    assert AdminSession.select().count() == 0

    assert boss.login(*ADMIN) == 200
    row = AdminSession.get()
    AdminSession.update(created_at=row.created_at - timedelta(seconds=config.admin.session_max + 1)).execute()
    assert boss.json("GET", "/api/admin/me")[0] == 401  # busy, but too old


def test_requests_keep_a_login_alive(boss, config):
    row = AdminSession.get()
    AdminSession.update(seen_at=row.seen_at - timedelta(seconds=config.admin.session_idle - 60)).execute()
    assert boss.json("GET", "/api/admin/me")[0] == 200  # used just in time: seen again
    assert AdminSession.get().seen_at > row.seen_at - timedelta(seconds=60)


def test_a_password_change_ends_the_accounts_logins(boss, clerk):
    status, _ = boss.json("POST", "/api/admin/admins/clerk/password", {"password": "a new long password"})
    assert status == 200
    assert clerk.json("GET", "/api/admin/me")[0] == 401
    assert Client(boss.app).login("clerk", "a new long password") == 200


def test_an_operator_changes_only_their_own_password(clerk):
    status, body = clerk.json("POST", "/api/admin/me/password", {"current": "wrong", "new": "another password"})
    assert status == 400 and "current password is wrong" in body["error"]
    status, _ = clerk.json("POST", "/api/admin/me/password", {"current": OPERATOR[1], "new": "another password"})
    assert status == 200
    assert Client(clerk.app).login("clerk", "another password") == 200


def test_pages_redirect_to_the_login_and_come_back(app):
    client = Client(app)
    status, headers, _ = client.call("GET", "/payments/12")
    assert status == 303 and headers["Location"].endswith("/login?next=/payments/12")
    assert client.login(*ADMIN) == 200
    status, headers, body = client.call("GET", "/payments/12")
    assert status == 200 and b"admin.js" in body and b"<script>" not in body


def test_a_flood_of_lockouts_writes_a_sample_to_the_health_log(config, store, clock):
    """A LAN script guessing from many addresses locks each of them: the health log gets
    the first 60 notes of the hour and one line saying the rest are only counted."""
    from hotspotd.store import sampling

    throttle = LoginThrottle(config, clock=clock)
    for n in range(400):
        for _ in range(config.admin.lockout_after):
            throttle.failed(f"guess{n}", f"192.0.2.{n % 250}" if n < 250 else f"198.51.100.{n - 250}")
    # every account and address is locked all the same
    assert throttle.lockout.locked(("address", "192.0.2.7")) and throttle.lockout.locked(("account", "guess399"))
    hours = sampling.tally(since=utcnow() - timedelta(hours=2))  # one row, two if the test ran over an hour's end
    assert {row["kind"] for row in hours} == {sampling.CONSOLE_LOCKOUT} and sum(row["seen"] for row in hours) == 800
    lines = [h.message for h in HealthLog.select()]
    assert sum("locked for" in line for line in lines) == sum(row["kept"] for row in hours) <= 2 * sampling.PER_HOUR
    assert sum("console lockout notes this hour" in line for line in lines) == len(hours)


def test_a_script_logging_in_again_and_again_leaves_bounded_logins_and_audit_entries(app, clock):
    from hotspotd.console.admins import LOGINS_PER_ACCOUNT
    from hotspotd.web.admin.auth import CHANGES_AT_ONCE

    app.config["hotspotd.guard"].changes.clock = clock
    statuses = [Client(app).login(*ADMIN) for _ in range(150)]  # a fresh client each time: the cookie thrown away
    assert statuses == [200] * CHANGES_AT_ONCE + [429] * (150 - CHANGES_AT_ONCE)
    assert AdminSession.select().count() == LOGINS_PER_ACCOUNT
    logins = [e for e in Event.select().where(Event.type == "admin.action") if e.data["action"] == "login"]
    assert len(logins) == CHANGES_AT_ONCE
    newest = Client(app)
    clock.now += 5
    assert newest.login(*ADMIN) == 200 and newest.json("GET", "/api/admin/me")[0] == 200  # the newest login works
    assert AdminSession.select().count() == LOGINS_PER_ACCOUNT
