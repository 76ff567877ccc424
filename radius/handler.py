"""From datagrams to decisions and back: no sockets here, so tests and the fuzzer call it directly.

Validate first (known client, well-formed, authenticators), then ask the core:
`hotspotd.access.authorize` for Access-Requests, `hotspotd.sessions` for accounting.
Anything that fails validation is dropped, counted and logged at most once per interval.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import Counter
from datetime import datetime
from typing import Callable

from hotspotd.access import MAY_BE_STALE, TOO_MANY_DEVICES, AccessView, AuthRequest, Decision, authorize
from hotspotd.mac import normalize_mac
from hotspotd.pppoe.access import MAY_BE_STALE as PPP_MAY_BE_STALE, PppView, authorize_ppp
from hotspotd.router import RouterView
from hotspotd.sessions import HOTSPOT, PPPOE, AccountingRecord, AcctStatus

from . import packet as rp
from . import ppp

log = logging.getLogger(__name__)


class DropLog:
    """Counts dropped packets by reason, and logs them as a summary: at most one line per
    `interval` seconds however many arrive (2,000 garbage datagrams make one line, not 2,000)."""

    def __init__(self, interval: float = 10.0, clock=time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self.counts: Counter[str] = Counter()  # since start, by reason (published for /metrics)
        self._since_log: Counter[str] = Counter()
        self._last_log = -1e9
        self._last: tuple[str, str] = ("", "")  # (source, detail) of the latest drop

    def drop(self, reason: str, source: str, detail: str = "") -> None:
        self.counts[reason] += 1
        self._since_log[reason] += 1
        self._last = (source, detail[:120])
        self.flush_due()

    def flush_due(self) -> None:
        if self.clock() - self._last_log >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Log what was dropped since the last line (nothing when nothing was)."""
        if not self._since_log:
            return
        total = sum(self._since_log.values())
        reasons = ", ".join(f"{reason} {count}" for reason, count in self._since_log.most_common())
        source, detail = self._last
        log.warning("dropped %d RADIUS packet(s) since the last report: %s (latest from %s%s)",
                    total, reasons, source, f": {detail}" if detail else "")
        self._since_log.clear()
        self._last_log = self.clock()


STALE = object()  # see Handler.access
_STATUS_SERVER = bytes((rp.STATUS_SERVER,))


def _loopback(source: str) -> bool:
    try:
        return ipaddress.ip_address(source).is_loopback
    except ValueError:
        return False

_ACCT_STATUSES = frozenset(AcctStatus)
_SESSION_STATUSES = frozenset({AcctStatus.START, AcctStatus.STOP, AcctStatus.INTERIM_UPDATE})


def _proxy_states(packet: rp.Packet) -> bytes:
    if rp.PROXY_STATE not in packet.attrs:
        return b""
    return b"".join(rp.attr(t, v) for t, v in packet.pairs if t == rp.PROXY_STATE)


def reply_attributes(decision: Decision) -> bytes:
    """The reply attributes of a decision (Message-Authenticator is added when encoding)."""
    if not decision.accept:
        return rp.attr(rp.REPLY_MESSAGE, decision.message.encode())
    out = []
    if decision.session_timeout is not None:
        out.append(rp.integer(rp.SESSION_TIMEOUT, decision.session_timeout))
    if decision.idle_timeout is not None:
        out.append(rp.integer(rp.IDLE_TIMEOUT, decision.idle_timeout))
    if decision.interim_interval is not None:
        out.append(rp.integer(rp.ACCT_INTERIM_INTERVAL, decision.interim_interval))
    if decision.rate_limit:
        out.append(rp.vsa(rp.MIKROTIK, rp.MIKROTIK_RATE_LIMIT, decision.rate_limit.encode()))
    if decision.data_left is not None:
        left = max(0, decision.data_left)
        out.append(rp.vsa(rp.MIKROTIK, rp.MIKROTIK_TOTAL_LIMIT, (left & 0xFFFFFFFF).to_bytes(4, "big")))
        out.append(rp.vsa(rp.MIKROTIK, rp.MIKROTIK_TOTAL_LIMIT_GIGAWORDS, (left >> 32).to_bytes(4, "big")))
    return b"".join(out)


# Records a device taking one of an account's free slots at its first login: (customer,
# mac, devices allowed, now) -> taken. The RADIUS role's records it in the store (where two
# processes cannot both give away the last slot); tests may keep it in the view.
Binder = Callable[[int, str, int, datetime], bool]


