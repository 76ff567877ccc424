"""MD4 (RFC 1320), in tree because MS-CHAP needs it and OpenSSL 3 hides it.

`hashlib.new("md4")` works only when OpenSSL's legacy provider is loaded, which depends on the
machine's OpenSSL configuration; MS-CHAPv2 hashes short passwords and 16-octet hashes, so a
plain Python MD4 is fast enough and always there. Not for anything but MS-CHAP: MD4 is broken.
"""

from __future__ import annotations

import struct

_MASK = 0xFFFFFFFF

# Round 2 and 3 constants (RFC 1320 §3.4): the square roots of 2 and 3, as 32-bit words.
_ROUND2 = 0x5A827999
_ROUND3 = 0x6ED9EBA1

# Word order and shifts of each round's 16 steps.
_ORDER1 = tuple(range(16))
_ORDER2 = (0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15)
_ORDER3 = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)
_SHIFTS1 = (3, 7, 11, 19)
_SHIFTS2 = (3, 5, 9, 13)
_SHIFTS3 = (3, 9, 11, 15)


def _rotl(value: int, shift: int) -> int:
    value &= _MASK
    return ((value << shift) | (value >> (32 - shift))) & _MASK


def _block(state: tuple[int, int, int, int], block: bytes) -> tuple[int, int, int, int]:
    x = struct.unpack("<16I", block)
    a, b, c, d = state
    for i, k in enumerate(_ORDER1):
        a = _rotl(a + ((b & c) | (~b & d)) + x[k], _SHIFTS1[i % 4])
        a, b, c, d = d, a, b, c
    for i, k in enumerate(_ORDER2):
        a = _rotl(a + ((b & c) | (b & d) | (c & d)) + x[k] + _ROUND2, _SHIFTS2[i % 4])
        a, b, c, d = d, a, b, c
    for i, k in enumerate(_ORDER3):
        a = _rotl(a + (b ^ c ^ d) + x[k] + _ROUND3, _SHIFTS3[i % 4])
        a, b, c, d = d, a, b, c
    return ((state[0] + a) & _MASK, (state[1] + b) & _MASK, (state[2] + c) & _MASK, (state[3] + d) & _MASK)


def md4(data: bytes) -> bytes:
    """The 16-octet MD4 digest of `data` (RFC 1320)."""
    # Padding (§3.1, §3.2): a 1 bit, zeros to 56 mod 64 octets, then the bit length, little-endian.
    padded = data + b"\x80" + bytes((55 - len(data)) % 64) + struct.pack("<Q", (len(data) * 8) & (2**64 - 1))
    state = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)
    for pos in range(0, len(padded), 64):
        state = _block(state, padded[pos:pos + 64])
    return struct.pack("<4I", *state)
