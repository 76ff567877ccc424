"""The simulated router's PPPoE server: what a MikroTik does when a CPE dials, and when a
Disconnect-Request comes. Written from protocols.md §3.4-§3.6 (accounting, `/radius incoming`)
and §8 (PPPoE server, PPP profiles, `/ppp/aaa`, pools, what a PPP Access-Request carries and
which reply attributes the router honours).

- `dial(user, password, mac)`: a local `/ppp/secret` of that name wins (RADIUS is not asked,
  §8.3); otherwise, with `/ppp/aaa use-radius`, every `/radius` entry whose service has
  `ppp` is asked (PAP or CHAP) with Service-Type Framed-User, Framed-Protocol PPP and the
  CPE's MAC. An Accept is honoured: Framed-IP-Address, else Framed-Pool, else the profile's
  pool (Mikrotik-Group names the profile); Mikrotik-Address-List, rate and Session-Timeout
  are kept on the session. With `accounting`, an Accounting-Request Start goes to the
  entry's accounting port. `one-session-per-host` ends an older session of the same MAC.
- `/ppp/active remove` and a Disconnect-Request (`CoaListener`, on while `/radius incoming
  accept=yes`) end a session with an accounting Stop.
- `check_references`: names a menu item refers to must exist (a profile's pool, a server's
  profile, a DHCP server's pool), as RouterOS refuses them.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import socket
import struct
import threading
import time

from .menus import Trap
from .radius import _attr, hide_password, parse_reply

ACCESS_REQUEST, ACCESS_ACCEPT = 1, 2
ACCOUNTING_REQUEST, ACCOUNTING_RESPONSE = 4, 5
DISCONNECT_REQUEST, DISCONNECT_ACK, DISCONNECT_NAK = 40, 41, 42
USER_NAME, USER_PASSWORD, CHAP_PASSWORD, NAS_IP_ADDRESS, SERVICE_TYPE = 1, 2, 3, 4, 6
FRAMED_PROTOCOL, FRAMED_IP_ADDRESS, REPLY_MESSAGE, VENDOR_SPECIFIC, SESSION_TIMEOUT = 7, 8, 18, 26, 27
CALLED_STATION_ID, CALLING_STATION_ID, NAS_IDENTIFIER = 30, 31, 32
ACCT_STATUS_TYPE, ACCT_SESSION_ID, ACCT_AUTHENTIC, ACCT_SESSION_TIME, ACCT_TERMINATE_CAUSE = 40, 44, 45, 46, 49
CHAP_CHALLENGE, NAS_PORT_TYPE, MESSAGE_AUTHENTICATOR, NAS_PORT_ID, FRAMED_POOL, ERROR_CAUSE = 60, 61, 80, 87, 88, 101
MIKROTIK, MIKROTIK_GROUP, MIKROTIK_RATE_LIMIT, MIKROTIK_ADDRESS_LIST = 14988, 3, 8, 19
ADMIN_RESET, USER_REQUEST, SESSION_CONTEXT_NOT_FOUND = 6, 1, 503
AUTHENTICATIONS = frozenset({"pap", "chap", "mschap1", "mschap2"})


class DialRefused(Exception):
    """The CPE could not log in: no server, refused, or no address left."""


def _is_address(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        return False


def check_references(menus: dict, path: str, attrs: dict[str, str]) -> None:
    """Refuse an add or set naming a profile or pool that does not exist (RouterOS's words)."""
    def named(menu: str, name: str) -> bool:
        return any(item.get("name") == name for item in menus[menu].items)

    if path == "/ppp/profile" and attrs.get("remote-address") and not _is_address(attrs["remote-address"]) \
            and not named("/ip/pool", attrs["remote-address"]):
        raise Trap("input does not match any value of remote-address", 1)
    if path in ("/interface/pppoe-server/server", "/ppp/secret"):
        profile = attrs.get("default-profile") or attrs.get("profile")
        if profile and not named("/ppp/profile", profile):
            raise Trap("input does not match any value of profile", 1)
    if path == "/interface/pppoe-server/server" and "authentication" in attrs:
        if not set(attrs["authentication"].split(",")) <= AUTHENTICATIONS:
            raise Trap("input does not match any value of authentication", 1)
    if path == "/ip/dhcp-server" and attrs.get("address-pool") and not named("/ip/pool", attrs["address-pool"]):
        raise Trap("input does not match any value of address-pool", 1)


def check_add(menus: dict, path: str, attrs: dict[str, str]) -> None:
    """What an add needs beyond its fields: a name (unique), a server's interface (one per)."""
    if path in ("/ppp/profile", "/ppp/secret", "/ip/pool", "/ip/dhcp-server"):
        if not attrs.get("name"):
            raise Trap("failure: name is required", 1)
        if any(item.get("name") == attrs["name"] for item in menus[path].items):
            raise Trap("failure: entry already exists", 1)
    if path == "/interface/pppoe-server/server":
        if not attrs.get("interface"):
            raise Trap("failure: interface is required", 1)
        if any(item.get("interface") == attrs["interface"] for item in menus[path].items):
            raise Trap("failure: server already exists on this interface", 1)
    check_references(menus, path, attrs)


def _vendor(data: list[bytes]) -> dict[tuple[int, int], bytes]:
    found = {}
    for value in data:
        if len(value) >= 6:
            vendor, pos = int.from_bytes(value[:4], "big"), 4
            while pos + 2 <= len(value) and value[pos + 1] >= 2:
                found.setdefault((vendor, value[pos]), value[pos + 2:pos + value[pos + 1]])
                pos += value[pos + 1]
    return found


def _pool_addresses(ranges: str):
    for part in ranges.split(","):
        first, _, last = part.partition("-")
        low, high = int(ipaddress.IPv4Address(first)), int(ipaddress.IPv4Address(last or first))
        for number in range(low, high + 1):
            yield str(ipaddress.IPv4Address(number))


class PppServer:
    """A router's PPPoE server side (see the module's docstring)."""

    def __init__(self, router, nas_ip: str) -> None:
        self.router = router
        self.nas_ip = nas_ip
        self.answers: list[dict] = []  # every Access-Accept or -Reject: {user, code, attrs}
        self.accounting: list[dict] = []  # every Accounting-Request sent: {status, session, user, answered}
        self._ident = 0
        self._sessions = 0

    # -- dialling

    def dial(self, user: str, password: str, mac: str, *, auth: str = "pap", interface: str | None = None) -> dict:
        """A CPE dials: the new `/ppp/active` row (with `profile`, `address-list`, `rate-limit`,
        `session-timeout` as granted), or DialRefused."""
        router = self.router
        with router.lock:
            servers = [dict(s) for s in router.menus["/interface/pppoe-server/server"].items
                       if s.get("disabled") in ("no", "false") and interface in (None, s.get("interface"))]
            if not servers:
                raise DialRefused("no PPPoE server answers (none enabled on that interface)")
            server = servers[0]
            if auth not in server.get("authentication", "").split(","):
                raise DialRefused(f"{auth} is not offered by the server")
            local = next((s for s in router.menus["/ppp/secret"].items if s.get("name") == user), None)
            aaa = router.menus["/ppp/aaa"].items[0]
            entries = [dict(e) for e in router.menus["/radius"].items
                       if "ppp" in e.get("service", "").split(",") and e.get("disabled") not in ("true", "yes")]
            identity = router.menus["/system/identity"].items[0]["name"]
            self._sessions += 1
            session_id = f"81C{self._sessions:05X}"
        granted: dict[str, str] = {}
        if local is not None:  # a local secret wins: RADIUS is never asked (§8.3)
            if local.get("password") != password:
                raise DialRefused("authentication failed (local secret)")
            granted["profile"] = local.get("profile", server.get("default-profile", "default"))
            entry = None
        elif aaa.get("use-radius") in ("yes", "true") and entries:
            entry, granted = self._ask_radius(entries, user, password, mac, auth, server, identity, session_id)
        else:
            raise DialRefused("authentication failed (no secret, RADIUS not used)")
        with router.lock:
            if server.get("one-session-per-host") in ("yes", "true"):
                old = [a for a in router.menus["/ppp/active"].items if a.get("caller-id") == mac.upper()]
                self._end(old, USER_REQUEST)
            row = self._activate(user, mac, server, granted, session_id)
        if entry is not None and aaa.get("accounting") in ("yes", "true"):
            self._account(entry, 1, row, identity)
        return {k: v for k, v in row.items()}

    def _ask_radius(self, entries, user, password, mac, auth, server, identity, session_id):
        for entry in entries:
            secret = entry.get("secret", "").encode()
            self._ident = (self._ident + 1) % 256
            authenticator = os.urandom(16)
            if auth == "chap":
                challenge, chap_id = os.urandom(16), bytes([self._ident])
                creds = (_attr(CHAP_PASSWORD, chap_id + hashlib.md5(chap_id + password.encode() + challenge).digest())
                         + _attr(CHAP_CHALLENGE, challenge))
            elif auth == "pap":
                creds = _attr(USER_PASSWORD, hide_password(password.encode(), secret, authenticator))
            else:
                raise DialRefused(f"this simulator dials with pap or chap, not {auth}")
            attrs = (_attr(USER_NAME, user.encode()) + creds + _attr(SERVICE_TYPE, struct.pack("!I", 2))
                     + _attr(FRAMED_PROTOCOL, struct.pack("!I", 1)) + _attr(NAS_PORT_TYPE, struct.pack("!I", 15))
                     + _attr(CALLING_STATION_ID, mac.upper().encode())
                     + _attr(CALLED_STATION_ID, server.get("service-name", "").encode() or b"pppoe")
                     + _attr(NAS_PORT_ID, server["interface"].encode()) + _attr(ACCT_SESSION_ID, session_id.encode())
                     + _attr(NAS_IDENTIFIER, identity.encode())
                     + _attr(NAS_IP_ADDRESS, ipaddress.IPv4Address(self.nas_ip).packed))
            reply = self._send(entry, ACCESS_REQUEST, attrs, authenticator, secret,
                               int(entry.get("authentication-port", "1812")))
            if reply is None:
                continue
            code, found = reply
            self.answers.append({"user": user, "code": code, "attrs": found})
            if code != ACCESS_ACCEPT:
                raise DialRefused(found.get(REPLY_MESSAGE, [b"authentication failed"])[0].decode(errors="replace"))
            vendor = _vendor(found.get(VENDOR_SPECIFIC, []))
            granted = {"radius": "true", "profile": vendor.get((MIKROTIK, MIKROTIK_GROUP), b"").decode()
                       or server.get("default-profile", "default")}
            if FRAMED_IP_ADDRESS in found:
                granted["address"] = str(ipaddress.IPv4Address(found[FRAMED_IP_ADDRESS][0]))
            if FRAMED_POOL in found:
                granted["pool"] = found[FRAMED_POOL][0].decode()
            for key, attr in (("address-list", MIKROTIK_ADDRESS_LIST), ("rate-limit", MIKROTIK_RATE_LIMIT)):
                if (MIKROTIK, attr) in vendor:
                    granted[key] = vendor[(MIKROTIK, attr)].decode()
            if SESSION_TIMEOUT in found:
                granted["session-timeout"] = str(int.from_bytes(found[SESSION_TIMEOUT][0], "big"))
            return entry, granted
        raise DialRefused("RADIUS server is not responding")

    def _send(self, entry: dict, code: int, attrs: bytes, authenticator: bytes | None, secret: bytes, port: int):
        ident = self._ident
        if code == ACCESS_REQUEST:
            zero = _attr(MESSAGE_AUTHENTICATOR, bytes(16))
            header = struct.pack("!BBH", code, ident, 20 + len(attrs) + 18) + authenticator
            attrs += _attr(MESSAGE_AUTHENTICATOR, hmac.new(secret, header + attrs + zero, hashlib.md5).digest())
            packet = header + attrs
        else:  # accounting: MD5 over the packet with a zero authenticator (§3.4)
            header = struct.pack("!BBH", code, ident, 20 + len(attrs))
            authenticator = hashlib.md5(header + bytes(16) + attrs + secret).digest()
            packet = header + authenticator + attrs
        timeout = float(entry.get("timeout", "1100ms").rstrip("ms") or 1100) / 1000
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((self.nas_ip, 0))
            sock.settimeout(timeout)
            for _ in range(3):
                sock.sendto(packet, (entry["address"], port))
                try:
                    while True:
                        reply = parse_reply(sock.recvfrom(4096)[0], ident, secret, authenticator)
                        if reply is not None:
                            return reply
                except (socket.timeout, ConnectionRefusedError):
                    continue
        return None

    def _activate(self, user: str, mac: str, server: dict, granted: dict, session_id: str) -> dict:
        menus = self.router.menus
        profile = next((p for p in menus["/ppp/profile"].items if p.get("name") == granted["profile"]), None)
        if profile is None:
            raise DialRefused(f"no PPP profile {granted['profile']}")
        address = granted.get("address")
        if address is None:
            pool_name = granted.get("pool") or profile.get("remote-address", "")
            pool = next((p for p in menus["/ip/pool"].items if p.get("name") == pool_name), None)
            if pool is None:
                raise DialRefused(f"no address pool {pool_name!r}")
            taken = {a.get("address") for a in menus["/ppp/active"].items}
            address = next((a for a in _pool_addresses(pool["ranges"]) if a not in taken), None)
            if address is None:
                raise DialRefused(f"pool {pool_name} is exhausted")
        row = menus["/ppp/active"].add({"name": user, "service": "pppoe", "caller-id": mac.upper(), "address": address})
        row.update({"uptime": "0s", "encoding": "", "session-id": f"0x{session_id}",
                    "radius": granted.get("radius", "false"),
                    "_profile": granted["profile"], "_since": str(time.monotonic()),
                    "_address-list": granted.get("address-list", profile.get("address-list", "")),
                    "_rate-limit": granted.get("rate-limit", profile.get("rate-limit", "")),
                    "_session-timeout": granted.get("session-timeout", "")})
        return {**row, "profile": row["_profile"], "address-list": row["_address-list"],
                "rate-limit": row["_rate-limit"], "session-timeout": row["_session-timeout"]}

    # -- ending sessions

    def _end(self, rows: list[dict], cause: int) -> None:
        """Take rows out of `/ppp/active` (under the router's lock); their Stops go from a thread."""
        menu = self.router.menus["/ppp/active"]
        menu.items = [item for item in menu.items if all(item is not row for row in rows)]
        if rows:
            threading.Thread(target=self._stops, args=([dict(r) for r in rows], cause), daemon=True).start()

    def removed(self, rows: list[dict]) -> None:
        """`/ppp/active remove` took these out: each ends with an accounting Stop."""
        threading.Thread(target=self._stops, args=([dict(r) for r in rows], ADMIN_RESET), daemon=True).start()

    def _stops(self, rows: list[dict], cause: int) -> None:
        router = self.router
        with router.lock:
            aaa = router.menus["/ppp/aaa"].items[0]
            entries = [dict(e) for e in router.menus["/radius"].items if "ppp" in e.get("service", "").split(",")]
            identity = router.menus["/system/identity"].items[0]["name"]
        if aaa.get("accounting") not in ("yes", "true") or not entries:
            return
        for row in rows:
            if row.get("radius") == "true":
                self._account(entries[0], 2, row, identity, cause)

    def _account(self, entry: dict, status: int, row: dict, identity: str, cause: int | None = None) -> None:
        secret = entry.get("secret", "").encode()
        session = row["session-id"].removeprefix("0x")
        attrs = (_attr(ACCT_STATUS_TYPE, struct.pack("!I", status)) + _attr(ACCT_SESSION_ID, session.encode())
                 + _attr(USER_NAME, row["name"].encode()) + _attr(CALLING_STATION_ID, row["caller-id"].encode())
                 + _attr(FRAMED_IP_ADDRESS, ipaddress.IPv4Address(row["address"]).packed)
                 + _attr(SERVICE_TYPE, struct.pack("!I", 2)) + _attr(FRAMED_PROTOCOL, struct.pack("!I", 1))
                 + _attr(ACCT_AUTHENTIC, struct.pack("!I", 1)) + _attr(NAS_IDENTIFIER, identity.encode())
                 + _attr(NAS_IP_ADDRESS, ipaddress.IPv4Address(self.nas_ip).packed))
        if status == 2:
            seconds = int(time.monotonic() - float(row.get("_since", time.monotonic())))
            attrs += _attr(ACCT_SESSION_TIME, struct.pack("!I", seconds))
            attrs += _attr(ACCT_TERMINATE_CAUSE, struct.pack("!I", cause or USER_REQUEST))
        self._ident = (self._ident + 1) % 256
        reply = self._send(entry, ACCOUNTING_REQUEST, attrs, None, secret, int(entry.get("accounting-port", "1813")))
        self.accounting.append({"status": status, "session": session, "user": row["name"],
                                "answered": reply is not None and reply[0] == ACCOUNTING_RESPONSE})

    def disconnect(self, attrs: dict[int, list[bytes]]) -> bool:
        """A Disconnect-Request's session (by Acct-Session-Id, else User-Name and address): ended
        with a Stop. False when there is no such session (RFC 5176 Error-Cause 503)."""
        want = attrs.get(ACCT_SESSION_ID, [b""])[0].decode()
        user = attrs.get(USER_NAME, [b""])[0].decode()
        ip = str(ipaddress.IPv4Address(attrs[FRAMED_IP_ADDRESS][0])) if FRAMED_IP_ADDRESS in attrs else None
        with self.router.lock:
            rows = [a for a in self.router.menus["/ppp/active"].items
                    if (want and a.get("session-id") == f"0x{want}") or (not want and a.get("name") == user
                                                                         and ip in (None, a.get("address")))]
            self._end(rows, ADMIN_RESET)
        return bool(rows)


class CoaListener:
    """`/radius incoming` (§3.5): Disconnect-Requests on `port`, while `accept=yes`, from a
    `/radius` entry's address with its secret; ACK, or NAK with Error-Cause 503."""

    def __init__(self, router, host: str, port: int = 0) -> None:
        self.router = router
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self.requests: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="sim-coa", daemon=True)

    def start(self) -> CoaListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, source = self.sock.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            try:
                self._answer(data, source)
            except Exception:  # a simulator survives what it is sent
                continue

    def _answer(self, data: bytes, source: tuple) -> None:
        router = self.router
        with router.lock:
            incoming = router.menus["/radius/incoming"].items[0]
            secrets = [e.get("secret", "").encode() for e in router.menus["/radius"].items
                       if e.get("address") == source[0]]
        if incoming.get("accept") not in ("yes", "true") or not secrets or len(data) < 20 \
                or data[0] != DISCONNECT_REQUEST:
            return
        secret = next((s for s in secrets
                       if hmac.compare_digest(hashlib.md5(data[:4] + bytes(16) + data[20:] + s).digest(), data[4:20])),
                      None)
        if secret is None:
            return
        attrs: dict[int, list[bytes]] = {}
        pos = 20
        while pos + 2 <= len(data) and data[pos + 1] >= 2:
            attrs.setdefault(data[pos], []).append(data[pos + 2:pos + data[pos + 1]])
            pos += data[pos + 1]
        found = router.ppp.disconnect(attrs)
        self.requests.append({"attrs": attrs, "found": found})
        body = b"" if found else _attr(ERROR_CAUSE, struct.pack("!I", SESSION_CONTEXT_NOT_FOUND))
        code = DISCONNECT_ACK if found else DISCONNECT_NAK
        header = struct.pack("!BBH", code, data[1], 20 + len(body))
        self.sock.sendto(header + hashlib.md5(header + data[4:20] + body + secret).digest() + body, source)
