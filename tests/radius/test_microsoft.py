"""MS-CHAPv2 over RADIUS: reading the request, salt-encrypted MPPE keys (RFC 2548), and a real
exchange with FreeRADIUS's radclient, which checks our reply and decrypts the keys itself."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading

import pytest
from pyrad import packet as pyrad_packet
from pyrad.dictionary import Dictionary

from hotspotd.pppoe.mschap import verify_mschap2
from hotspotd.radius import microsoft as ms
from hotspotd.radius import packet as rp

from ..pppoe.vectors import (AUTHENTICATOR_CHALLENGE, AUTHENTICATOR_RESPONSE, PASSWORD, RECV_KEY, RESPONSE,
                                 SEND_KEY, USER)

SECRET = b"testing123"
AUTHENTICATOR = bytes(range(16))
# Salt-encrypted with the secret above for a request authenticator of 00 01 … 0f.
SEND_KEY_8001 = bytes.fromhex("8001222f78911e81bc02d486a8a0a785432f23e948690cf7b68255e9483cdb57bb05")
RECV_KEY_8002 = bytes.fromhex("8002079eced7be05a21b6a76b65390a2fa26897891980ea648fb09e7e96fef919a30")


def mschap2_request(user: str = USER, challenge: bytes = AUTHENTICATOR_CHALLENGE, response: bytes = RESPONSE) -> bytes:
    attrs = rp.attr(rp.USER_NAME, user.encode())
    if challenge:
        attrs += rp.vsa(ms.MICROSOFT, ms.MS_CHAP_CHALLENGE, challenge)
    attrs += rp.vsa(ms.MICROSOFT, ms.MS_CHAP2_RESPONSE, response)
    return rp.encode_request(rp.ACCESS_REQUEST, 5, SECRET, attrs, authenticator=AUTHENTICATOR)


def test_the_dictionary_names_the_ppp_and_microsoft_attributes_for_pyrad():
    dictionary = Dictionary(str(rp.DICTIONARY_PATH))
    standard = {"Framed-Protocol": 7, "Framed-IP-Netmask": 9, "Framed-Route": 22, "Framed-Pool": 88}
    assert {name: dictionary.attributes[name].code for name in standard} == standard
    microsoft = {"MS-CHAP-Response": 1, "MS-CHAP-Error": 2, "MS-MPPE-Encryption-Policy": 7,
                 "MS-MPPE-Encryption-Types": 8, "MS-CHAP-Challenge": 11, "MS-MPPE-Send-Key": 16,
                 "MS-MPPE-Recv-Key": 17, "MS-CHAP2-Response": 25, "MS-CHAP2-Success": 26}
    assert {name: dictionary.attributes[name].code for name in microsoft} == microsoft
    assert {dictionary.attributes[name].vendor for name in microsoft} == {"Microsoft"}
    assert dictionary.vendors["Microsoft"] == 311
    for key in ("MS-MPPE-Send-Key", "MS-MPPE-Recv-Key"):  # plain octets: we encrypt, pyrad must not
        assert (dictionary.attributes[key].type, dictionary.attributes[key].encrypt) == ("octets", 0)


def test_rfc2548_salt_encryption_vectors():
    assert rp.salt_encrypt(SEND_KEY, SECRET, AUTHENTICATOR, 0x8001) == SEND_KEY_8001
    assert rp.salt_encrypt(RECV_KEY, SECRET, AUTHENTICATOR, 0x8002) == RECV_KEY_8002
    assert rp.salt_decrypt(SEND_KEY_8001, SECRET, AUTHENTICATOR) == SEND_KEY
    assert rp.salt_decrypt(RECV_KEY_8002, SECRET, AUTHENTICATOR) == RECV_KEY


@pytest.mark.parametrize("size", [0, 1, 15, 16, 31, 32, 40])
def test_salt_encryption_round_trips_over_several_blocks(size):
    value = bytes(range(100, 100 + size))
    hidden = rp.salt_encrypt(value, SECRET, AUTHENTICATOR, 0xABCD)
    assert hidden[:2] == b"\xab\xcd" and (len(hidden) - 2) % 16 == 0
    assert rp.salt_decrypt(hidden, SECRET, AUTHENTICATOR) == value


def test_salts_without_the_top_bit_and_bad_ciphertexts_are_refused():
    with pytest.raises(ValueError):
        rp.salt_encrypt(SEND_KEY, SECRET, AUTHENTICATOR, 0x7FFF)
    with pytest.raises(rp.MalformedPacket):
        rp.salt_decrypt(SEND_KEY_8001[:20], SECRET, AUTHENTICATOR)
    with pytest.raises(rp.MalformedPacket):
        rp.salt_decrypt(b"\x00\x01" + SEND_KEY_8001[2:], SECRET, AUTHENTICATOR)


def test_credentials_are_read_from_an_access_request():
    credentials = ms.mschap2_credentials(rp.decode(mschap2_request()))
    assert credentials == ms.MsChap2Credentials(AUTHENTICATOR_CHALLENGE, RESPONSE) and credentials.ident == 1
    pap = rp.encode_request(rp.ACCESS_REQUEST, 6, SECRET, rp.attr(rp.USER_NAME, b"User")
                            + rp.attr(rp.USER_PASSWORD, rp.hide_password(b"pw", SECRET, AUTHENTICATOR)),
                            authenticator=AUTHENTICATOR)
    assert ms.mschap2_credentials(rp.decode(pap)) is None


@pytest.mark.parametrize("challenge, response", [(b"", RESPONSE), (bytes(8), RESPONSE),
                                                 (AUTHENTICATOR_CHALLENGE, RESPONSE[:49])])
def test_missing_or_short_credentials_are_malformed(challenge, response):
    with pytest.raises(rp.MalformedPacket):
        ms.mschap2_credentials(rp.decode(mschap2_request(challenge=challenge, response=response)))


def test_success_attributes_carry_the_success_and_keys_under_distinct_salts():
    result = verify_mschap2(USER, PASSWORD, AUTHENTICATOR_CHALLENGE, RESPONSE)
    fixed = ms.success_attributes(result, SECRET, AUTHENTICATOR, salts=(0x8001, 0x8002))
    assert fixed == (rp.vsa(311, 26, b"\x01" + AUTHENTICATOR_RESPONSE.encode()) + rp.vsa(311, 16, SEND_KEY_8001)
                     + rp.vsa(311, 17, RECV_KEY_8002))
    for _ in range(50):
        raw = rp.encode_reply(rp.ACCESS_ACCEPT, 5, AUTHENTICATOR, SECRET,
                              ms.success_attributes(result, SECRET, AUTHENTICATOR))
        found = rp.decode(raw).vendor_attrs()
        send, recv = found[(311, 16)], found[(311, 17)]
        assert send[:2] != recv[:2] and send[0] & 0x80 and recv[0] & 0x80
        assert rp.salt_decrypt(send, SECRET, AUTHENTICATOR) == SEND_KEY
        assert rp.salt_decrypt(recv, SECRET, AUTHENTICATOR) == RECV_KEY
        assert (311, 7) not in found and (311, 8) not in found  # no encryption policy unless asked
    parsed = pyrad_packet.Packet(dict=rp.DICTIONARY, secret=SECRET, packet=raw)
    assert parsed["MS-CHAP2-Success"] == [result.success]
    with_policy = rp.decode(rp.encode_reply(rp.ACCESS_ACCEPT, 5, AUTHENTICATOR, SECRET, ms.success_attributes(
        result, SECRET, AUTHENTICATOR, encryption_policy=ms.ENCRYPTION_ALLOWED,
        encryption_types=ms.TYPES_40_BIT | ms.TYPES_128_BIT))).vendor_attrs()
    assert (with_policy[(311, 7)], with_policy[(311, 8)]) == ((1).to_bytes(4, "big"), (6).to_bytes(4, "big"))
    with pytest.raises(ValueError):
        ms.mppe_attributes(SEND_KEY, RECV_KEY, SECRET, AUTHENTICATOR, salts=(0x8001, 0x8001))


def test_the_error_attribute_carries_the_ident():
    found = rp.decode(rp.encode_reply(rp.ACCESS_REJECT, 5, AUTHENTICATOR, SECRET, ms.error_attribute(0xA7))).vendor_attrs()
    assert found[(311, 2)][:1] == b"\xa7" and found[(311, 2)][1:].startswith(b"E=691 R=0 C=")


class Responder:
    """A RADIUS server on loopback made of the pieces the handler will use: decode, check the
    Message-Authenticator, verify MS-CHAPv2 against `passwords`, answer with our attributes."""

    def __init__(self, passwords: dict[str, str]) -> None:
        self.passwords = passwords
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.31.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, source = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            self.sock.sendto(self.answer(data), source)
            self.answered += 1

    def answer(self, data: bytes) -> bytes:
        request = rp.decode(data)
        assert rp.message_authenticator_ok(request, SECRET)
        credentials = ms.mschap2_credentials(request)
        user = request.text(rp.USER_NAME)
        result = verify_mschap2(user, self.passwords.get(user, ""), credentials.challenge, credentials.response)
        if result is None:
            return rp.encode_reply(rp.ACCESS_REJECT, request.ident, request.authenticator, SECRET,
                                   ms.error_attribute(credentials.ident))
        return rp.encode_reply(rp.ACCESS_ACCEPT, request.ident, request.authenticator, SECRET,
                               ms.success_attributes(result, SECRET, request.authenticator))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def responder():
    server = Responder({USER: PASSWORD})
    yield server
    server.close()


def radclient_mschap2(port: int) -> subprocess.CompletedProcess:
    """radclient -x sending RFC 2759's login, as a PPPoE server would (values precomputed:
    no FreeRADIUS tool builds MS-CHAPv2 from a password)."""
    assert shutil.which("radclient"), "radclient not found: apt-get install freeradius-utils (scripts/test does)"
    lines = [f'User-Name = "{USER}"', f"MS-CHAP-Challenge = 0x{AUTHENTICATOR_CHALLENGE.hex()}",
             f"MS-CHAP2-Response = 0x{RESPONSE.hex()}", "Service-Type = Framed-User", "Framed-Protocol = PPP",
             "NAS-Port-Type = Ethernet", "Message-Authenticator = 0x00"]
    return subprocess.run(["radclient", "-x", "-r", "3", "-t", "5", f"127.0.31.1:{port}", "auth", SECRET.decode()],
                          input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)


def reply_lines(stdout: str) -> dict[str, str]:
    """The attributes radclient printed for the reply it received, by name."""
    _, _, reply = stdout.partition("Received ")
    pairs = (line.strip().split(" = ", 1) for line in reply.splitlines()[1:] if " = " in line)
    return {name: value for name, value in pairs}


@pytest.mark.e2e
def test_radclient_accepts_our_mschap2_success_and_decrypts_the_mppe_keys(responder):
    out = radclient_mschap2(responder.port)
    assert out.returncode == 0 and "Received Access-Accept" in out.stdout, out.stdout + out.stderr
    got = reply_lines(out.stdout)
    assert got["MS-CHAP2-Success"] == "0x" + (b"\x01" + AUTHENTICATOR_RESPONSE.encode()).hex()
    assert got["MS-MPPE-Send-Key"] == "0x" + SEND_KEY.hex()
    assert got["MS-MPPE-Recv-Key"] == "0x" + RECV_KEY.hex()


@pytest.mark.e2e
def test_radclient_gets_a_reject_with_the_ident_for_a_wrong_password(responder):
    responder.passwords[USER] = "clientPas"
    out = radclient_mschap2(responder.port)
    assert "Received Access-Reject" in out.stdout, out.stdout + out.stderr
    got = reply_lines(out.stdout)
    assert got["MS-CHAP-Error"].startswith('"\\001E=691 R=0 C='), got  # \001: the Ident of the response
    assert "MS-CHAP2-Success" not in got and "MS-MPPE-Send-Key" not in got
