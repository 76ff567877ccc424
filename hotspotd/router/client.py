"""The RouterOS API over librouteros: the one module that imports it.

What librouteros leaves to its caller, done here: UTF-8 (its default is ASCII, which
refuses a comment with a non-ASCII letter), calls consumed (they are lazy generators:
nothing is sent until iterated), the socket closed on every failure path, a connect
timeout (covering login) apart from the command timeout, `!empty` (7.18+) and `!done`
with words both understood, and its exceptions turned into the three of `api.py`.
After a timeout or a dropped connection the connection is unusable: it is marked
broken and the pool closes it.

librouteros reads a reply until `!done`, however long it is, and a word of whatever
length its prefix announces (up to 256 MB): a rogue or broken router could grow this
process without bound. Every reply is read within `Limits` (bytes per word and per
sentence, sentences and bytes per reply, seconds per reply); past one the reading stops,
the connection is closed and the caller gets `RouterReplyTooLarge`.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import librouteros
from librouteros.api import Api
from librouteros.exceptions import (ConnectionClosed, FatalError, LibRouterosError, MultiTrapError, ProtocolError,
                                    TrapError)
from librouteros.protocol import ApiProtocol, decode_length, determine_length

from .api import Item, RouterCommandRefused, RouterLoginRefused, RouterReplyTooLarge, RouterUnreachable, Target, text

log = logging.getLogger(__name__)


def _tls_wrapper(target: Target, timeout: float):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # trust comes from the pinned fingerprint, when given
    if not target.fingerprint:
        # a router without a certificate offers anonymous DH only (docs/protocols.md §1.1)
        context.set_ciphers("DEFAULT:ADH:@SECLEVEL=0")

    def wrap(sock: socket.socket) -> socket.socket:
        wrapped = context.wrap_socket(sock)
        if target.fingerprint:
            cert = wrapped.getpeercert(binary_form=True) or b""
            seen = hashlib.sha256(cert).hexdigest()
            if seen != target.fingerprint.replace(":", "").lower():
                wrapped.close()
                raise RouterLoginRefused(f"{target.name}: certificate fingerprint {seen} is not the pinned one")
        return wrapped

    return wrap


@dataclass(frozen=True)
class Limits:
    """The most one reply may hold. Generous for a real router: a print of 10,000 hotspot
    users is about 3 MB in 10,000 sentences; a login page's `contents` a few kB."""

    word_bytes: int = 64 * 1024
    sentence_bytes: int = 256 * 1024
    sentence_words: int = 1000
    reply_sentences: int = 50_000
    reply_bytes: int = 8 * 1024 * 1024
    reply_seconds: float = 120.0  # a router dripping a reply byte by byte never trips the socket timeout


class _Oversized(ProtocolError):
    """A reply past one of the Limits (raised while reading, before the bytes are taken)."""


class _BoundedProtocol(ApiProtocol):
    """librouteros's protocol with every reply read within `Limits`."""

    def __init__(self, transport: Any, encoding: str, limits: Limits) -> None:
        super().__init__(transport, encoding)
        self.limits = limits
        self._begin()

    def _begin(self) -> None:
        self._sentences = self._reply_bytes = 0
        self._deadline = time.monotonic() + self.limits.reply_seconds

    def writeSentence(self, cmd: str, *words: str) -> None:  # noqa: N802 (librouteros's name)
        self._begin()  # each command is answered by one reply
        super().writeSentence(cmd, *words)

    def readSentence(self) -> tuple[str, tuple[str, ...]]:  # noqa: N802
        limits = self.limits
        while True:
            self._sentences += 1
            if self._sentences > limits.reply_sentences:
                raise _Oversized(f"the reply ran past {limits.reply_sentences} sentences")
            self._sentence_bytes, words = 0, []
            while (word := self.readWord()) != "":
                words.append(word)
                if len(words) > limits.sentence_words:
                    raise _Oversized(f"a reply sentence ran past {limits.sentence_words} words")
            if words:  # an empty sentence is ignored (docs/protocols.md §1.3)
                break
        if words[0] == "!fatal":
            self.transport.close()
            raise FatalError(words[1] if len(words) > 1 else "")
        return words[0], tuple(words[1:])

    def readWord(self) -> str:  # noqa: N802
        first = self.transport.read(1)
        if first == b"\x00":
            return ""
        length = decode_length(first + self.transport.read(determine_length(first)))
        limits = self.limits
        if length > limits.word_bytes:
            raise _Oversized(f"a reply word announced {length} bytes (at most {limits.word_bytes})")
        self._sentence_bytes += length
        self._reply_bytes += length
        if self._sentence_bytes > limits.sentence_bytes:
            raise _Oversized(f"a reply sentence ran past {limits.sentence_bytes} bytes")
        if self._reply_bytes > limits.reply_bytes:
            raise _Oversized(f"the reply ran past {limits.reply_bytes} bytes")
        if time.monotonic() > self._deadline:
            raise _Oversized(f"the reply took longer than {limits.reply_seconds:.0f} s")
        return self.transport.read(length).decode(self.encoding, errors="ignore")


