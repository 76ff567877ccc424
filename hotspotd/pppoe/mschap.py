"""MS-CHAPv2 (RFC 2759) and its MPPE keys (RFC 3079), from the authenticator's side.

A PPPoE client proves it knows the password with an NT-Response; hotspotd holds the password
in clear (as it must for CHAP), so it recomputes the response, and when they match returns
what the Access-Accept carries: the authenticator response ("S=…", proving to the client that
the server knows the password too; MikroTik drops the session without it) and the two MPPE
keys. This module knows no RADIUS: `hotspotd.radius.microsoft` reads the attributes and
salt-encrypts the keys. PAP and CHAP for PPP are the hotspot's own checks
(`hotspotd.access.chap_ok`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from .md4 import md4

RESPONSE_LENGTH = 50  # MS-CHAP2-Response: Ident, Flags, Peer-Challenge(16), Reserved(8), NT-Response(24)
CHALLENGE_LENGTH = 16  # MS-CHAP-Challenge (the authenticator challenge) for version 2

# RFC 2759 §8.7 (GenerateAuthenticatorResponse) and RFC 3079 §3.4 (GetMasterKey, GetAsymmetricStartKey).
_SIGNING_MAGIC = b"Magic server to client signing constant"
_PAD_MAGIC = b"Pad to make it do more than one iteration"
_MASTER_MAGIC = b"This is the MPPE Master Key"
_CLIENT_SEND_MAGIC = b"On the client side, this is the send key; on the server side, it is the receive key."
_CLIENT_RECV_MAGIC = b"On the client side, this is the receive key; on the server side, it is the send key."
_SHS_PAD1 = bytes(40)
_SHS_PAD2 = b"\xf2" * 40

# RFC 2759 §6 failure codes.
AUTHENTICATION_FAILURE = 691
RESTRICTED_LOGON_HOURS = 646
ACCOUNT_DISABLED = 647
PASSWORD_EXPIRED = 648
NO_DIALIN_PERMISSION = 649


@dataclass(frozen=True, slots=True)
class MsChap2Response:
    """The 50 octets of an MS-CHAP2-Response, split into their fields (RFC 2548 §2.3.2)."""

    ident: int
    flags: int
    peer_challenge: bytes
    nt_response: bytes

    @classmethod
    def parse(cls, value: bytes) -> MsChap2Response:
        """Split `value`; ValueError when it is not 50 octets long."""
        if len(value) != RESPONSE_LENGTH:
            raise ValueError(f"MS-CHAP2-Response of {len(value)} octets, not {RESPONSE_LENGTH}")
        # Octets 18..25 are reserved (zero); like FreeRADIUS, they are not checked.
        return cls(value[0], value[1], value[2:18], value[26:50])


@dataclass(frozen=True, slots=True)
class MsChap2Result:
    """A verified MS-CHAPv2 response: what the Access-Accept carries.

    `success` is the MS-CHAP2-Success value (the response's Ident, then "S=" and 40 upper-case
    hex digits); `send_key` and `recv_key` are the server's 16-octet MPPE start keys, in clear
    (MS-MPPE-Send-Key and MS-MPPE-Recv-Key before RFC 2548 salt encryption).
    """

    ident: int
    authenticator_response: str
    send_key: bytes
    recv_key: bytes

    @property
    def success(self) -> bytes:
        return bytes((self.ident,)) + self.authenticator_response.encode("ascii")


def strip_domain(user_name: str) -> str:
    """The name the client hashed: everything up to and including the first backslash removed
    ("EXAMPLE\\john" → "john"), as Windows clients send DOMAIN\\user and FreeRADIUS's
    `with_ntdomain_hack` (on by default) strips it."""
    return user_name.partition("\\")[2] if "\\" in user_name else user_name


# A RADIUS role checks the same subscribers' passwords over and over: their MD4 (pure Python
# here) is most of a verification, so the last few thousand are kept. The view holds the
# passwords themselves in memory already.
@lru_cache(maxsize=4096)
def nt_password_hash(password: str) -> bytes:
    """NtPasswordHash (RFC 2759 §8.3): MD4 of the password in UTF-16LE, with no terminator.

    Characters outside the Basic Multilingual Plane become surrogate pairs here and may be
    encoded differently by a client; keep PPP passwords to printable ASCII.
    """
    return md4(password.encode("utf-16-le"))


def challenge_hash(peer_challenge: bytes, authenticator_challenge: bytes, user_name: str) -> bytes:
    """ChallengeHash (RFC 2759 §8.2): the 8-octet challenge both sides feed to DES."""
    return hashlib.sha1(peer_challenge + authenticator_challenge + user_name.encode("utf-8")).digest()[:8]


def _des_key(seven: bytes) -> bytes:
    """Spread 56 key bits over 8 octets, 7 bits each in the high bits; DES ignores the low
    (parity) bit, so it is left zero (RFC 2759 §8.6 sets parity, with the same result)."""
    bits = int.from_bytes(seven, "big")
    return bytes(((bits >> (49 - 7 * i)) & 0x7F) << 1 for i in range(8))


def _des(seven: bytes, block: bytes) -> bytes:
    # Single DES is three-key Triple DES with the same key three times (EDE collapses to E);
    # cryptography deprecates 8-octet TripleDES keys but not this spelling of them.
    key = _des_key(seven)
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def challenge_response(challenge: bytes, password_hash: bytes) -> bytes:
    """ChallengeResponse (RFC 2759 §8.5): the 24-octet NT-Response for an 8-octet challenge."""
    key = password_hash + bytes(5)
    return _des(key[0:7], challenge) + _des(key[7:14], challenge) + _des(key[14:21], challenge)


@lru_cache(maxsize=4096)
def _hash_hash(password_hash: bytes) -> bytes:
    """HashNtPasswordHash (RFC 2759 §8.4)."""
    return md4(password_hash)


def authenticator_response(password_hash: bytes, nt_response: bytes, challenge: bytes) -> str:
    """GenerateAuthenticatorResponse (RFC 2759 §8.7): "S=" and 40 upper-case hex digits."""
    digest = hashlib.sha1(_hash_hash(password_hash) + nt_response + _SIGNING_MAGIC).digest()
    return "S=" + hashlib.sha1(digest + challenge + _PAD_MAGIC).hexdigest().upper()


def master_key(password_hash: bytes, nt_response: bytes) -> bytes:
    """GetMasterKey (RFC 3079 §3.4): 16 octets from the password hash's hash and the NT-Response."""
    return hashlib.sha1(_hash_hash(password_hash) + nt_response + _MASTER_MAGIC).digest()[:16]


