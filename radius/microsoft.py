"""Microsoft vendor attributes (Vendor-Id 311, RFC 2548): MS-CHAPv2 logins over RADIUS.

A PPPoE server (MikroTik's default for PPP) sends MS-CHAP-Challenge and MS-CHAP2-Response;
`mschap2_credentials` reads them from a decoded Access-Request. The check itself is
`hotspotd.pppoe.mschap.verify_mschap2`, which knows no RADIUS. Its result becomes the
Accept's MS-CHAP2-Success and salt-encrypted MS-MPPE-Send-Key/Recv-Key
(`success_attributes`); a wrong password gets an MS-CHAP-Error (`error_attribute`). Both
carry the Ident of the client's response, as the client matches them on it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from hotspotd.pppoe.mschap import (AUTHENTICATION_FAILURE, CHALLENGE_LENGTH, RESPONSE_LENGTH, MsChap2Result,
                                   error_value)

from . import packet as rp

MICROSOFT = rp.vendor_of("MS-CHAP2-Success")
MS_CHAP_RESPONSE = rp.code_of("MS-CHAP-Response")
MS_CHAP_ERROR = rp.code_of("MS-CHAP-Error")
MS_MPPE_ENCRYPTION_POLICY = rp.code_of("MS-MPPE-Encryption-Policy")
MS_MPPE_ENCRYPTION_TYPES = rp.code_of("MS-MPPE-Encryption-Types")
MS_CHAP_CHALLENGE = rp.code_of("MS-CHAP-Challenge")
MS_MPPE_SEND_KEY = rp.code_of("MS-MPPE-Send-Key")
MS_MPPE_RECV_KEY = rp.code_of("MS-MPPE-Recv-Key")
MS_CHAP2_RESPONSE = rp.code_of("MS-CHAP2-Response")
MS_CHAP2_SUCCESS = rp.code_of("MS-CHAP2-Success")

ENCRYPTION_ALLOWED, ENCRYPTION_REQUIRED = 1, 2  # MS-MPPE-Encryption-Policy
TYPES_40_BIT, TYPES_128_BIT = 0x02, 0x04  # MS-MPPE-Encryption-Types bits


@dataclass(frozen=True, slots=True)
class MsChap2Credentials:
    """What an MS-CHAPv2 Access-Request proves with: the 16-octet authenticator challenge and
    the 50-octet response, as `verify_mschap2` takes them."""

    challenge: bytes
    response: bytes

    @property
    def ident(self) -> int:
        """The Ident that MS-CHAP2-Success or MS-CHAP-Error must carry back."""
        return self.response[0]


def mschap2_credentials(packet: rp.Packet) -> MsChap2Credentials | None:
    """The MS-CHAPv2 credentials of an Access-Request; None when it has no MS-CHAP2-Response
    (PAP, CHAP, or MS-CHAPv1, which hotspotd does not accept). MalformedPacket when the
    challenge is missing or either value has the wrong length."""
    found = packet.vendor_attrs()
    response = found.get((MICROSOFT, MS_CHAP2_RESPONSE))
    if response is None:
        return None
    challenge = found.get((MICROSOFT, MS_CHAP_CHALLENGE))
    if challenge is None:
        raise rp.MalformedPacket("MS-CHAP2-Response without MS-CHAP-Challenge")
    if len(challenge) != CHALLENGE_LENGTH or len(response) != RESPONSE_LENGTH:
        raise rp.MalformedPacket(f"MS-CHAP-Challenge of {len(challenge)} or MS-CHAP2-Response of "
                                 f"{len(response)} octets")
    return MsChap2Credentials(challenge, response)


def new_salts(count: int) -> list[int]:
    """`count` distinct random salts with the top bit set (RFC 2548 §2.4.2)."""
    salts: list[int] = []
    while len(salts) < count:
        salt = 0x8000 | secrets.randbits(15)
        if salt not in salts:
            salts.append(salt)
    return salts


def mppe_attributes(send_key: bytes, recv_key: bytes, secret: bytes, request_authenticator: bytes,
                    salts: tuple[int, int] | None = None) -> bytes:
    """MS-MPPE-Send-Key and MS-MPPE-Recv-Key, salt-encrypted for the Access-Request whose
    authenticator is given. `salts` (send, receive) for tests; random and distinct otherwise."""
    send_salt, recv_salt = salts or new_salts(2)
    if send_salt == recv_salt:
        raise ValueError("the salts of one packet must differ")
    return (rp.vsa(MICROSOFT, MS_MPPE_SEND_KEY, rp.salt_encrypt(send_key, secret, request_authenticator, send_salt))
            + rp.vsa(MICROSOFT, MS_MPPE_RECV_KEY, rp.salt_encrypt(recv_key, secret, request_authenticator, recv_salt)))


def success_attributes(result: MsChap2Result, secret: bytes, request_authenticator: bytes, *,
                       salts: tuple[int, int] | None = None, encryption_policy: int | None = None,
                       encryption_types: int | None = None) -> bytes:
    """The Access-Accept's MS-CHAPv2 attributes: MS-CHAP2-Success and the two MPPE keys.

    MS-MPPE-Encryption-Policy and -Types are added only when given: MikroTik turns encryption
    on when Types is non-zero, which a PPPoE link does not need (the keys go regardless)."""
    out = rp.vsa(MICROSOFT, MS_CHAP2_SUCCESS, result.success)
    out += mppe_attributes(result.send_key, result.recv_key, secret, request_authenticator, salts)
    if encryption_policy is not None:
        out += rp.vsa(MICROSOFT, MS_MPPE_ENCRYPTION_POLICY, encryption_policy.to_bytes(4, "big"))
    if encryption_types is not None:
        out += rp.vsa(MICROSOFT, MS_MPPE_ENCRYPTION_TYPES, encryption_types.to_bytes(4, "big"))
    return out


def error_attribute(ident: int, code: int = AUTHENTICATION_FAILURE, message: str = "Authentication failed") -> bytes:
    """The Access-Reject's MS-CHAP-Error: Ident, then "E=691 R=0 C=… V=3 M=…" (RFC 2759 §6)."""
    return rp.vsa(MICROSOFT, MS_CHAP_ERROR, error_value(ident, code, message))
