"""Status-Server (RFC 5997): how `hotspotd doctor` asks the RADIUS role whether it serves.

A router asks with its own secret; this box (loopback, or the listen address) with the
site's status secret. Anything unsigned, or from elsewhere, is dropped like any stranger."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from hotspotd.access import AccessView
from hotspotd.access_loader import ViewLoader
from hotspotd.radius import packet as rp
from hotspotd.radius.handler import Handler
from hotspotd.store.db import db
from hotspotd.store.models import Setting

from .conftest import SECRET, wait_for

STATUS = b"site-status-secret-0123456789"


def status_server(secret: bytes, ident: int = 7, with_ma: bool = True) -> bytes:
    return rp.encode_request(rp.STATUS_SERVER, ident, secret, rp.attr(rp.NAS_IDENTIFIER, b"doctor"), with_ma)


@pytest.fixture
def handler(site):
    loader = ViewLoader(AccessView())
    loader.refresh()
    return Handler(loader.view, status_secret=STATUS, status_sources=frozenset({"10.5.50.2"}))


def accepted(reply: bytes | None, request: bytes, secret: bytes) -> bool:
    packet = rp.decode(reply)
    return (packet.code == rp.ACCESS_ACCEPT and packet.ident == request[1]
            and rp.response_authenticator_ok(packet, request[4:20], secret) and rp.message_authenticator_ok(
                packet, secret, request[4:20]))


def test_status_server_from_this_box_or_a_router_is_answered(handler, now):
    for source in ("127.0.0.2", "::1", "10.5.50.2"):  # loopback, or the address RADIUS listens on
        request = status_server(STATUS)
        assert accepted(handler.access(request, source, now), request, STATUS), source
    request = status_server(SECRET.encode())  # the router at 127.0.0.1 asks with its own secret
    assert accepted(handler.access(request, "127.0.0.1", now), request, SECRET.encode())


def test_status_server_unsigned_wrongly_signed_or_from_a_stranger_is_dropped(handler, now):
    assert handler.access(status_server(STATUS, with_ma=False), "127.0.0.2", now) is None
    assert handler.access(status_server(b"not-the-status-secret"), "127.0.0.2", now) is None
    assert handler.access(status_server(STATUS), "192.0.2.9", now) is None
    assert handler.decisions["status"] == 0 and handler.drops.counts["unknown client"] == 1


def test_init_makes_one_status_secret_per_database(store):
    secret = Setting.get(Setting.key == "radius.status_secret").value
    assert len(secret) == 48 and int(secret, 16)


@pytest.mark.e2e
def test_the_running_role_answers_radclient_and_the_status_secret(radius_role):
    assert shutil.which("radclient")
    out = subprocess.run(["radclient", "-x", "-r", "2", "-t", "5", f"127.0.0.1:{radius_role.auth_port}", "status",
                          SECRET], input="Message-Authenticator = 0x00\n", capture_output=True, text=True, timeout=60)
    assert "Received Access-Accept" in out.stdout, out.stdout + out.stderr
    secret = Setting.get(Setting.key == "radius.status_secret").value.encode()
    db.close()
    request = status_server(secret)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.2", 0))  # loopback, but no router's address
        sock.settimeout(5)
        sock.sendto(request, ("127.0.0.1", radius_role.auth_port))
        assert accepted(sock.recv(4096), request, secret)


@pytest.mark.e2e
def test_the_running_role_says_how_far_it_has_read_the_changes(radius_role, site, now):
    from hotspotd.store.models import Credential, Customer

    def position():
        row = db.execute_sql('SELECT "last_change" FROM "radius_reader" WHERE "name" = \'radius-0\'').fetchone()
        newest = db.execute_sql('SELECT MAX("id") FROM "radius_change"').fetchone()[0]
        db.close()
        return row is not None and row[0] == newest and row[0]

    first = wait_for(position, 30, "the role to record its position")
    customer = Customer.create(phone=None, created_at=now)
    Credential.create(customer=customer, username="erin", password="erin-pw", created_at=now)
    db.close()
    assert wait_for(position, 30, "the role to record its new position") > first