class _BoundedApi(Api):
    def __init__(self, protocol: ApiProtocol, limits: Limits) -> None:
        super().__init__(_BoundedProtocol(protocol.transport, protocol.encoding, limits))


def connect(target: Target, *, connect_timeout: float, timeout: float, limits: Limits = Limits()) -> LibrouterosApi:
    """Open and log in; RouterUnreachable or RouterLoginRefused on failure (socket closed)."""
    kwargs: dict[str, Any] = {"port": target.port, "timeout": connect_timeout, "encoding": "utf-8",
                              "subclass": partial(_BoundedApi, limits=limits)}
    if target.tls:
        kwargs["ssl_wrapper"] = _tls_wrapper(target, connect_timeout)
    try:
        api = librouteros.connect(target.host, target.user, target.password, **kwargs)
    except TrapError as exc:
        raise RouterLoginRefused(f"{target.name} refused the API login: {exc.message}") from None
    except (OSError, LibRouterosError, ssl.SSLError) as exc:
        raise RouterUnreachable(f"{target.name} ({target.host}:{target.port}) unreachable: {_reason(exc)}") from None
    # librouteros >= 4.1 closes the transport when login fails; nothing else to release here.
    try:
        api.protocol.transport.sock.settimeout(timeout)
    except (AttributeError, OSError):
        pass
    return LibrouterosApi(api, target)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "no answer in time"
    return str(exc) or type(exc).__name__


class LibrouterosApi:
    """`RouterApi` over one librouteros connection."""

    def __init__(self, api: librouteros.api.Api, target: Target) -> None:
        self._api = api
        self.target = target
        self.broken = False

    def _run(self, command: str, words: list[str]) -> list[Item]:
        if self.broken:
            raise RouterUnreachable(f"{self.target.name}: connection already failed")
        try:
            rows = list(self._api.rawCmd(command, *words))  # lazy: consuming it sends and reads
        except _Oversized as exc:
            self.broken = True  # the rest of the reply is still coming: this connection is done
            raise RouterReplyTooLarge(f"{self.target.name}: {command}: {exc}; stopped reading and closed the "
                                      "connection (a broken or hostile router?)") from None
        except TrapError as exc:
            raise RouterCommandRefused(command, exc.message, exc.category) from None
        except MultiTrapError as exc:
            first = exc.traps[0] if exc.traps else None
            raise RouterCommandRefused(command, str(exc), first.category if first else None) from None
        except (OSError, ConnectionClosed, FatalError, LibRouterosError, ValueError, TypeError) as exc:
            # a timeout or a drop leaves the stream mid-sentence: this connection is done
            self.broken = True
            raise RouterUnreachable(f"{self.target.name}: {command} failed: {_reason(exc)}") from None
        return [{key: text(value) for key, value in row.items()} for row in rows]

    def print(self, path: str, *, where: dict[str, str] | None = None,
              proplist: tuple[str, ...] | None = None) -> list[Item]:
        words = [f"=.proplist={','.join(proplist)}"] if proplist else []
        words += [f"?{key}={text(value)}" for key, value in (where or {}).items()]
        rows = self._run(f"{path}/print", words)
        return [row for row in rows if "ret" not in row or len(row) > 1]

    def add(self, path: str, values: dict[str, str]) -> str:
        rows = self._run(f"{path}/add", [f"={k}={text(v)}" for k, v in values.items()])
        return next((row["ret"] for row in rows if "ret" in row), "")

    def set(self, path: str, item_id: str | None, values: dict[str, str]) -> None:
        words = [f"=.id={item_id}"] if item_id is not None else []
        self._run(f"{path}/set", words + [f"={k}={text(v)}" for k, v in values.items()])

    def remove(self, path: str, *ids: str) -> None:
        if ids:
            self._run(f"{path}/remove", [f"=.id={','.join(ids)}"])

    def call(self, path: str, command: str, args: dict[str, str]) -> list[Item]:
        return self._run(f"{path}/{command}", [f"={k}={text(v)}" for k, v in args.items()])

    def close(self) -> None:
        try:
            self._api.close()
        except Exception:  # closing a broken socket must not hide the error that broke it
            log.debug("closing the API connection to %s failed", self.target.name, exc_info=True)
