"""RADIUS wire format: a lean codec for the hot path (RFC 2865, 2866, 3579, 5176).

pyrad's generic `Packet` builds a dictionary-driven object per packet, which costs more
than the whole decision; here a packet is decoded once into `{type: first value}` plus the
ordered pairs, and replies are assembled from pre-encoded bytes. Attribute numbers come
from the dictionary files shipped beside this module (read with pyrad), so the names in the
code, in radclient's output and in the dictionaries are the same.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from pyrad.dictionary import Dictionary

DICTIONARY_PATH = Path(__file__).with_name("dictionary")
DICTIONARY = Dictionary(str(DICTIONARY_PATH))

MAX_LENGTH = 4096
ZERO16 = bytes(16)

ACCESS_REQUEST, ACCESS_ACCEPT, ACCESS_REJECT = 1, 2, 3
ACCOUNTING_REQUEST, ACCOUNTING_RESPONSE = 4, 5
STATUS_SERVER = 12  # RFC 5997: "are you there?", answered with an Access-Accept on the auth port
DISCONNECT_REQUEST, DISCONNECT_ACK, DISCONNECT_NAK = 40, 41, 42
COA_REQUEST, COA_ACK, COA_NAK = 43, 44, 45
REQUEST_CODES = frozenset({ACCESS_REQUEST, ACCOUNTING_REQUEST, DISCONNECT_REQUEST, COA_REQUEST})


def code_of(name: str) -> int:
    """Attribute number of `name` in the shipped dictionary (vendor sub-type for VSAs)."""
    return DICTIONARY.attributes[name].code


def vendor_of(name: str) -> int:
    """Vendor-Id of a vendor attribute (0 for standard attributes)."""
    vendor = DICTIONARY.attributes[name].vendor
    return DICTIONARY.vendors[vendor] if vendor else 0


USER_NAME = code_of("User-Name")
USER_PASSWORD = code_of("User-Password")
CHAP_PASSWORD = code_of("CHAP-Password")
NAS_IP_ADDRESS = code_of("NAS-IP-Address")
FRAMED_IP_ADDRESS = code_of("Framed-IP-Address")
REPLY_MESSAGE = code_of("Reply-Message")
VENDOR_SPECIFIC = code_of("Vendor-Specific")
SESSION_TIMEOUT = code_of("Session-Timeout")
IDLE_TIMEOUT = code_of("Idle-Timeout")
CALLING_STATION_ID = code_of("Calling-Station-Id")
NAS_IDENTIFIER = code_of("NAS-Identifier")
PROXY_STATE = code_of("Proxy-State")
ACCT_STATUS_TYPE = code_of("Acct-Status-Type")
ACCT_INPUT_OCTETS = code_of("Acct-Input-Octets")
ACCT_OUTPUT_OCTETS = code_of("Acct-Output-Octets")
ACCT_SESSION_ID = code_of("Acct-Session-Id")
ACCT_SESSION_TIME = code_of("Acct-Session-Time")
ACCT_TERMINATE_CAUSE = code_of("Acct-Terminate-Cause")
ACCT_INPUT_GIGAWORDS = code_of("Acct-Input-Gigawords")
ACCT_OUTPUT_GIGAWORDS = code_of("Acct-Output-Gigawords")
CHAP_CHALLENGE = code_of("CHAP-Challenge")
MESSAGE_AUTHENTICATOR = code_of("Message-Authenticator")
ACCT_INTERIM_INTERVAL = code_of("Acct-Interim-Interval")
ERROR_CAUSE = code_of("Error-Cause")

MIKROTIK = vendor_of("Mikrotik-Rate-Limit")
MIKROTIK_RATE_LIMIT = code_of("Mikrotik-Rate-Limit")
MIKROTIK_TOTAL_LIMIT = code_of("Mikrotik-Total-Limit")
MIKROTIK_TOTAL_LIMIT_GIGAWORDS = code_of("Mikrotik-Total-Limit-Gigawords")

TERMINATE_CAUSES = {int.from_bytes(value, "big"): name
                    for name, value in DICTIONARY.attributes["Acct-Terminate-Cause"].values.forward.items()}

_MA_EMPTY = bytes((MESSAGE_AUTHENTICATOR, 18)) + ZERO16


class MalformedPacket(ValueError):
    """Bytes that are not a well-formed RADIUS packet (the reason is the message)."""


class Packet:
    """A decoded packet: `attrs` maps a type to its first value, `pairs` keeps every
    attribute in order; `raw` is the packet cut to its Length field."""

    __slots__ = ("code", "ident", "authenticator", "attrs", "pairs", "raw", "ma_offset")

    def __init__(self, code: int, ident: int, authenticator: bytes, attrs: dict[int, bytes],
                 pairs: list[tuple[int, bytes]], raw: bytes, ma_offset: int) -> None:
        self.code = code
        self.ident = ident
        self.authenticator = authenticator
        self.attrs = attrs
        self.pairs = pairs
        self.raw = raw
        self.ma_offset = ma_offset

    def text(self, attr: int) -> str | None:
        value = self.attrs.get(attr)
        return None if value is None else value.decode("utf-8", "replace")

    def integer(self, attr: int, default: int | None = None) -> int | None:
        value = self.attrs.get(attr)
        if value is None:
            return default
        if len(value) != 4:
            raise MalformedPacket(f"attribute {attr} is not a 4-octet integer")
        return int.from_bytes(value, "big")

    def vendor_attrs(self) -> dict[tuple[int, int], bytes]:
        """Vendor-Specific sub-attributes as {(vendor, type): first value}."""
        found: dict[tuple[int, int], bytes] = {}
        for attr, value in self.pairs:
            if attr != VENDOR_SPECIFIC or len(value) < 6:
                continue
            vendor = int.from_bytes(value[:4], "big")
            pos = 4
            while pos + 2 <= len(value):
                sub, length = value[pos], value[pos + 1]
                if length < 2 or pos + length > len(value):
                    break
                found.setdefault((vendor, sub), value[pos + 2:pos + length])
                pos += length
        return found


def decode(data: bytes) -> Packet:
    """Parse and structurally validate one datagram; raise MalformedPacket otherwise."""
    size = len(data)
    if size > MAX_LENGTH:
        raise MalformedPacket(f"oversized datagram of {size} octets")
    if size < 20:
        raise MalformedPacket("shorter than a header")
    length = (data[2] << 8) | data[3]
    if length < 20 or length > size or length > MAX_LENGTH:
        raise MalformedPacket(f"bad length field {length} for {size} octets")
    attrs: dict[int, bytes] = {}
    pairs: list[tuple[int, bytes]] = []
    pos, ma_offset = 20, -1
    while pos < length:
        if pos + 2 > length:
            raise MalformedPacket("truncated attribute header")
        attr, alen = data[pos], data[pos + 1]
        if alen < 2 or pos + alen > length:
            raise MalformedPacket(f"attribute {attr} has bad length {alen}")
        value = data[pos + 2:pos + alen]
        if attr == MESSAGE_AUTHENTICATOR:
            if alen != 18 or ma_offset >= 0:
                raise MalformedPacket("bad or repeated Message-Authenticator")
            ma_offset = pos
        if attr not in attrs:
            attrs[attr] = value
        pairs.append((attr, value))
        pos += alen
    raw = data if length == size else data[:length]
    return Packet(data[0], data[1], data[4:20], attrs, pairs, raw, ma_offset)


def _ma_input(packet: Packet, authenticator: bytes) -> bytes:
    raw, at = packet.raw, packet.ma_offset
    return raw[:4] + authenticator + raw[20:at + 2] + ZERO16 + raw[at + 18:]


def message_authenticator_ok(packet: Packet, secret: bytes, authenticator: bytes | None = None) -> bool:
    """Check Message-Authenticator (RFC 3579 §3.2). `authenticator` replaces the packet's
    own: the request's for a reply, 16 zeros for Accounting/CoA/Disconnect requests."""
    if packet.ma_offset < 0:
        return False
    expected = hmac.digest(secret, _ma_input(packet, authenticator or packet.authenticator), "md5")
    at = packet.ma_offset + 2
    return hmac.compare_digest(expected, packet.raw[at:at + 16])


