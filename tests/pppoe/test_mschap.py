"""MS-CHAPv2 (RFC 2759) and MPPE keys (RFC 3079) against the RFCs' own test vectors, and
FreeRADIUS's vector for a User-Name with a Windows domain."""

from __future__ import annotations

import pytest

from hotspotd.pppoe import mschap
from hotspotd.pppoe.md4 import md4

from .vectors import (AUTHENTICATOR_CHALLENGE, AUTHENTICATOR_RESPONSE, CHALLENGE, DOMAIN_CHALLENGE,
                      DOMAIN_RESPONSE, DOMAIN_SUCCESS, MASTER_KEY, NT_RESPONSE, PASSWORD, PASSWORD_HASH,
                      PASSWORD_HASH_HASH, PEER_CHALLENGE, RECV_KEY, RESPONSE, SEND_KEY, USER)


def test_rfc2759_steps():
    assert mschap.challenge_hash(PEER_CHALLENGE, AUTHENTICATOR_CHALLENGE, USER) == CHALLENGE
    assert mschap.nt_password_hash(PASSWORD) == PASSWORD_HASH
    assert mschap.challenge_response(CHALLENGE, PASSWORD_HASH) == NT_RESPONSE
    assert md4(PASSWORD_HASH) == PASSWORD_HASH_HASH
    assert mschap.authenticator_response(PASSWORD_HASH, NT_RESPONSE, CHALLENGE) == AUTHENTICATOR_RESPONSE


def test_the_password_hash_is_md4_of_utf16le():
    # RFC 2759 §9.3 prints "MyPw" as ASCII, but its hash is that of the UTF-16LE form.
    assert mschap.nt_password_hash("MyPw") == bytes.fromhex("FC156AF7EDCD6C0EDDE3337D427F4EAC")
    assert md4(b"MyPw") != bytes.fromhex("FC156AF7EDCD6C0EDDE3337D427F4EAC")


def test_rfc3079_keys():
    assert mschap.master_key(PASSWORD_HASH, NT_RESPONSE) == MASTER_KEY
    assert mschap.server_keys(MASTER_KEY) == (SEND_KEY, RECV_KEY)


def test_the_rfc_login_verifies_with_success_and_keys():
    result = mschap.verify_mschap2(USER, PASSWORD, AUTHENTICATOR_CHALLENGE, RESPONSE)
    assert result is not None
    assert result.success == b"\x01" + AUTHENTICATOR_RESPONSE.encode()
    assert len(result.success) == 43
    assert (result.ident, result.send_key, result.recv_key) == (1, SEND_KEY, RECV_KEY)


@pytest.mark.parametrize("user, password", [(USER, "clientpass"), (USER, "clientPass "), (USER, ""),
                                            ("user", PASSWORD), ("Other", PASSWORD)])
def test_a_wrong_password_or_name_does_not_verify(user, password):
    assert mschap.verify_mschap2(user, password, AUTHENTICATOR_CHALLENGE, RESPONSE) is None


def test_a_changed_challenge_or_response_does_not_verify():
    assert mschap.verify_mschap2(USER, PASSWORD, bytes(16), RESPONSE) is None
    for at in (2, 17, 26, 49):  # peer challenge, NT-Response
        tampered = bytearray(RESPONSE)
        tampered[at] ^= 0x01
        assert mschap.verify_mschap2(USER, PASSWORD, AUTHENTICATOR_CHALLENGE, bytes(tampered)) is None


def test_the_domain_is_stripped_as_freeradius_does():
    assert mschap.strip_domain("example\\john") == "john"
    assert mschap.strip_domain("a\\b\\c") == "b\\c"  # up to the first backslash only
    assert mschap.strip_domain("john@example") == "john@example"
    for name in ("example\\john", "john"):
        result = mschap.verify_mschap2(name, "secret", DOMAIN_CHALLENGE, DOMAIN_RESPONSE)
        assert result is not None and result.success == DOMAIN_SUCCESS, name
    # The vector verifies only when "john" is what gets hashed.
    assert mschap.verify_mschap2("example/john", "secret", DOMAIN_CHALLENGE, DOMAIN_RESPONSE) is None
    assert mschap.challenge_hash(DOMAIN_RESPONSE[2:18], DOMAIN_CHALLENGE, "example\\john") != \
        mschap.challenge_hash(DOMAIN_RESPONSE[2:18], DOMAIN_CHALLENGE, "john")


@pytest.mark.parametrize("challenge, response", [(bytes(8), RESPONSE), (AUTHENTICATOR_CHALLENGE, RESPONSE[:49]),
                                                 (AUTHENTICATOR_CHALLENGE, RESPONSE + b"\x00")])
def test_wrong_lengths_are_malformed_not_a_wrong_password(challenge, response):
    with pytest.raises(ValueError):
        mschap.verify_mschap2(USER, PASSWORD, challenge, response)


def test_the_response_splits_into_its_fields():
    parsed = mschap.MsChap2Response.parse(RESPONSE)
    assert (parsed.ident, parsed.flags, parsed.peer_challenge, parsed.nt_response) == (1, 0, PEER_CHALLENGE,
                                                                                       NT_RESPONSE)


def test_the_error_value_carries_the_ident_and_rfc2759_fields():
    value = mschap.error_value(0x9C, new_challenge=bytes(range(16)))
    assert value == b"\x9cE=691 R=0 C=000102030405060708090A0B0C0D0E0F V=3 M=Authentication failed"
    fresh = mschap.error_value(7, mschap.PASSWORD_EXPIRED, "Password expired")
    assert fresh[:1] == b"\x07" and fresh[1:].startswith(b"E=648 R=0 C=") and fresh.endswith(b" V=3 M=Password expired")
    assert len(fresh[1:].split(b" ")[2]) == 2 + 32
    with pytest.raises(ValueError):
        mschap.error_value(1, new_challenge=bytes(8))
