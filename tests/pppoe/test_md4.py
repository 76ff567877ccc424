"""The in-tree MD4 gives RFC 1320's own answers, and handles the padding edges."""

from __future__ import annotations

import pytest

from hotspotd.pppoe.md4 import md4

# RFC 1320, appendix A.5 ("test suite"): all seven.
RFC1320 = [
    (b"", "31d6cfe0d16ae931b73c59d7e0c089c0"),
    (b"a", "bde52cb31de33e46245e05fbdbd6fb24"),
    (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
    (b"message digest", "d9130a8164549fe818874806e1c7014b"),
    (b"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
    (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"),
    (b"1234567890" * 8, "e33b4ddc9c38f2199c3e7b164fcc0536"),
]

# Lengths where the padding changes shape (55: length fits in the block, 56: it spills into
# a second one, 64: a whole block of data), and a long input; digests from OpenSSL 3's
# legacy provider (`openssl dgst -md4 -provider legacy`).
EDGES = [
    (b"x" * 55, "92f32bb82c95ad10e8f87ae58ab06807"),
    (b"x" * 56, "374d5f08103b7092c83b4626ebceffab"),
    (b"x" * 64, "b1abf956a5ae6f3221e5fe85e300fbb0"),
    (b"y" * 1000, "d239e9d704746dee6e41ce047223dda6"),
]


@pytest.mark.parametrize("message, digest", RFC1320)
def test_rfc1320_test_suite(message, digest):
    assert md4(message).hex() == digest


@pytest.mark.parametrize("message, digest", EDGES)
def test_padding_edges_agree_with_openssl(message, digest):
    assert md4(message).hex() == digest
