"""The simulated router as a RADIUS client: what a MikroTik hotspot sends when a login
(here `/ip/hotspot/active/login`) needs the RADIUS server. Written from docs/protocols.md §3.1-§3.3 and §4.2:
PAP User-Password hiding (RFC 2865 §5.2), Message-Authenticator (RFC 3579), the
attributes a hotspot sends (docs/protocols.md §3.2), the entry's timeout (1100 ms default) with retries.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import socket
import struct

ACCESS_REQUEST, ACCESS_ACCEPT, ACCESS_REJECT = 1, 2, 3
USER_NAME, USER_PASSWORD, NAS_IP_ADDRESS, SERVICE_TYPE, FRAMED_IP_ADDRESS = 1, 2, 4, 6, 8
REPLY_MESSAGE, SESSION_TIMEOUT, CALLED_STATION_ID, CALLING_STATION_ID, NAS_IDENTIFIER = 18, 27, 30, 31, 32
ACCT_SESSION_ID, NAS_PORT_TYPE, MESSAGE_AUTHENTICATOR = 44, 61, 80


def _attr(kind: int, value: bytes) -> bytes:
    return bytes([kind, len(value) + 2]) + value


def hide_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    padded = password + b"\x00" * (-len(password) % 16 or (16 if not password else 0))
    out, last = b"", authenticator
    for i in range(0, len(padded), 16):
        digest = hashlib.md5(secret + last).digest()
        last = bytes(a ^ b for a, b in zip(padded[i:i + 16], digest))
        out += last
    return out


def access_request(ident: int, secret: bytes, *, user: str, password: str, mac: str, ip: str, nas_ip: str,
                   server: str, identity: str, session: str) -> tuple[bytes, bytes]:
    """(packet, request authenticator). Message-Authenticator goes last, as captured."""
    authenticator = os.urandom(16)
    attrs = b"".join([
        _attr(USER_NAME, user.encode()),
        _attr(USER_PASSWORD, hide_password(password.encode(), secret, authenticator)),
        _attr(NAS_PORT_TYPE, struct.pack("!I", 19)),
        _attr(CALLING_STATION_ID, mac.encode()),
        _attr(CALLED_STATION_ID, server.encode()),
        _attr(ACCT_SESSION_ID, session.encode()),
        _attr(FRAMED_IP_ADDRESS, ipaddress.IPv4Address(ip).packed),
        _attr(SERVICE_TYPE, struct.pack("!I", 1)),
        _attr(NAS_IDENTIFIER, identity.encode()),
        _attr(NAS_IP_ADDRESS, ipaddress.IPv4Address(nas_ip).packed),
    ])
    zero_ma = _attr(MESSAGE_AUTHENTICATOR, b"\x00" * 16)
    length = 20 + len(attrs) + len(zero_ma)
    header = struct.pack("!BBH", ACCESS_REQUEST, ident, length) + authenticator
    mac_value = hmac.new(secret, header + attrs + zero_ma, hashlib.md5).digest()
    return header + attrs + _attr(MESSAGE_AUTHENTICATOR, mac_value), authenticator


def parse_reply(data: bytes, ident: int, secret: bytes, authenticator: bytes) -> tuple[int, dict[int, list[bytes]]] | None:
    """(code, attributes) of a valid reply to our request, or None (wrong id or authenticator)."""
    if len(data) < 20:
        return None
    code, rid, length = struct.unpack("!BBH", data[:4])
    if rid != ident or length > len(data):
        return None
    data = data[:length]
    expected = hashlib.md5(data[:4] + authenticator + data[20:] + secret).digest()
    if not hmac.compare_digest(expected, data[4:20]):
        return None
    attrs: dict[int, list[bytes]] = {}
    i = 20
    while i + 2 <= len(data):
        kind, size = data[i], data[i + 1]
        if size < 2:
            return None
        attrs.setdefault(kind, []).append(data[i + 2:i + size])
        i += size
    return code, attrs


class RadiusClient:
    """Asks the `/radius` entries with service hotspot, in order, as the router would."""

    def __init__(self, nas_ip: str = "127.0.0.1") -> None:
        self.nas_ip = nas_ip
        self.answers: list[dict] = []  # every reply: {user, code, attrs}
        self._ident = 0

    def __call__(self, router, user: str, password: str, mac: str, ip: str) -> tuple[bool, str]:
        with router.lock:
            entries = [dict(e) for e in router.menus["/radius"].items
                       if "hotspot" in e.get("service", "").split(",") and e.get("disabled") not in ("true", "yes")]
            identity = router.menus["/system/identity"].items[0]["name"]
        if not entries:
            return False, "RADIUS server is not responding"
        for entry in entries:
            result = self._ask(entry, user, password, mac, ip, identity)
            if result is None:
                continue
            code, attrs = result
            self.answers.append({"user": user, "code": code, "attrs": attrs})
            message = attrs.get(REPLY_MESSAGE, [b""])[0].decode(errors="replace")
            return code == ACCESS_ACCEPT, message
        return False, "RADIUS server is not responding"

    def _ask(self, entry: dict, user: str, password: str, mac: str, ip: str, identity: str):
        secret = entry.get("secret", "").encode()
        timeout = float(entry.get("timeout", "1100ms").rstrip("ms") or 1100) / 1000
        self._ident = (self._ident + 1) % 256
        ident = self._ident
        packet, authenticator = access_request(ident, secret, user=user, password=password, mac=mac, ip=ip,
                                               nas_ip=self.nas_ip, server="hotspot1", identity=identity,
                                               session=f"8010{ident:04X}")
        address = (entry["address"], int(entry.get("authentication-port", "1812")))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((self.nas_ip, 0))
            sock.settimeout(timeout)
            for _ in range(3):
                sock.sendto(packet, address)
                try:
                    while True:
                        data, _ = sock.recvfrom(4096)
                        reply = parse_reply(data, ident, secret, authenticator)
                        if reply is not None:
                            return reply
                except (socket.timeout, ConnectionRefusedError):
                    continue
        return None