def server_keys(master: bytes) -> tuple[bytes, bytes]:
    """(send key, receive key) of the server, 16 octets each (RFC 3079 §3.4, 128-bit keys).

    The server's send key is the client's receive key, so it is derived with the magic that
    says "on the server side, it is the send key" (FreeRADIUS: GetAsymmetricStartKey with
    IsSend=1 on the server)."""
    def start_key(magic: bytes) -> bytes:
        return hashlib.sha1(master + _SHS_PAD1 + magic + _SHS_PAD2).digest()[:16]
    return start_key(_CLIENT_RECV_MAGIC), start_key(_CLIENT_SEND_MAGIC)


def verify_mschap2(user_name: str, password: str, challenge: bytes, response: bytes) -> MsChap2Result | None:
    """Check an MS-CHAP2-Response against the cleartext `password`.

    `user_name` is the Access-Request's User-Name (a "DOMAIN\\" prefix is stripped),
    `challenge` the 16-octet MS-CHAP-Challenge and `response` the 50-octet MS-CHAP2-Response.
    Returns the result to send back, or None when the password does not match. Raises
    ValueError when the challenge or response has the wrong length (a malformed request,
    not a wrong password).
    """
    if len(challenge) != CHALLENGE_LENGTH:
        raise ValueError(f"MS-CHAP-Challenge of {len(challenge)} octets, not {CHALLENGE_LENGTH}")
    parsed = MsChap2Response.parse(response)
    password_hash = nt_password_hash(password)
    challenge8 = challenge_hash(parsed.peer_challenge, challenge, strip_domain(user_name))
    expected = challenge_response(challenge8, password_hash)
    if not hmac.compare_digest(expected, parsed.nt_response):
        return None
    send_key, recv_key = server_keys(master_key(password_hash, parsed.nt_response))
    return MsChap2Result(parsed.ident, authenticator_response(password_hash, parsed.nt_response, challenge8),
                         send_key, recv_key)


def error_value(ident: int, code: int = AUTHENTICATION_FAILURE, message: str = "Authentication failed",
                new_challenge: bytes | None = None) -> bytes:
    """The MS-CHAP-Error value of a reject: the response's Ident, then the RFC 2759 §6 failure
    string "E=691 R=0 C=<32 hex> V=3 M=<message>". R=0: the client may not retry with the same
    session (MikroTik redials instead); C is a fresh challenge the format requires anyway."""
    challenge = os.urandom(CHALLENGE_LENGTH) if new_challenge is None else new_challenge
    if len(challenge) != CHALLENGE_LENGTH:
        raise ValueError("the new challenge must be 16 octets")
    text = f"E={code} R=0 C={challenge.hex().upper()} V=3 M={message}"
    return bytes((ident & 0xFF,)) + text.encode("utf-8")