def request_authenticator_ok(packet: Packet, secret: bytes) -> bool:
    """Accounting, CoA and Disconnect requests: MD5(header, 16 zeros, attributes, secret)."""
    raw = packet.raw
    expected = hashlib.md5(raw[:4] + ZERO16 + raw[20:] + secret).digest()
    return hmac.compare_digest(expected, packet.authenticator)


def response_authenticator_ok(packet: Packet, request_authenticator: bytes, secret: bytes) -> bool:
    """A reply's authenticator: MD5(header, request authenticator, attributes, secret)."""
    raw = packet.raw
    expected = hashlib.md5(raw[:4] + request_authenticator + raw[20:] + secret).digest()
    return hmac.compare_digest(expected, packet.authenticator)


def attr(attr_type: int, value: bytes) -> bytes:
    """One encoded attribute."""
    if len(value) > 253:
        raise ValueError(f"attribute {attr_type} value longer than 253 octets")
    return bytes((attr_type, len(value) + 2)) + value


def integer(attr_type: int, value: int) -> bytes:
    return bytes((attr_type, 6)) + (value & 0xFFFFFFFF).to_bytes(4, "big")


def vsa(vendor: int, sub_type: int, value: bytes) -> bytes:
    """One Vendor-Specific attribute carrying one sub-attribute."""
    if len(value) > 247:
        raise ValueError(f"vendor attribute {vendor}/{sub_type} longer than 247 octets")
    return bytes((VENDOR_SPECIFIC, len(value) + 8)) + vendor.to_bytes(4, "big") + bytes((sub_type, len(value) + 2)) + value


