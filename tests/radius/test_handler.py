"""The packet handler without sockets: validation, decisions, and a fuzzer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotspotd.access import AccessView
from hotspotd.access_loader import ViewLoader
from hotspotd.radius import packet as rp
from hotspotd.radius.handler import Handler
from hotspotd.store.models import Credential, Router, Session

from .conftest import SECRET

KEY = SECRET.encode()


@pytest.fixture
def loader(site):
    loader = ViewLoader(AccessView(interim_interval=300))
    loader.refresh()
    return loader


@pytest.fixture
def handler(loader):
    return Handler(loader.view, require_message_authenticator=True)


def pap(username: str, password: bytes, ident: int = 1, with_ma: bool = True, extra: bytes = b"") -> bytes:
    auth = bytes(range(16))
    attrs = rp.attr(rp.USER_NAME, username.encode()) + rp.attr(rp.USER_PASSWORD, rp.hide_password(password, KEY, auth))
    return rp.encode_request(rp.ACCESS_REQUEST, ident, KEY, attrs + extra, with_ma, authenticator=auth)


def test_accept_and_reject(handler, now):
    reply = rp.decode(handler.access(pap("alice", b"alice-pw"), "127.0.0.1", now))
    assert reply.code == rp.ACCESS_ACCEPT and reply.ma_offset == 20
    assert rp.response_authenticator_ok(reply, bytes(range(16)), KEY)
    assert reply.vendor_attrs()[(rp.MIKROTIK, rp.MIKROTIK_RATE_LIMIT)] == b"2M/5M"
    reject = rp.decode(handler.access(pap("bob", b"bob-pw"), "127.0.0.1", now))
    assert reject.code == rp.ACCESS_REJECT and reject.text(rp.REPLY_MESSAGE) == "Your package has expired"
    assert handler.decisions == {"ok": 1, "expired": 1}


def test_total_limit_splits_into_gigawords(handler, now):
    vendor = rp.decode(handler.access(pap("carol", b"carol-pw"), "127.0.0.1", now)).vendor_attrs()
    left = (int.from_bytes(vendor[(rp.MIKROTIK, rp.MIKROTIK_TOTAL_LIMIT_GIGAWORDS)], "big") << 32) + \
        int.from_bytes(vendor[(rp.MIKROTIK, rp.MIKROTIK_TOTAL_LIMIT)], "big")
    assert left == 4 << 30


def test_proxy_state_is_echoed(handler, now):
    raw = pap("alice", b"alice-pw", extra=rp.attr(rp.PROXY_STATE, b"ps1") + rp.attr(rp.PROXY_STATE, b"ps2"))
    reply = rp.decode(handler.access(raw, "127.0.0.1", now))
    assert [v for t, v in reply.pairs if t == rp.PROXY_STATE] == [b"ps1", b"ps2"]


def test_unknown_client_and_bad_packets_are_dropped_and_counted(handler, now):
    assert handler.access(pap("alice", b"alice-pw"), "10.9.9.9", now) is None
    assert handler.access(pap("alice", b"alice-pw", with_ma=False), "127.0.0.1", now) is None
    tampered = bytearray(pap("alice", b"alice-pw"))
    tampered[-1] ^= 1
    assert handler.access(bytes(tampered), "127.0.0.1", now) is None
    assert handler.access(b"\x01\x02", "127.0.0.1", now) is None
    counts = handler.drops.counts
    assert counts["unknown client"] == 1
    assert counts["Access-Request without Message-Authenticator"] == 1
    assert counts["wrong Message-Authenticator (check the shared secret)"] == 1
    assert sum(counts.values()) == 4


def test_router_may_relax_message_authenticator(site, loader, handler, now):
    Router.update(require_message_authenticator=False).where(Router.id == site["router"].id).execute()
    loader.refresh()
    assert rp.decode(handler.access(pap("alice", b"alice-pw", with_ma=False), "127.0.0.1", now)).code == 2


def test_view_follows_the_store(site, loader, handler, now):
    Credential.update(password="new-pw").where(Credential.username == "alice").execute()
    assert loader.refresh()
    assert rp.decode(handler.access(pap("alice", b"new-pw"), "127.0.0.1", now)).code == rp.ACCESS_ACCEPT
    assert not loader.refresh()  # nothing new
    Session.create(router=site["router"], acct_session_id="x", username="alice", mac="AA:BB:CC:00:00:09",
                   started_at=now, updated_at=now)
    loader.refresh()
    assert rp.decode(handler.access(pap("alice", b"new-pw"), "127.0.0.1", now)).text(rp.REPLY_MESSAGE) == \
        "Too many devices are using this package"
    Session.update(status="closed").execute()
    loader.refresh()
    assert rp.decode(handler.access(pap("alice", b"new-pw"), "127.0.0.1", now)).code == rp.ACCESS_ACCEPT
    from hotspotd.store.db import db
    db.execute_sql('DELETE FROM "radius_change"')  # pruned past the view: it reloads everything
    Credential.update(password="third").where(Credential.username == "alice").execute()
    loader.refresh()
    assert rp.decode(handler.access(pap("alice", b"third"), "127.0.0.1", now)).code == rp.ACCESS_ACCEPT
    assert rp.decode(handler.access(pap("alice", b"third"), "127.0.0.1", now + timedelta(hours=2))).code == 3


def accounting(status: int, session_id: bytes = b"8010", extra: bytes = b"") -> bytes:
    attrs = rp.integer(rp.ACCT_STATUS_TYPE, status) + rp.attr(rp.ACCT_SESSION_ID, session_id) + \
        rp.attr(rp.USER_NAME, b"alice") + rp.attr(rp.FRAMED_IP_ADDRESS, bytes([10, 5, 0, 2])) + extra
    return rp.encode_request(rp.ACCOUNTING_REQUEST, 4, KEY, attrs, with_message_authenticator=False)


def test_accounting_validation(handler):
    packet, router, record = handler.accounting(accounting(3, extra=rp.integer(rp.ACCT_INPUT_GIGAWORDS, 2)),
                                                "127.0.0.1")
    assert (record.status_type, record.acct_session_id, record.ip, record.input_bytes) == (3, "8010", "10.5.0.2", 2 << 32)
    reply = rp.decode(handler.accounting_reply(packet, router))
    assert reply.code == rp.ACCOUNTING_RESPONSE and rp.response_authenticator_ok(reply, packet.authenticator, KEY)
    assert handler.accounting(accounting(3), "10.0.0.1") is None
    assert handler.accounting(accounting(9), "127.0.0.1") is None
    assert handler.accounting(accounting(1, session_id=b""), "127.0.0.1") is None
    forged = bytearray(accounting(1))
    forged[25] ^= 0xFF
    assert handler.accounting(bytes(forged), "127.0.0.1") is None


VALID = [pap("alice", b"alice-pw"), pap("dave", b"x" * 40), accounting(1), accounting(2, extra=b"\x31\x06\x00\x00\x00\x01")]


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int, tail: bytes) -> bytes:
    out = bytearray(data)
    for pos, value in edits:
        out[pos % len(out)] = value
    return bytes(out[:max(0, len(out) - cut)]) + tail


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.binary(max_size=5000),
    st.builds(mutate, st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)),
                                                       max_size=6), st.integers(0, 30), st.binary(max_size=40)),
    st.builds(lambda code, body: bytes([code, 1]) + (20 + len(body)).to_bytes(2, "big") + bytes(16) + body,
              st.integers(0, 255), st.binary(max_size=300)),
))
def test_fuzz_nothing_escapes(handler, now, data):
    for reply in (handler.access(data, "127.0.0.1", now), handler.access(data, "10.1.1.1", now)):
        assert reply is None or rp.decode(reply).code in (rp.ACCESS_ACCEPT, rp.ACCESS_REJECT)
    result = handler.accounting(data, "127.0.0.1")
    assert result is None or result[2].status_type in (1, 2, 3, 7, 8)
