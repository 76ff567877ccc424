"""The packet handler without sockets: validation, decisions, and a fuzzer."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotspotd import access
from hotspotd.access import AccessView
from hotspotd.access_loader import ViewLoader
from hotspotd.mac import normalize_mac
from hotspotd.radius import packet as rp
from hotspotd.radius.handler import Handler
from hotspotd.store.models import Credential, DeviceBinding, Router, Session, Subscription

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


PHONE = "AA:BB:CC:00:00:09"  # the device logging in, as the router names it (Calling-Station-Id)


def pap(username: str, password: bytes, ident: int = 1, with_ma: bool = True, extra: bytes = b"",
        mac: str | None = PHONE) -> bytes:
    auth = bytes(range(16))
    attrs = rp.attr(rp.USER_NAME, username.encode()) + rp.attr(rp.USER_PASSWORD, rp.hide_password(password, KEY, auth))
    if mac:
        attrs += rp.attr(rp.CALLING_STATION_ID, mac.encode())
    return rp.encode_request(rp.ACCESS_REQUEST, ident, KEY, attrs + extra, with_ma, authenticator=auth)


def test_accept_and_reject(handler, now):
    reply = rp.decode(handler.access(pap("alice", b"alice-pw"), "127.0.0.1", now))
    assert reply.code == rp.ACCESS_ACCEPT and reply.ma_offset == 20
    assert rp.response_authenticator_ok(reply, bytes(range(16)), KEY)
    assert reply.vendor_attrs()[(rp.MIKROTIK, rp.MIKROTIK_RATE_LIMIT)] == b"2M/5M"
    reject = rp.decode(handler.access(pap("bob", b"bob-pw"), "127.0.0.1", now))
    assert reject.code == rp.ACCESS_REJECT and reject.text(rp.REPLY_MESSAGE) == "Your package has expired"
    assert handler.decisions == {"ok": 1, "expired": 1}


@pytest.mark.parametrize("left, total_limit, gigawords", [
    (4_294_967_296, 0, 1),  # carol as the site has her: 5 GiB bought, 1 GiB used
    (4_294_967_301, 5, 1),
    (15_884_901_888, 3_000_000_000, 3),
    (123_456, 123_456, 0),
])
def test_total_limit_splits_into_gigawords(site, loader, handler, now, left, total_limit, gigawords):
    carol = site["subs"]["carol"]
    Subscription.update(data_limit=carol.bytes_used + left).where(Subscription.id == carol.id).execute()
    loader.refresh()
    vendor = rp.decode(handler.access(pap("carol", b"carol-pw"), "127.0.0.1", now)).vendor_attrs()
    assert vendor[(rp.MIKROTIK, rp.MIKROTIK_TOTAL_LIMIT)] == total_limit.to_bytes(4, "big")
    assert vendor[(rp.MIKROTIK, rp.MIKROTIK_TOTAL_LIMIT_GIGAWORDS)] == gigawords.to_bytes(4, "big")


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


def test_a_flood_of_rejects_and_garbage_stores_nothing_but_a_few_counters(handler, now):
    """RADIUS rejects are not recorded one by one: 20,000 wrong logins and garbage packets
    from thousands of addresses leave only the counters, one row per reason."""
    from hotspotd.plumbing import counters
    from hotspotd.store.db import db

    def sizes() -> dict[str, int]:
        tables = [row[0] for row in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: db.execute_sql(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables if t != "counter"}

    before = sizes()
    for n in range(5000):
        handler.access(pap(f"guess{n}", b"wrong"), "127.0.0.1", now)  # unknown users
        handler.access(pap("alice", f"pw{n}".encode()), "127.0.0.1", now)  # wrong passwords
        handler.access(pap("alice", b"alice-pw"), f"10.{n >> 8 & 255}.{n & 255}.9", now)  # from no router
        handler.access(bytes([1, n & 255, 0, 20]) + bytes(16), "127.0.0.1", now)  # garbage
    counters.publish("radius-0", handler.counts(), now)
    counters.publish("radius-0", handler.counts(), now)  # rewritten in place, every few seconds
    assert sizes() == before
    rows = db.execute_sql('SELECT "name", "label", "value" FROM "counter"').fetchall()
    assert sum(value for _, label, value in rows if label in ("unknown_user", "wrong_password")) == 10_000
    assert len(rows) <= 8 and not any("guess" in label or "10." in label for _, label, _ in rows)


def test_router_may_relax_message_authenticator(site, loader, handler, now):
    Router.update(require_message_authenticator=False).where(Router.id == site["router"].id).execute()
    loader.refresh()
    assert rp.decode(handler.access(pap("alice", b"alice-pw", with_ma=False), "127.0.0.1", now)).code == 2


def test_view_follows_the_store(site, loader, handler, now):
    Credential.update(password="new-pw").where(Credential.username == "alice").execute()
    assert loader.refresh()
    assert rp.decode(handler.access(pap("alice", b"new-pw"), "127.0.0.1", now)).code == rp.ACCESS_ACCEPT
    assert not loader.refresh()  # nothing new
    # the accept bound PHONE to alice's one-device package: another device is refused while PHONE
    # is offline, until "already paid?" moves the package (the store's binding changes)
    other = rp.decode(handler.access(pap("alice", b"new-pw", mac="AA:BB:CC:00:00:02"), "127.0.0.1", now))
    assert other.code == rp.ACCESS_REJECT and other.text(rp.REPLY_MESSAGE) == access.TOO_MANY_DEVICES
    alice = Credential.get(Credential.username == "alice").customer_id
    DeviceBinding.delete().where(DeviceBinding.customer == alice).execute()
    DeviceBinding.create(customer=alice, mac="AA:BB:CC:00:00:02", how="restored", created_at=now)
    loader.refresh()
    assert rp.decode(handler.access(pap("alice", b"new-pw", mac="AA:BB:CC:00:00:02"), "127.0.0.1", now)).code == \
        rp.ACCESS_ACCEPT
    assert rp.decode(handler.access(pap("alice", b"new-pw"), "127.0.0.1", now)).code == rp.ACCESS_REJECT
    from hotspotd.store.db import db
    db.execute_sql('DELETE FROM "radius_change"')  # pruned past the view: it reloads everything
    Credential.update(password="third").where(Credential.username == "alice").execute()
    loader.refresh()
    mac = {"mac": "AA:BB:CC:00:00:02"}
    assert rp.decode(handler.access(pap("alice", b"third", **mac), "127.0.0.1", now)).code == rp.ACCESS_ACCEPT
    assert rp.decode(handler.access(pap("alice", b"third", **mac), "127.0.0.1", now + timedelta(hours=2))).code == 3


def accounting(status: int, session_id: bytes = b"8010", extra: bytes = b"") -> bytes:
    attrs = rp.integer(rp.ACCT_STATUS_TYPE, status) + rp.attr(rp.ACCT_SESSION_ID, session_id) + \
        rp.attr(rp.USER_NAME, b"alice") + rp.attr(rp.FRAMED_IP_ADDRESS, bytes([10, 5, 0, 2])) + extra
    return rp.encode_request(rp.ACCOUNTING_REQUEST, 4, KEY, attrs, with_message_authenticator=False)


def test_a_mac_login_without_calling_station_id_is_rejected(handler, now):
    """User-Name is the MAC: only the router's Calling-Station-Id says the device is that MAC."""
    reply = rp.decode(handler.access(pap(BOUND_MAC, b"", mac=BOUND_MAC), "127.0.0.1", now))
    assert reply.code == rp.ACCESS_ACCEPT
    for request in (pap(BOUND_MAC, b"", mac=None), pap("aa-bb-cc-00-00-01", b"", mac=None), chap(BOUND_MAC, b"")):
        reply = rp.decode(handler.access(request, "127.0.0.1", now))
        assert reply.code == rp.ACCESS_REJECT and reply.text(rp.REPLY_MESSAGE)
    assert handler.decisions == {"ok": 1, "unknown_user": 3}


