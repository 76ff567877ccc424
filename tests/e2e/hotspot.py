"""The MikroTik hotspot's web side, played on loopback: it hands each device the login-page
variables (`link-login-only`, `chap-id` and `chap-challenge` octal-escaped as RouterOS
writes them, ...) and takes the login form the portal posts, then does what the router
does with it: an Access-Request to hotspotd's RADIUS role (CHAP-Password and
CHAP-Challenge, or PAP, with Message-Authenticator), and on Access-Accept an
Accounting-Start; `/logout` sends the Accounting-Stop.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field

from hotspotd.radius import packet as rp

from ..loopback import QuietHandler, Served

CHAP_CHALLENGE = rp.code_of("CHAP-Challenge")
CALLED_STATION_ID = rp.code_of("Called-Station-Id")


def octal(raw: bytes) -> str:
    """How RouterOS writes $(chap-id) and $(chap-challenge): every byte as \\ooo."""
    return "".join(f"\\{b:03o}" for b in raw)


@dataclass
class Device:
    mac: str
    ip: str
    chap_id: bytes = field(default_factory=lambda: os.urandom(1))
    challenge: bytes = field(default_factory=lambda: os.urandom(16))
    session: str = field(default_factory=lambda: secrets.token_hex(4).upper())
    logins: list[dict] = field(default_factory=list)  # each POSTed login and what RADIUS said
    online_as: str | None = None


class Hotspot(Served):
    """One hotspot router: its login pages on an HTTP port, its RADIUS client towards hotspotd."""

    def __init__(self, radius_port: int, acct_port: int, secret: str, *, chap: bool = True) -> None:
        self.radius_port, self.acct_port, self.secret = radius_port, acct_port, secret.encode()
        self.chap = chap
        self.devices: dict[str, Device] = {}  # by MAC: the router knows a device by its MAC
        self.tokens: dict[str, str] = {}  # login-page token -> MAC
        self.lock = threading.Lock()
        owner = self

        class Handler(QuietHandler):
            def do_POST(self):
                form = dict(urllib.parse.parse_qsl(self.body().decode(), keep_blank_values=True))
                owner._login(self.path.rsplit("/", 1)[-1], form)
                self._page("You are logged in")

            def do_GET(self):
                if "/logout/" in self.path:
                    owner._logout(self.path.rsplit("/", 1)[-1])
                self._page("Hotspot")

            def _page(self, text):
                self.reply(f"<!doctype html><title>{text}</title><p>{text}</p>".encode(),
                           content_type="text/html; charset=utf-8")

        super().__init__(Handler)

    def variables(self, mac: str, ip: str) -> dict[str, str]:
        """The login-page variables RouterOS gives this device's browser."""
        token = secrets.token_hex(6)
        with self.lock:
            device = self.devices.setdefault(mac, Device(mac, ip))
            device.chap_id, device.challenge = os.urandom(1), os.urandom(16)  # a new challenge per login page
            self.tokens[token] = mac
        values = {"mac": mac, "ip": ip, "link-login-only": f"{self.url}/login/{token}",
                  "link-orig": f"{self.url}/welcome", "link-logout": f"{self.url}/logout/{token}"}
        if self.chap:
            values.update({"chap-id": octal(device.chap_id), "chap-challenge": octal(device.challenge)})
        return values

    def device(self, mac: str) -> Device:
        with self.lock:
            return self.devices[mac]

    # -- what the router does

    def _radius(self, port: int, request: bytes) -> rp.Packet:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.sendto(request, ("127.0.0.1", port))
            return rp.decode(sock.recv(4096))

    def _login(self, token: str, form: dict[str, str]) -> None:
        device = self.devices[self.tokens[token]]
        username, password = form.get("username", ""), form.get("password", "")
        attrs = rp.attr(rp.USER_NAME, username.encode()) + rp.attr(rp.CALLING_STATION_ID, device.mac.encode())
        attrs += rp.attr(rp.FRAMED_IP_ADDRESS, ipaddress.ip_address(device.ip).packed)
        auth = os.urandom(16)
        if self.chap:
            try:
                response = bytes.fromhex(password)
            except ValueError:
                response = b""
            attrs += rp.attr(rp.CHAP_PASSWORD, device.chap_id + response) + rp.attr(CHAP_CHALLENGE, device.challenge)
        else:
            attrs += rp.attr(rp.USER_PASSWORD, rp.hide_password(password.encode(), self.secret, auth))
        reply = self._radius(self.radius_port, rp.encode_request(rp.ACCESS_REQUEST, 1, self.secret, attrs,
                                                                 authenticator=auth))
        accepted = reply.code == rp.ACCESS_ACCEPT
        device.logins.append({"username": username, "password": password, "dst": form.get("dst"),
                              "accepted": accepted, "message": reply.text(rp.REPLY_MESSAGE)})
        if accepted:
            device.online_as = username
            self._accounting(device, 1)

    def _logout(self, token: str) -> None:
        device = self.devices.get(self.tokens.get(token, ""))
        if device and device.online_as:
            self._accounting(device, 2)
            device.online_as = None

    def _accounting(self, device: Device, status: int) -> None:
        attrs = (rp.attr(rp.USER_NAME, (device.online_as or "").encode()) + rp.integer(rp.ACCT_STATUS_TYPE, status)
                 + rp.attr(rp.ACCT_SESSION_ID, device.session.encode())
                 + rp.attr(rp.CALLING_STATION_ID, device.mac.encode())
                 + rp.attr(rp.FRAMED_IP_ADDRESS, ipaddress.ip_address(device.ip).packed))
        reply = self._radius(self.acct_port, rp.encode_request(rp.ACCOUNTING_REQUEST, 2, self.secret, attrs))
        assert reply.code == rp.ACCOUNTING_RESPONSE
