"""One contract for the RouterOS API: the real client (librouteros, through
`hotspotd.router.client`) and an independent wire client both talk to the simulator, and
both must see what docs/protocols.md §1 says a router does. RouterOS 6 and 7 alike."""

from __future__ import annotations

import socket
import time

import pytest

from hotspotd.router.api import RouterCommandRefused, RouterLoginRefused, RouterUnreachable, Target, same
from hotspotd.router.client import connect
from hotspotd.sim.routeros import RouterOSSimulator

from ..loopback import wait_for
from .wire_client import WireClient, length

USERS = "/ip/hotspot/user"


def librouteros_client(target: Target):
    return connect(target, connect_timeout=2.0, timeout=2.0)


def wire_client(target: Target):
    return WireClient(target, timeout=2.0)


CLIENTS = {"librouteros": librouteros_client, "wire": wire_client}


@pytest.fixture(params=[("librouteros", 7), ("librouteros", 6), ("wire", 7), ("wire", 6)],
                ids=lambda p: f"{p[0]}-ros{p[1]}")
def setup(request):
    kind, version = request.param
    with RouterOSSimulator(password="s3cret", version=version) as sim:
        target = Target(1, "sim", "127.0.0.1", sim.port, "admin", "s3cret")
        yield sim, target, CLIENTS[kind]


@pytest.fixture
def api(setup):
    sim, target, make = setup
    client = make(target)
    yield client
    client.close()


def test_add_returns_an_id_and_print_finds_it_by_query(api):
    api.add("/ip/hotspot/user/profile", {"name": "p1", "rate-limit": "2M/5M", "shared-users": "2"})
    new_id = api.add(USERS, {"name": "u1", "password": "pw", "profile": "p1", "limit-uptime": "1h",
                             "comment": "hotspotd: Wanjikũ's phone"})
    assert new_id.startswith("*") and new_id[1:].isalnum() and new_id[1:] == new_id[1:].upper()
    api.add(USERS, {"name": "u2", "password": "pw"})
    rows = api.print(USERS, where={"name": "u1"})
    assert len(rows) == 1 and rows[0][".id"] == new_id
    assert rows[0]["comment"] == "hotspotd: Wanjikũ's phone"  # UTF-8 both ways
    assert rows[0]["limit-uptime"] == "1h" and same(rows[0]["disabled"], False)
    assert [r["name"] for r in api.print(USERS)] == ["u1", "u2"]
    assert api.print(USERS, where={"name": "nobody"}) == []


def test_proplist_limits_the_properties(api):
    api.add(USERS, {"name": "u1", "password": "pw"})
    assert api.print(USERS, proplist=(".id", "name")) == [{".id": api.print(USERS)[0][".id"], "name": "u1"}]


def test_the_same_name_twice_is_refused_with_the_routers_words(api):
    api.add(USERS, {"name": "u1", "password": "pw"})
    with pytest.raises(RouterCommandRefused) as refused:
        api.add(USERS, {"name": "u1", "password": "other"})
    assert refused.value.message == "failure: already have user with this name for this server"
    assert refused.value.already_exists


def test_set_and_remove_and_a_stale_id(api):
    user = api.add(USERS, {"name": "u1", "password": "pw"})
    api.set(USERS, user, {"password": "new", "limit-bytes-total": "1000"})
    row = api.print(USERS)[0]
    assert (row["password"], row["limit-bytes-total"]) == ("new", "1000")
    api.remove(USERS, user)
    assert api.print(USERS) == []
    with pytest.raises(RouterCommandRefused) as refused:
        api.set(USERS, user, {"password": "x"})
    assert refused.value.no_such_item


def test_an_unknown_profile_or_parameter_or_command_is_refused(api):
    with pytest.raises(RouterCommandRefused, match="input does not match any value of profile"):
        api.add(USERS, {"name": "u1", "password": "pw", "profile": "nope"})
    with pytest.raises(RouterCommandRefused, match="unknown parameter"):
        api.add(USERS, {"name": "u1", "colour": "red"})
    with pytest.raises(RouterCommandRefused, match="no such command"):
        api.call("/ip/hotspot/user", "frobnicate", {})


def test_system_resource(api, setup):
    sim = setup[0]
    row = api.print("/system/resource")[0]
    assert row["version"].startswith(f"{sim.version}.")
    assert row["board-name"] == "hAP ax2" and row["cpu-load"].isdigit() and row["free-memory"].isdigit()
    assert row["uptime"]


def test_singleton_menus_take_set_without_an_id(api):
    api.set("/radius/incoming", None, {"accept": "yes", "port": "3799"})
    row = api.print("/radius/incoming")[0]
    assert same(row["accept"], True) and row["port"] == "3799"


def test_active_login_and_remove(api, setup):
    api.add(USERS, {"name": "u1", "password": "pw"})
    with pytest.raises(RouterCommandRefused):
        api.call("/ip/hotspot/active", "login", {"user": "u1", "password": "wrong", "ip": "10.5.50.9"})
    api.call("/ip/hotspot/active", "login", {"user": "u1", "password": "pw", "ip": "10.5.50.9",
                                            "mac-address": "AA:BB:CC:00:00:09"})
    active = api.print("/ip/hotspot/active")
    assert [(a["user"], a["address"], a["mac-address"]) for a in active] == [("u1", "10.5.50.9", "AA:BB:CC:00:00:09")]
    api.remove("/ip/hotspot/active", active[0][".id"])
    assert api.print("/ip/hotspot/active") == []