def test_a_blocked_device_is_rejected_whatever_credentials_it_brings(loader, handler, now):
    from hotspotd import devices
    from hotspotd.access import BLOCKED

    stolen = "AA:BB:CC:00:00:77"

    def login(username: str, password: bytes, mac: str) -> rp.Packet:
        return rp.decode(handler.access(pap(username, password, mac=mac), "127.0.0.1", now))

    assert login("alice", b"alice-pw", stolen).code == rp.ACCESS_ACCEPT
    devices.block([stolen.lower(), BOUND_MAC], "stolen phone", now)
    loader.refresh()
    refused = login("alice", b"alice-pw", stolen)  # good credentials, from the blocked device
    assert refused.code == rp.ACCESS_REJECT and refused.text(rp.REPLY_MESSAGE) == BLOCKED
    assert login(BOUND_MAC, b"", BOUND_MAC).code == rp.ACCESS_REJECT  # its MAC login too
    assert login("carol", b"carol-pw", "AA:BB:CC:00:00:78").code == rp.ACCESS_ACCEPT  # another device is not blocked
    assert handler.decisions == {"ok": 2, "blocked": 2}
    devices.unblock([stolen])
    loader.refresh()
    assert login("alice", b"alice-pw", stolen).code == rp.ACCESS_ACCEPT


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


