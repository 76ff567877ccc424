"""The lean codec agrees with pyrad and with the RFCs."""

from __future__ import annotations

import pytest
from pyrad import packet as pyrad_packet

from hotspotd.radius import packet as rp

SECRET = b"s3cret-for-tests"


def test_access_request_from_pyrad_decodes():
    request = pyrad_packet.AuthPacket(code=1, id=9, secret=SECRET, dict=rp.DICTIONARY)
    request["User-Name"] = "alice"
    request["User-Password"] = request.PwCrypt("a password longer than sixteen")
    request.add_message_authenticator()
    raw = request.RequestPacket()
    packet = rp.decode(raw)
    assert (packet.code, packet.ident, packet.text(rp.USER_NAME)) == (1, 9, "alice")
    assert rp.message_authenticator_ok(packet, SECRET)
    assert not rp.message_authenticator_ok(packet, b"wrong secret")
    hidden = packet.attrs[rp.USER_PASSWORD]
    assert rp.reveal_password(hidden, SECRET, packet.authenticator) == b"a password longer than sixteen"


@pytest.mark.parametrize("password", [b"", b"x", b"0123456789abcdef", b"0123456789abcdef0", b"p" * 128])
def test_password_hiding_round_trip(password):
    auth = bytes(range(16))
    hidden = rp.hide_password(password, SECRET, auth)
    assert len(hidden) % 16 == 0 and hidden
    assert rp.reveal_password(hidden, SECRET, auth) == password


def test_reply_is_signed_like_freeradius():
    auth = bytes(range(16))
    attrs = rp.integer(rp.SESSION_TIMEOUT, 3600) + rp.vsa(rp.MIKROTIK, rp.MIKROTIK_RATE_LIMIT, b"2M/5M")
    raw = rp.encode_reply(rp.ACCESS_ACCEPT, 9, auth, SECRET, attrs)
    reply = rp.decode(raw)
    assert reply.ma_offset == 20  # Message-Authenticator first
    assert rp.response_authenticator_ok(reply, auth, SECRET)
    assert rp.message_authenticator_ok(reply, SECRET, auth)
    assert reply.vendor_attrs() == {(14988, 8): b"2M/5M"}
    parsed = pyrad_packet.Packet(dict=rp.DICTIONARY, secret=SECRET, packet=raw)
    assert parsed["Session-Timeout"] == [3600] and parsed["Mikrotik-Rate-Limit"] == ["2M/5M"]


def test_accounting_request_authenticator():
    raw = rp.encode_request(rp.ACCOUNTING_REQUEST, 3, SECRET, rp.integer(rp.ACCT_STATUS_TYPE, 1))
    packet = rp.decode(raw)
    assert rp.request_authenticator_ok(packet, SECRET)
    assert rp.message_authenticator_ok(packet, SECRET, rp.ZERO16)
    assert not rp.request_authenticator_ok(packet, b"other")
    request = pyrad_packet.AcctPacket(dict=rp.DICTIONARY, secret=SECRET, packet=raw)
    assert request.VerifyAcctRequest()


@pytest.mark.parametrize("raw, why", [
    (b"\x01\x01\x00", "shorter"),
    (b"\x01\x01\x00\x13" + bytes(16), "bad length"),
    (b"\x01\x01\x00\x20" + bytes(16), "bad length"),
    (b"\x01\x01\x00\x16" + bytes(16) + b"\x01\x01", "bad length 1"),
    (b"\x01\x01\x00\x17" + bytes(16) + b"\x01\x05\x00", "bad length 5"),
    (b"\x01\x01\x00\x18" + bytes(16) + b"\x50\x04\x00\x00", "Message-Authenticator"),
    (b"\x01\x01\x10\x01" + bytes(4097), "oversized"),
])
def test_malformed_is_refused(raw, why):
    with pytest.raises(rp.MalformedPacket, match=why):
        rp.decode(raw)


def test_trailing_padding_is_ignored():
    raw = rp.encode_request(rp.ACCESS_REQUEST, 1, SECRET, rp.attr(rp.USER_NAME, b"a"))
    packet = rp.decode(raw + b"\x00" * 10)
    assert packet.raw == raw and rp.message_authenticator_ok(packet, SECRET)