def test_a_refused_login_says_so_and_leaves_no_connection_open(setup):
    sim, target, make = setup
    bad = Target(1, "sim", "127.0.0.1", sim.port, "admin", "wrong")
    for _ in range(3):
        with pytest.raises(RouterLoginRefused):
            make(bad)
    wait_for(lambda: sim.open_connections == 0, 5, "every refused connection closed")


def test_a_router_that_refuses_connections_is_unreachable(setup):
    sim, target, make = setup
    sim.refuse()
    with pytest.raises(RouterUnreachable):
        make(target)
    sim.refuse(False)
    make(target).close()


def test_a_silent_router_costs_the_timeout_and_no_more(setup):
    sim, target, make = setup
    sim.silent = True
    started = time.monotonic()
    with pytest.raises(RouterUnreachable):
        make(target)
    assert time.monotonic() - started < 4.0


def test_a_slow_answer_past_the_timeout_and_a_dropped_reply_are_unreachable(api, setup):
    sim = setup[0]
    sim.drop_replies = 1
    with pytest.raises(RouterUnreachable):
        api.print(USERS)


def test_slow_router_times_out(setup):
    sim, target, make = setup
    client = make(target)
    try:
        sim.delay = 2.5
        started = time.monotonic()
        with pytest.raises(RouterUnreachable):
            client.print(USERS)
        assert time.monotonic() - started < 4.0
    finally:
        sim.delay = 0
        client.close()


# -- the wire itself (docs/protocols.md §1.2-§1.4)

@pytest.mark.parametrize("n, encoded", [(0, "00"), (127, "7f"), (128, "8080"), (0x3FFF, "bfff"),
                                        (0x4000, "c04000"), (0x200000, "e0200000"), (0x10000000, "f010000000")])
def test_length_vectors(n, encoded):
    from hotspotd.sim.routeros.wire import encode_length

    assert encode_length(n).hex() == encoded == length(n).hex()


@pytest.mark.parametrize("version, empty", [(7, True), (6, False)])
def test_an_empty_print_says_empty_only_on_routeros_7(version, empty):
    with RouterOSSimulator(version=version) as sim:
        client = WireClient(Target(1, "sim", "127.0.0.1", sim.port, "admin", ""))
        try:
            replies = client.talk(["/ip/hotspot/user/print", ".tag=7"])
            assert replies == ([["!empty", ".tag=7"]] if empty else []) + [["!done", ".tag=7"]]
            replies = client.talk(["/ip/hotspot/user/add", "=name=a", "=password=b"])
            assert replies == [["!done", "=ret=*1"]]
            replies = client.talk(["/quit"])
            assert replies == [["!fatal", "session terminated on request"]]
        finally:
            client.close()


def test_login_bytes_and_commands_before_login_are_fatal():
    with RouterOSSimulator() as sim:
        client = WireClient.__new__(WireClient)
        client.sock, client.buf = socket.create_connection(("127.0.0.1", sim.port), timeout=3), b""
        assert client.talk(["/ip/hotspot/user/print"]) == [["!fatal", "not logged in"]]
        client.close()
        client.sock, client.buf = socket.create_connection(("127.0.0.1", sim.port), timeout=3), b""
        # the bytes of `/login =name=admin =password=` from docs/protocols.md §1.2
        client.sock.sendall(bytes.fromhex("062f6c6f67696e0b3d6e616d653d61646d696e0a3d70617373776f72643d00"))
        assert client.sentence() == ["!done"]
        client.close()


def test_queries_follow_the_stack_rules(api):
    for name, profile in (("a", "default"), ("b", "default"), ("c", "default")):
        api.add(USERS, {"name": name, "password": "x", "profile": profile, "comment": name * 2})
    assert [r["name"] for r in api.print(USERS, where={"comment": "bb"})] == ["b"]


@pytest.fixture
def certificate(tmp_path):
    import subprocess

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=router", "-days", "1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return key, cert


def test_api_over_tls_with_a_pinned_certificate(certificate):
    import hashlib
    import ssl

    key, cert = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    pin = hashlib.sha256(der).hexdigest()
    with RouterOSSimulator(password="pw", tls=context) as sim:
        good = Target(1, "sim", "127.0.0.1", sim.port, "admin", "pw", tls=True, fingerprint=":".join(
            pin[i:i + 2] for i in range(0, 64, 2)).upper())
        client = connect(good, connect_timeout=2, timeout=2)
        assert client.print("/system/resource")[0]["platform"] == "MikroTik"
        client.close()
        wrong = Target(1, "sim", "127.0.0.1", sim.port, "admin", "pw", tls=True, fingerprint="0" * 64)
        with pytest.raises(RouterLoginRefused, match="fingerprint"):
            connect(wrong, connect_timeout=2, timeout=2)
        wait_for(lambda: sim.open_connections == 0, 5, "the refused TLS connection closed")


def test_a_query_may_name_a_property_the_proplist_leaves_out(api):
    """The manual's own example (`/interface/print =.proplist=.id ?type=ether`) and real
    routers answer the query on every property; `.proplist` only trims what comes back
    (docs/protocols.md §1.3)."""
    first = api.add(USERS, {"name": "u1", "password": "pw"})
    api.add(USERS, {"name": "u2", "password": "pw"})
    [row] = api.print(USERS, where={"name": "u1"}, proplist=(".id",))
    assert row == {".id": first}
    [row] = api.print(USERS, where={"name": "u1"}, proplist=(".id", "name"))
    assert row == {".id": first, "name": "u1"}
    assert api.print(USERS, where={"name": "u3"}, proplist=(".id",)) == []