def encode_reply(code: int, ident: int, request_authenticator: bytes, secret: bytes, attrs: bytes = b"",
                 with_message_authenticator: bool = True) -> bytes:
    """A reply with Message-Authenticator as the first attribute (BlastRADIUS hardening).

    The MAC covers the request's authenticator, except in an Accounting-Response, where
    FreeRADIUS (radclient, and servers that copied it) uses 16 zero octets.
    """
    length = 20 + len(attrs) + (18 if with_message_authenticator else 0)
    if length > MAX_LENGTH:
        raise ValueError("reply longer than 4096 octets")
    header = bytes((code, ident, length >> 8, length & 0xFF))
    if with_message_authenticator:
        vector = ZERO16 if code == ACCOUNTING_RESPONSE else request_authenticator
        mac = hmac.digest(secret, header + vector + _MA_EMPTY + attrs, "md5")
        attrs = bytes((MESSAGE_AUTHENTICATOR, 18)) + mac + attrs
    return header + hashlib.md5(header + request_authenticator + attrs + secret).digest() + attrs


def encode_request(code: int, ident: int, secret: bytes, attrs: bytes = b"",
                   with_message_authenticator: bool = True, authenticator: bytes | None = None) -> bytes:
    """A request. Access-Request and Status-Server: random authenticator, MAC over it. Others (accounting,
    CoA, Disconnect): MAC with a zero authenticator, then MD5 over the packet and secret."""
    length = 20 + len(attrs) + (18 if with_message_authenticator else 0)
    header = bytes((code, ident, length >> 8, length & 0xFF))
    if code in (ACCESS_REQUEST, STATUS_SERVER):
        auth = authenticator or os.urandom(16)
        if with_message_authenticator:
            attrs = attrs + bytes((MESSAGE_AUTHENTICATOR, 18)) + hmac.digest(secret, header + auth + attrs + _MA_EMPTY, "md5")
        return header + auth + attrs
    if with_message_authenticator:
        attrs = attrs + bytes((MESSAGE_AUTHENTICATOR, 18)) + hmac.digest(secret, header + ZERO16 + attrs + _MA_EMPTY, "md5")
    return header + hashlib.md5(header + ZERO16 + attrs + secret).digest() + attrs


def _xor16(left: bytes, right: bytes) -> bytes:
    return (int.from_bytes(left, "big") ^ int.from_bytes(right, "big")).to_bytes(16, "big")


def reveal_password(hidden: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """Undo User-Password hiding (RFC 2865 §5.2); trailing NUL padding removed."""
    if not hidden or len(hidden) % 16 or len(hidden) > 128:
        raise MalformedPacket(f"User-Password of {len(hidden)} octets")
    out, last = [], authenticator
    for pos in range(0, len(hidden), 16):
        chunk = hidden[pos:pos + 16]
        out.append(_xor16(chunk, hashlib.md5(secret + last).digest()))
        last = chunk
    return b"".join(out).rstrip(b"\x00")


def hide_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """User-Password hiding (RFC 2865 §5.2), for clients: tests, the benchmark."""
    padded = password + bytes(-len(password) % 16 or (16 if not password else 0))
    out, last = [], authenticator
    for pos in range(0, len(padded), 16):
        last = _xor16(padded[pos:pos + 16], hashlib.md5(secret + last).digest())
        out.append(last)
    return b"".join(out)


def salt_encrypt(value: bytes, secret: bytes, request_authenticator: bytes, salt: int) -> bytes:
    """Salt-encrypt a key for an Access-Accept (RFC 2548 §2.4.2, as MS-MPPE-Send-Key and
    -Recv-Key need): Salt(2) ‖ C, where P = length ‖ value ‖ zeros to 16n octets,
    c1 = p1 ⊕ MD5(secret ‖ request authenticator ‖ salt), ci = pi ⊕ MD5(secret ‖ c(i-1)).
    `salt` must have its top bit set and differ from every other salt in the packet."""
    if not 0x8000 <= salt <= 0xFFFF:
        raise ValueError(f"salt {salt:#x} must have its most significant bit set")
    if len(value) > 239:  # one octet of length, padding to 16n, 2 of salt: 256 - 16 - 1
        raise ValueError("salt-encrypted value longer than 239 octets")
    plain = bytes((len(value),)) + value
    plain += bytes(-len(plain) % 16)
    salted = salt.to_bytes(2, "big")
    out, last = [], request_authenticator + salted
    for pos in range(0, len(plain), 16):
        last = _xor16(plain[pos:pos + 16], hashlib.md5(secret + last).digest())
        out.append(last)
    return salted + b"".join(out)


def salt_decrypt(data: bytes, secret: bytes, request_authenticator: bytes) -> bytes:
    """Undo `salt_encrypt` (the chain runs on the ciphertext blocks, not the plaintext)."""
    if len(data) < 18 or (len(data) - 2) % 16 or not data[0] & 0x80:
        raise MalformedPacket(f"salt-encrypted value of {len(data)} octets")
    out, last = [], request_authenticator + data[:2]
    for pos in range(2, len(data), 16):
        chunk = data[pos:pos + 16]
        out.append(_xor16(chunk, hashlib.md5(secret + last).digest()))
        last = chunk
    plain = b"".join(out)
    if plain[0] > len(plain) - 1:
        raise MalformedPacket("salt-encrypted value shorter than its length octet says")
    return plain[1:1 + plain[0]]