class Handler:
    """Validates packets from the routers in `view` and answers them."""

    def __init__(self, view: AccessView, require_message_authenticator: bool = True,
                 drops: DropLog | None = None, *, status_secret: bytes | None = None,
                 status_sources: frozenset[str] = frozenset(), bind: Binder | None = None,
                 ppp_view: PppView | None = None) -> None:
        self.view = view
        self.bind = bind or self._bind_in_view
        self.ppp = ppp_view  # home subscribers over PPPoE (None: PPP requests get the hotspot's answer)
        self.require_message_authenticator = require_message_authenticator
        self.drops = drops or DropLog()
        self.decisions: Counter[str] = Counter()
        # `hotspotd doctor` asks from this box (loopback, or the address RADIUS listens on)
        # with the site's status secret; a router may ask with its own secret.
        self.status_secret = status_secret
        self.status_sources = status_sources

    def counts(self) -> list[tuple[str, str, float]]:
        """Decisions and drops by reason, for `hotspotd.plumbing.counters` (read from another thread,
        which also writes the drop summary a quiet spell would otherwise hold back)."""
        self.drops.flush_due()
        return ([("radius_decision", reason, n) for reason, n in dict(self.decisions).items()]
                + [("radius_drop", reason, n) for reason, n in dict(self.drops.counts).items()])

    def _client(self, source: str) -> RouterView | None:
        router = self.view.routers.get(source)
        if router is None:
            self.drops.drop("unknown client", source)
        return router

    def _decode(self, data: bytes, source: str, code: int) -> rp.Packet | None:
        try:
            packet = rp.decode(data)
        except rp.MalformedPacket as exc:
            self.drops.drop("malformed", source, str(exc))
            return None
        if packet.code != code:
            self.drops.drop("unexpected code", source, str(packet.code))
            return None
        return packet

    def access(self, data: bytes, source: str, now: datetime, *, fresh: bool = True) -> bytes | None | object:
        """Answer an Access-Request datagram; None means drop it.

        With `fresh=False` the view may be a moment behind the store: a reject that a
        newer view could turn into an accept (unknown user, expired, data used up: the
        customer may have paid a second ago) returns `STALE` instead, and the caller asks
        again after refreshing the view.
        """
        if data[:1] == _STATUS_SERVER:
            return self.status(data, source)
        router = self._client(source)
        if router is None:
            return None
        packet = self._decode(data, source, rp.ACCESS_REQUEST)
        if packet is None:
            return None
        secret = router.secret
        if packet.ma_offset >= 0:
            if not rp.message_authenticator_ok(packet, secret):
                self.drops.drop("wrong Message-Authenticator (check the shared secret)", source)
                return None
        else:
            required = router.require_message_authenticator
            if self.require_message_authenticator if required is None else required:
                self.drops.drop("Access-Request without Message-Authenticator", source)
                return None
        if self.ppp is not None and ppp.is_ppp(packet):
            return self._ppp(packet, router, now, fresh)
        try:
            request = self._auth_request(packet, secret)
        except (rp.MalformedPacket, UnicodeDecodeError) as exc:
            self.drops.drop("malformed", source, str(exc))
            return None
        if request is None:
            self.drops.drop("Access-Request without User-Name or password", source)
            return None
        decision = authorize(request, self.view, now)
        if not fresh and not decision.accept and decision.reason in MAY_BE_STALE:
            return STALE
        if decision.bind is not None and not self.bind(decision.bind[0], request.mac, decision.bind[1], now):
            decision = Decision(False, "too_many_devices", TOO_MANY_DEVICES)  # another process took the last slot
        self.decisions[decision.reason] += 1
        if not decision.accept:
            log.info("reject %r from %s: %s", request.username, router.name, decision.reason)
        code = rp.ACCESS_ACCEPT if decision.accept else rp.ACCESS_REJECT
        return rp.encode_reply(code, packet.ident, packet.authenticator, secret,
                               reply_attributes(decision) + _proxy_states(packet))

    def _bind_in_view(self, customer_id: int, mac: str, allowed: int, now: datetime) -> bool:
        self.view.bound(customer_id, mac)
        return True

    def _ppp(self, packet: rp.Packet, router: RouterView, now: datetime, fresh: bool) -> bytes | None | object:
        """A PPPoE server's Access-Request: `hotspotd.pppoe.access.authorize_ppp` decides."""
        try:
            request = ppp.ppp_request(packet, router.secret)
        except (rp.MalformedPacket, UnicodeDecodeError) as exc:
            self.drops.drop("malformed", router.nas_ip, str(exc))
            return None
        if request is None:
            self.drops.drop("Access-Request without User-Name or password", router.nas_ip)
            return None
        decision = authorize_ppp(request, self.ppp, now)
        if not fresh and decision.reason in PPP_MAY_BE_STALE:
            return STALE
        self.decisions["ok" if decision.accept else f"ppp_{decision.reason}"] += 1
        if decision.reason != "ok":
            log.info("PPP %s %r from %s: %s", "accept" if decision.accept else "reject", request.username,
                     router.name, decision.reason)
        code = rp.ACCESS_ACCEPT if decision.accept else rp.ACCESS_REJECT
        return rp.encode_reply(code, packet.ident, packet.authenticator, router.secret,
                               ppp.reply_attributes(decision, router.secret, packet.authenticator)
                               + _proxy_states(packet))

    def status(self, data: bytes, source: str) -> bytes | None:
        """Answer a Status-Server (RFC 5997) with an Access-Accept; it must carry a valid
        Message-Authenticator. From a router: its secret; from this box: the status secret."""
        router = self.view.routers.get(source)
        secrets = [router.secret] if router is not None else []
        if self.status_secret and (source in self.status_sources or _loopback(source)):
            secrets.append(self.status_secret)  # a router on this box's address still leaves doctor its own
        if not secrets:
            self.drops.drop("unknown client", source)
            return None
        packet = self._decode(data, source, rp.STATUS_SERVER)
        if packet is None:
            return None
        secret = next((s for s in secrets if rp.message_authenticator_ok(packet, s)), None)
        if secret is None:
            self.drops.drop("Status-Server without a valid Message-Authenticator", source)
            return None
        self.decisions["status"] += 1
        return rp.encode_reply(rp.ACCESS_ACCEPT, packet.ident, packet.authenticator, secret, _proxy_states(packet))

    @staticmethod
    def _auth_request(packet: rp.Packet, secret: bytes) -> AuthRequest | None:
        attrs = packet.attrs
        name = attrs.get(rp.USER_NAME)
        if name is None:
            return None
        mac = normalize_mac(packet.text(rp.CALLING_STATION_ID))
        username = name.decode("utf-8")
        chap = attrs.get(rp.CHAP_PASSWORD)
        if chap is not None:
            return AuthRequest(username, chap_password=chap, mac=mac,
                               chap_challenge=attrs.get(rp.CHAP_CHALLENGE, packet.authenticator))
        hidden = attrs.get(rp.USER_PASSWORD)
        if hidden is None:
            return None
        return AuthRequest(username, password=rp.reveal_password(hidden, secret, packet.authenticator), mac=mac)

    def accounting(self, data: bytes, source: str) -> tuple[rp.Packet, RouterView, AccountingRecord] | None:
        """Validate an Accounting-Request; the record goes to the store before any reply."""
        router = self._client(source)
        if router is None:
            return None
        packet = self._decode(data, source, rp.ACCOUNTING_REQUEST)
        if packet is None:
            return None
        if not rp.request_authenticator_ok(packet, router.secret):
            self.drops.drop("wrong Accounting-Request authenticator (check the shared secret)", source)
            return None
        if packet.ma_offset >= 0 and not rp.message_authenticator_ok(packet, router.secret, rp.ZERO16):
            self.drops.drop("wrong Message-Authenticator on Accounting-Request", source)
            return None
        try:
            record = self._record(packet, router)
        except (rp.MalformedPacket, ValueError) as exc:
            self.drops.drop("malformed accounting", source, str(exc))
            return None
        return packet, router, record

    @staticmethod
    def _record(packet: rp.Packet, router: RouterView) -> AccountingRecord:
        status = packet.integer(rp.ACCT_STATUS_TYPE)
        if status not in _ACCT_STATUSES:
            raise ValueError(f"Acct-Status-Type {status}")
        session_id = packet.text(rp.ACCT_SESSION_ID)
        if status in _SESSION_STATUSES and not session_id:
            raise ValueError("no Acct-Session-Id")
        framed = packet.attrs.get(rp.FRAMED_IP_ADDRESS)
        cause = packet.integer(rp.ACCT_TERMINATE_CAUSE)
        return AccountingRecord(
            router_id=router.id, status_type=status, acct_session_id=session_id,
            username=packet.text(rp.USER_NAME), mac=normalize_mac(packet.text(rp.CALLING_STATION_ID)),
            ip=".".join(map(str, framed)) if framed is not None and len(framed) == 4 else None,
            input_octets=packet.integer(rp.ACCT_INPUT_OCTETS, 0),
            input_gigawords=packet.integer(rp.ACCT_INPUT_GIGAWORDS, 0),
            output_octets=packet.integer(rp.ACCT_OUTPUT_OCTETS, 0),
            output_gigawords=packet.integer(rp.ACCT_OUTPUT_GIGAWORDS, 0),
            session_time=packet.integer(rp.ACCT_SESSION_TIME),
            terminate_cause=None if cause is None else rp.TERMINATE_CAUSES.get(cause, str(cause)),
            kind=PPPOE if ppp.is_ppp(packet) else HOTSPOT,
        )

    @staticmethod
    def accounting_reply(packet: rp.Packet, router: RouterView) -> bytes:
        """Accounting-Response (with Message-Authenticator: harmless, and always present)."""
        return rp.encode_reply(rp.ACCOUNTING_RESPONSE, packet.ident, packet.authenticator, router.secret,
                               _proxy_states(packet))
