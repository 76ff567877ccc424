"""The RouterOS API wire format, written from docs/protocols.md §1.2-§1.4 (not from any client).

A word is a length prefix (1-5 bytes, big-endian, the high bits of the first byte say how
many) followed by that many bytes; a sentence is words ended by a zero-length word.
"""

from __future__ import annotations

import socket


class WireError(Exception):
    """The peer sent something that is not the RouterOS API (or closed mid-sentence)."""


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return (n | 0x8000).to_bytes(2, "big")
    if n < 0x200000:
        return (n | 0xC00000).to_bytes(3, "big")
    if n < 0x10000000:
        return (n | 0xE0000000).to_bytes(4, "big")
    return b"\xf0" + n.to_bytes(4, "big")


def encode_word(word: str | bytes) -> bytes:
    data = word.encode("utf-8") if isinstance(word, str) else word
    return encode_length(len(data)) + data


def encode_sentence(words: list[str]) -> bytes:
    return b"".join(encode_word(w) for w in words) + b"\x00"


class Reader:
    """Reads sentences from a socket, byte-exact."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buffer += chunk
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def _length(self) -> int:
        first = self._take(1)[0]
        if first & 0x80 == 0x00:
            return first
        if first & 0xC0 == 0x80:
            return ((first & 0x3F) << 8) | self._take(1)[0]
        if first & 0xE0 == 0xC0:
            return ((first & 0x1F) << 16) | int.from_bytes(self._take(2), "big")
        if first & 0xF0 == 0xE0:
            return ((first & 0x0F) << 24) | int.from_bytes(self._take(3), "big")
        if first & 0xF8 == 0xF0:
            return int.from_bytes(self._take(4), "big")
        raise WireError(f"reserved control byte {first:#x}")

    def sentence(self) -> list[str]:
        """The next non-empty sentence (empty sentences are ignored, as the router does)."""
        while True:
            words = []
            while True:
                n = self._length()
                if n == 0:
                    break
                try:
                    words.append(self._take(n).decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise WireError(f"word is not UTF-8: {exc}") from None
            if words:
                return words


def parse_command(words: list[str]) -> tuple[str, dict[str, str], list[str], dict[str, str]]:
    """(command, attributes, query words, API attributes) of a request sentence."""
    command, attrs, queries, api = words[0], {}, [], {}
    for word in words[1:]:
        if word.startswith("="):
            key, _, value = word[1:].partition("=")
            attrs[key] = value
        elif word.startswith("?"):
            queries.append(word[1:])
        elif word.startswith("."):
            key, _, value = word[1:].partition("=")
            api[key] = value
        else:
            raise WireError(f"unexpected word {word!r}")
    return command, attrs, queries, api
