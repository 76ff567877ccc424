"""A second, independent RouterOS API client for the contract test, written from
docs/protocols.md §1.2-§1.5 in a few lines: it proves the simulator speaks the protocol, not
just whatever librouteros happens to accept. It also exposes the raw reply words."""

from __future__ import annotations

import socket

from hotspotd.router.api import RouterCommandRefused, RouterLoginRefused, RouterUnreachable, Target


def length(n: int) -> bytes:
    for limit, size, flag in ((0x80, 1, 0), (0x4000, 2, 0x8000), (0x200000, 3, 0xC00000), (0x10000000, 4, 0xE0000000)):
        if n < limit:
            return (n | flag).to_bytes(size, "big")
    return b"\xf0" + n.to_bytes(4, "big")


class WireClient:
    def __init__(self, target: Target, *, timeout: float = 3.0) -> None:
        self.target = target
        try:
            self.sock = socket.create_connection((target.host, target.port), timeout=timeout)
        except OSError as exc:
            raise RouterUnreachable(str(exc)) from None
        self.buf = b""
        try:
            replies = self.talk(["/login", f"=name={target.user}", f"=password={target.password}"])
        except (OSError, EOFError) as exc:
            self.close()
            raise RouterUnreachable(str(exc)) from None
        traps = [r for r in replies if r[0] == "!trap"]
        if traps:
            self.close()
            raise RouterLoginRefused(traps[0][1])

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _word_length(self) -> int:
        b = self._read(1)[0]
        if b < 0x80:
            return b
        if b < 0xC0:
            return ((b & 0x3F) << 8) + self._read(1)[0]
        if b < 0xE0:
            return ((b & 0x1F) << 16) + int.from_bytes(self._read(2), "big")
        if b < 0xF0:
            return ((b & 0x0F) << 24) + int.from_bytes(self._read(3), "big")
        return int.from_bytes(self._read(4), "big")

    def sentence(self) -> list[str]:
        words = []
        while (n := self._word_length()) != 0:
            words.append(self._read(n).decode())
        return words

    def talk(self, words: list[str]) -> list[list[str]]:
        """Send one sentence; every reply sentence up to and including !done."""
        self.sock.sendall(b"".join(length(len(w.encode())) + w.encode() for w in words) + b"\x00")
        replies = []
        while True:
            reply = self.sentence()
            replies.append(reply)
            if reply[0] in ("!done", "!fatal"):
                return replies

    def _run(self, words: list[str]) -> list[dict[str, str]]:
        try:
            replies = self.talk(words)
        except (OSError, EOFError) as exc:
            raise RouterUnreachable(str(exc)) from None
        for reply in replies:
            if reply[0] == "!trap":
                fields = dict(w[1:].split("=", 1) for w in reply[1:])
                raise RouterCommandRefused(words[0], fields["message"])
        return [dict(w[1:].split("=", 1) for w in r[1:]) for r in replies if r[0] in ("!re", "!done") and r[1:]]

    def print(self, path, *, where=None, proplist=None):
        words = [f"{path}/print"] + ([f"=.proplist={','.join(proplist)}"] if proplist else [])
        rows = self._run(words + [f"?{k}={v}" for k, v in (where or {}).items()])
        return [r for r in rows if "ret" not in r]

    def add(self, path, values):
        rows = self._run([f"{path}/add"] + [f"={k}={v}" for k, v in values.items()])
        return rows[0]["ret"]

    def set(self, path, item_id, values):
        self._run([f"{path}/set"] + ([f"=.id={item_id}"] if item_id else []) + [f"={k}={v}" for k, v in values.items()])

    def remove(self, path, *ids):
        self._run([f"{path}/remove", f"=.id={','.join(ids)}"])

    def call(self, path, command, args):
        return self._run([f"{path}/{command}"] + [f"={k}={v}" for k, v in args.items()])

    def close(self):
        self.sock.close()
