"""The sync protocol's wire rules, shared by the box and the receiver (docs/sync.md).

Signing covers a short preamble (method, path, site, timestamp, nonce) and then the exact
body bytes as sent, so neither the headers nor a single body byte can change unnoticed.
The receiver signs its configuration answer the same way, over the request's nonce and
the answer's exact bytes, so the box takes neither an altered answer nor an old one
replayed. Everything here is pure: bytes and numbers in, bytes and numbers out.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import secrets
import zlib
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import HotspotdError, InvalidInput

PROTOCOL = 1
EVENTS_PATH = "/api/sync/v1/events"
CONFIG_PATH = "/api/sync/v1/config"

SITE_HEADER = "X-Hotspotd-Site"
TIMESTAMP_HEADER = "X-Hotspotd-Timestamp"
NONCE_HEADER = "X-Hotspotd-Nonce"
SIGNATURE_HEADER = "X-Hotspotd-Signature"

MAX_BODY = 16 * 1024 * 1024  # gzip bytes on the wire
MAX_JSON = 64 * 1024 * 1024  # after gunzip: a gzip bomb stops here
BATCH_EVENTS = 1000  # events per push
CONFIG_CHANGES = 500  # changes per pull

# Event data fields that never leave the box, whatever an event carries.
WITHHELD = frozenset({"password", "secret", "api_password", "site_key", "passkey", "consumer_secret", "key",
                      "initiator_password", "api_key"})


class SignatureRefused(HotspotdError):
    """A request whose signature, site, timestamp or nonce cannot be accepted; `status`
    is the HTTP answer (401, 403 for an unknown site, 409 for a replay)."""

    def __init__(self, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def message(method: str, path: str, site: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """What the signature covers: the preamble, then the body bytes exactly as sent."""
    preamble = f"hotspotd-sync/{PROTOCOL}\n{method.upper()}\n{path}\n{site}\n{timestamp}\n{nonce}\n"
    return preamble.encode("utf-8") + body


def signature(key: str, method: str, path: str, site: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(key.encode("utf-8"), message(method, path, site, timestamp, nonce, body),
                    hashlib.sha256).hexdigest()


def signed_headers(key: str, site: str, method: str, path: str, body: bytes, now: float) -> dict[str, str]:
    """The four headers of a request from `site` (a fresh nonce each call)."""
    timestamp, nonce = str(int(now)), secrets.token_hex(16)
    return {SITE_HEADER: site, TIMESTAMP_HEADER: timestamp, NONCE_HEADER: nonce,
            SIGNATURE_HEADER: signature(key, method, path, site, timestamp, nonce, body)}


def answer_message(method: str, path: str, site: str, nonce: str, body: bytes) -> bytes:
    """What an answer's signature covers: the request it answers (its nonce: an answer to
    another request does not fit this one), then the answer's body bytes exactly as sent.
    The second line, ANSWER, is never a request's method: no request signature is an answer's."""
    preamble = f"hotspotd-sync/{PROTOCOL}\nANSWER\n{method.upper()}\n{path}\n{site}\n{nonce}\n"
    return preamble.encode("utf-8") + body


def answer_signature(key: str, method: str, path: str, site: str, nonce: str, body: bytes) -> str:
    return hmac.new(key.encode("utf-8"), answer_message(method, path, site, nonce, body), hashlib.sha256).hexdigest()


def answer_signed(key: str, method: str, path: str, site: str, nonce: str, body: bytes, given: str | None) -> bool:
    """Whether `given` (the answer's X-Hotspotd-Signature) is `key`'s signature of this
    answer to the request with `nonce` (compared in constant time)."""
    if not given:
        return False
    expected = answer_signature(key, method, path, site, nonce, body)
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode("ascii", "replace"))


@dataclass(frozen=True)
class SignedAnswer:
    """An answer's exact bytes (JSON) and the signature that goes with them."""

    body: bytes
    signature: str


@dataclass(frozen=True)
class SignedRequest:
    """What the receiver reads off a request before it trusts anything in it."""

    method: str
    path: str  # with the query string, as sent
    site: str
    timestamp: str
    nonce: str
    signature: str
    body: bytes

    @classmethod
    def from_headers(cls, method: str, path: str, headers: Mapping[str, str], body: bytes) -> SignedRequest:
        values = [headers.get(name) or "" for name in (SITE_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)]
        if not all(values):
            raise SignatureRefused("unsigned request: the X-Hotspotd-Site, -Timestamp, -Nonce and -Signature "
                                   "headers are required")
        site, timestamp, nonce, sig = (v.strip() for v in values)
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise SignatureRefused("X-Hotspotd-Timestamp must be whole seconds since 1970")
        if len(nonce) > 64 or len(site) > 64 or len(sig) > 128:
            raise SignatureRefused("malformed signature headers")
        return cls(method.upper(), path, site, timestamp, nonce, sig.lower(), body)

    def verify(self, key: str, now: float, max_skew: float) -> None:
        """Raise SignatureRefused unless `key` signed this and its clock is close to `now`."""
        expected = signature(key, self.method, self.path, self.site, self.timestamp, self.nonce, self.body)
        if not hmac.compare_digest(expected, self.signature):
            raise SignatureRefused("bad signature: check [central] site_key")
        skew = int(self.timestamp) - now
        if abs(skew) > max_skew:
            raise SignatureRefused(f"timestamp is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the "
                                   f"receiver's clock (at most {max_skew:.0f} s allowed): check the box's clock")

    def sign_answer(self, key: str, value: dict[str, Any]) -> SignedAnswer:
        """`value` as the JSON bytes that answer this request, signed with `key`."""
        body = json.dumps(value, separators=(",", ":")).encode("utf-8")
        return SignedAnswer(body, answer_signature(key, self.method, self.path, self.site, self.nonce, body))


def encode(value: Any) -> bytes:
    """A JSON object, gzipped, as a push body."""
    return gzip.compress(json.dumps(value, separators=(",", ":")).encode("utf-8"), compresslevel=6, mtime=0)


def encode_raw(envelope: dict[str, Any], events_json: list[str]) -> bytes:
    """A push body from an envelope and events already in JSON text (no decode and
    re-encode of every event's data on the box)."""
    head = json.dumps(envelope, separators=(",", ":"))[:-1]
    text = head + ',"events":[' + ",".join(events_json) + "]}"
    return gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)


def decode(body: bytes) -> dict[str, Any]:
    """A push body back to its JSON object; refuses what is too large or not gzip JSON."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(body, MAX_JSON + 1)
    except zlib.error:
        raise InvalidInput("body must be gzip-compressed JSON") from None
    if len(raw) > MAX_JSON or inflater.unconsumed_tail:
        raise InvalidInput("batch too large once decompressed")
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput("body must be gzip-compressed JSON") from None
    if not isinstance(value, dict):
        raise InvalidInput("body must be a JSON object")
    return value