def test_accounting_gigawords_count_2_to_the_32_octets(handler):
    extra = rp.integer(rp.ACCT_INPUT_GIGAWORDS, 1) + rp.integer(rp.ACCT_INPUT_OCTETS, 5) + \
        rp.integer(rp.ACCT_OUTPUT_GIGAWORDS, 2) + rp.integer(rp.ACCT_OUTPUT_OCTETS, 0xFFFFFFFF)
    _, _, record = handler.accounting(accounting(3, extra=extra), "127.0.0.1")
    assert (record.input_bytes, record.output_bytes) == (4_294_967_301, 12_884_901_887)


def chap(username: str, password: bytes, ident: int = 7, challenge: bytes | None = None, mac: str | None = None,
         with_ma: bool = True) -> bytes:
    """A CHAP Access-Request, computed here (RFC 1994 / 2865 5.3), not by the code under test."""
    auth = bytes(range(100, 116))
    response = bytes([ident]) + hashlib.md5(bytes([ident]) + password + (challenge or auth)).digest()
    attrs = rp.attr(rp.USER_NAME, username.encode()) + rp.attr(rp.CHAP_PASSWORD, response)
    if challenge is not None:
        attrs += rp.attr(rp.CHAP_CHALLENGE, challenge)
    if mac is not None:
        attrs += rp.attr(rp.CALLING_STATION_ID, mac.encode())
    return rp.encode_request(rp.ACCESS_REQUEST, 9, KEY, attrs, with_ma, authenticator=auth)


def access_request(username: str, password: bytes, use_chap: bool, mac: str | None, with_ma: bool) -> bytes:
    if use_chap:
        return chap(username, password, mac=mac, with_ma=with_ma)
    return pap(username, password, with_ma=with_ma, mac=mac)


# Who may get an Access-Accept from the `site` fixture (conftest.py), written out here:
# alice and carol have time and data left; bob's time is over, dave's data is used up.
# A password works from a named device (Calling-Station-Id) its package admits: alice's one
# device, carol's two, the first to log in taking the free slots (`bound` tracks them here).
# alice's subscription is bound to AA:BB:CC:00:00:01, so that MAC may log in as User-Name
# (MikroTik MAC login: no password is checked; the calling station must be there and be that MAC).
CURRENT_USERS = {b"alice": b"alice-pw", b"carol": b"carol-pw"}
DEVICES_ALLOWED = {b"alice": 1, b"carol": 2}
BOUND_MAC = "AA:BB:CC:00:00:01"
USERS = ["alice", "carol", "bob", "dave", "zed", "", "AA:BB:CC:00:00:01", "aa-bb-cc-00-00-01", "AA:BB:CC:00:00:02"]
PASSWORDS = [b"alice-pw", b"carol-pw", b"bob-pw", b"dave-pw", b"", b"alice-pw\x00", b"alice-p", b"x" * 40]
MACS = [None, "AA:BB:CC:00:00:01", "aa-bb-cc-00-00-02", "junk"]


def authenticated(data: bytes) -> rp.Packet | None:
    """`data` as an Access-Request whose Message-Authenticator is right for the secret
    (HMAC-MD5 over the packet with the attribute zeroed, RFC 3579 3.2), else None."""
    try:
        packet = rp.decode(data)
    except rp.MalformedPacket:
        return None
    if packet.code != rp.ACCESS_REQUEST or packet.ma_offset < 0:
        return None
    at = packet.ma_offset + 2
    blanked = packet.raw[:at] + bytes(16) + packet.raw[at + 16:]
    return packet if hmac.compare_digest(hmac.digest(KEY, blanked, "md5"), packet.raw[at:at + 16]) else None


def deserves_accept(data: bytes, bound: dict[bytes, set[str]] | None = None) -> bool:
    """Judged apart from the handler: an authenticated Access-Request with the right
    password (PAP or CHAP) of a current user from a device the package admits (`bound`: the
    devices each user's package has taken so far), or a MAC login of the bound MAC."""
    packet = authenticated(data)
    if packet is None:
        return False
    name, chap_response = packet.attrs.get(rp.USER_NAME), packet.attrs.get(rp.CHAP_PASSWORD)
    hidden = packet.attrs.get(rp.USER_PASSWORD)
    try:
        revealed = None if hidden is None else rp.reveal_password(hidden, KEY, packet.authenticator)
    except rp.MalformedPacket:
        revealed = None
    if name is None or (chap_response is None and revealed is None):
        return False
    if name in CURRENT_USERS:
        password = CURRENT_USERS[name]
        if chap_response is not None:
            challenge = packet.attrs.get(rp.CHAP_CHALLENGE, packet.authenticator)
            right = len(chap_response) == 17 and \
                hashlib.md5(chap_response[:1] + password + challenge).digest() == chap_response[1:]
        else:
            right = revealed == password
        station = normalize_mac(packet.text(rp.CALLING_STATION_ID))
        taken = (bound or {}).get(name, set())
        return right and station is not None and (station in taken or len(taken) < DEVICES_ALLOWED[name])
    try:
        login = normalize_mac(name.decode("utf-8"))
    except UnicodeDecodeError:
        return False
    station = normalize_mac(packet.text(rp.CALLING_STATION_ID))
    return login == BOUND_MAC and station == BOUND_MAC  # a MAC login names its calling station


