"""`doctor`'s router lines: besides whether the API answers, a warning line when hotspotd
reaches it in a way that exposes the API password (plain API, or TLS with no pinned
certificate)."""

from __future__ import annotations

from hotspotd.operations import health
from hotspotd.router import add_router, list_routers


def lines() -> dict[str, tuple[str, str]]:
    checks = health.check_routers(list_routers(), probe=lambda row: (True, "API answers"))
    return {check.name: (check.status, check.message) for check in checks}


def test_doctor_warns_about_a_plain_api_and_an_unpinned_certificate(store, now):
    add_router("plain", "127.0.0.1", "radius-secret-123", "127.0.3.1", api_user="admin", api_password="pw", now=now)
    add_router("tls", "127.0.0.1", "radius-secret-123", "127.0.3.2", api_user="admin", api_password="pw",
               api_tls=True, now=now)
    add_router("pinned", "127.0.0.1", "radius-secret-123", "127.0.3.3", api_user="admin", api_password="pw",
               api_tls=True, api_fingerprint="ab" * 32, now=now)
    add_router("radius-only", "127.0.0.1", "radius-secret-123", "127.0.3.4", now=now)
    found = lines()
    assert found["router plain"] == ("ok", "API answers")
    status, message = found["router plain api"]
    assert status == "warn" and "port 8728" in message and "in clear" in message and "api-ssl" in message
    status, message = found["router tls api"]
    assert status == "warn" and "any certificate is accepted, anonymous ciphers too" in message
    assert "router pinned api" not in found and "router radius-only api" not in found
    assert found["router pinned"][0] == "ok"