VALID = [pap("alice", b"alice-pw"), pap("dave", b"x" * 40), chap("carol", b"carol-pw", challenge=bytes(16)),
         accounting(1), accounting(2, extra=b"\x31\x06\x00\x00\x00\x01")]


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int, tail: bytes) -> bytes:
    out = bytearray(data)
    for pos, value in edits:
        out[pos % len(out)] = value
    return bytes(out[:max(0, len(out) - cut)]) + tail


def test_the_fuzz_oracle_knows_who_may_log_in():
    assert deserves_accept(pap("alice", b"alice-pw")) and deserves_accept(chap("carol", b"carol-pw", mac=PHONE))
    assert deserves_accept(pap("alice", b"alice-pw") + b"trailing octets past Length")
    assert deserves_accept(pap("aa-bb-cc-00-00-01", b"", mac=BOUND_MAC))
    taken = {b"alice": {PHONE}, b"carol": {PHONE, "AA:BB:CC:00:00:02"}}
    assert deserves_accept(pap("alice", b"alice-pw"), taken) and deserves_accept(chap("carol", b"carol-pw", mac=PHONE), taken)
    for data, bound in ((pap("alice", b"alice-pw", mac="AA:BB:CC:00:00:03"), taken),
                        (chap("carol", b"carol-pw", mac="AA:BB:CC:00:00:03"), taken),
                        (pap("alice", b"alice-pw", mac=None), None), (chap("carol", b"carol-pw"), None)):
        assert not deserves_accept(data, bound)
    for data in (pap("alice", b"wrong"), chap("alice", b"carol-pw"), pap("bob", b"bob-pw"), pap("dave", b"dave-pw"),
                 pap("alice", b"alice-pw", with_ma=False), pap("AA:BB:CC:00:00:02", b""),
                 pap(BOUND_MAC, b"", mac=None), chap(BOUND_MAC, b""),
                 access_request("AA:BB:CC:00:00:01", b"", False, "AA:BB:CC:00:00:02", True)):
        assert not deserves_accept(data)
    tampered = bytearray(pap("alice", b"alice-pw"))
    tampered[-1] ^= 1
    assert not deserves_accept(bytes(tampered))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.binary(max_size=5000),
    st.builds(mutate, st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)),
                                                       max_size=6), st.integers(0, 30), st.binary(max_size=40)),
    st.builds(lambda code, body: bytes([code, 1]) + (20 + len(body)).to_bytes(2, "big") + bytes(16) + body,
              st.integers(0, 255), st.binary(max_size=300)),
    st.builds(access_request, st.sampled_from(USERS), st.sampled_from(PASSWORDS), st.booleans(),
              st.sampled_from(MACS), st.booleans()),
))
def test_fuzz_nothing_escapes(handler, now, data):
    """Only an authenticated request with the right credentials of a current user is
    accepted; anything else is rejected or, if it is not authenticated, dropped."""
    assert handler.access(data, "10.1.1.1", now) is None  # not a known router
    credentials = handler.view.credentials
    bound = {name: set(handler.view.bindings.get(credentials[name.decode()].customer_id, ()))
             for name in CURRENT_USERS}  # before this request (the examples share one view)
    deserved = deserves_accept(data, bound)
    reply = handler.access(data, "127.0.0.1", now)
    request = authenticated(data)
    if request is None:
        assert reply is None, "an answer to a request that is not authenticated"
    elif deserved:
        assert reply is not None and rp.decode(reply).code == rp.ACCESS_ACCEPT
    if reply is not None:
        answer = rp.decode(reply)
        assert rp.response_authenticator_ok(answer, request.authenticator, KEY) and answer.ident == request.ident
        assert answer.code == (rp.ACCESS_ACCEPT if deserved else rp.ACCESS_REJECT)
    result = handler.accounting(data, "127.0.0.1")
    if result is not None:
        raw = result[0].raw
        assert hashlib.md5(raw[:4] + bytes(16) + raw[20:] + KEY).digest() == raw[4:20]  # authenticated
        assert result[2].status_type in (1, 2, 3, 7, 8)
