"""What the simulated RouterOS does with each command (docs/protocols.md §1.4, §1.7, §2).

`Router.execute(words)` takes one request sentence and returns the reply sentences:
`!re` per item, `!done` (with `=ret=` after an add), `!trap` + `!done` when refused, and on
RouterOS 7 (7.18+) `!empty` before `!done` when a print finds nothing. No sockets here.

The hotspot host table (`/ip/hotspot/host`) is what the router has seen: tests and the
demo put devices in it (`connect_device`, or `auto_hosts` for a whole range), and a host is
`authorized` while a session of its MAC is active. `/system/device-mode` exists on
RouterOS 7 only; with `hotspot` off (`set_device_mode(hotspot=False)`) the hotspot menus
refuse every change with `not allowed by device-mode` and the host table is empty. How a
real router answers there is not published (docs/protocols.md §2.10 marks it unconfirmed):
this is one plausible answer, enough to test that deploy looks before it changes anything.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from typing import Callable

from .menus import Menu, Trap, matches, menus
from .ppp import check_add, check_references
from .wire import parse_command

Sentence = list[str]

VERSIONS = {6: "6.49.10 (long-term)", 7: "7.18.2 (stable)"}
ALREADY = "failure: already have user with this name for this server"
HOSTS = "/ip/hotspot/host"
DEVICE_MODE = "/system/device-mode"
BLOCKED = "not allowed by device-mode"


def mac_for_address(address: str) -> str:
    """A MAC for a simulated device at `address`, the same every time: AA:BB:CC and the
    address's last three octets (127.0.3.7 -> AA:BB:CC:00:03:07)."""
    octets = ipaddress.ip_address(address).packed[-3:]
    return "AA:BB:CC:" + ":".join(f"{b:02X}" for b in octets)


def _asked_addresses(queries: list[str]) -> list[str]:
    """The addresses a print asks about (`?address=X`, `?=to-address=X`)."""
    found = []
    for word in queries:
        key, sep, value = word.lstrip("=").partition("=")
        if sep and key in ("address", "to-address"):
            found.append(value)
    return found


def _uptime(seconds: int, version: int) -> str:
    """How each version writes an uptime: 2d20h12m20s (7) or 2d01:22:53 / 01:22:53 (6)."""
    days, rest = divmod(int(seconds), 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    if version >= 7:
        text = "".join(f"{v}{u}" for v, u in ((days, "d"), (h, "h"), (m, "m")) if v)
        return text + f"{s}s"
    return (f"{days}d" if days else "") + f"{h:02d}:{m:02d}:{s:02d}"


class Router:
    """One simulated router's state and behaviour (thread-safe)."""

    def __init__(self, *, version: int = 7, board: str = "hAP ax2", radius_login: Callable | None = None) -> None:
        self.version = version
        self.board = board
        self.booted = time.monotonic() - 3 * 86400 - 3 * 3600 - 17
        self.cpu_load = 3
        self.free_memory = 812_000_000
        self.menus: dict[str, Menu] = menus()
        self.lock = threading.RLock()
        self.log: list[tuple[str, dict[str, str]]] = []  # every command after login: (command, attributes)
        self.radius_login = radius_login  # (router, user, password, mac, ip) -> (accepted, message)
        self.ppp = None  # the PPPoE server side (ppp.PppServer), set by the simulator
        self._auto_hosts: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Callable[[str], str]] | None = None

    # -- helpers for tests and the demo

    def table(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [dict(item) for item in self.menus[path].items]

    def connect_device(self, mac: str, ip: str, server: str = "hotspot1", *, to_address: str | None = None,
                       bypassed: bool = False) -> str:
        """A phone joins the WiFi: the hotspot sees it as a host (not yet logged in).
        `to_address` is its address after the hotspot's translation (default: `ip`)."""
        with self.lock:
            item = self.menus[HOSTS].add({"mac-address": mac.upper(), "address": ip,
                                          "to-address": to_address or ip, "server": server, "bridge-port": "wlan1"})
            item.update({"uptime": "0s", "idle-time": "0s", "idle-timeout": "5m", "keepalive-timeout": "none",
                         "bytes-in": "0", "bytes-out": "0", "packets-in": "0", "packets-out": "0",
                         "bypassed": "true" if bypassed else "false", "blocked": "false", "dhcp": "true",
                         "dynamic": "true"})
            return item[".id"]

    def disconnect_device(self, mac: str | None = None, ip: str | None = None) -> int:
        """A device leaves: its hosts (by MAC or address) go from the table; how many went."""
        with self.lock:
            menu = self.menus[HOSTS]
            keep = [h for h in menu.items if not ((mac and h.get("mac-address") == mac.upper())
                                                 or (ip and ip in (h.get("address"), h.get("to-address"))))]
            gone = len(menu.items) - len(keep)
            menu.items = keep
            return gone

    def auto_hosts(self, network: str | None, mac: Callable[[str], str] = mac_for_address) -> None:
        """Every address of `network` the host table is asked about is a device the hotspot
        sees (with `mac(address)`): the demo's stand-in for phones joining the WiFi, where the
        browser on this machine is the phone. None turns it off."""
        with self.lock:
            self._auto_hosts = None if network is None else (ipaddress.ip_network(network), mac)

    def set_device_mode(self, **features: str | bool) -> None:
        """Switch device-mode features as `/system/device-mode/update` and a button press
        would: `set_device_mode(mode="home", hotspot=False, proxy=False)`."""
        with self.lock:
            row = self.menus[DEVICE_MODE].items[0]
            for key, value in features.items():
                key = key.replace("_", "-")
                if key not in row:
                    raise KeyError(f"device-mode has no {key}")
                row[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)

    def hotspot_allowed(self) -> bool:
        with self.lock:
            return self.version < 7 or self.menus[DEVICE_MODE].items[0].get("hotspot") == "true"

    def add_active(self, user: str, mac: str, ip: str, *, radius: bool = False, **extra: str) -> str:
        with self.lock:
            item = self.menus["/ip/hotspot/active"].add({"user": user, "mac-address": mac.upper(), "address": ip,
                                                         "server": "hotspot1"})
            item.update({"login-by": "http-chap", "uptime": "1m2s", "bytes-in": "1000", "bytes-out": "20000",
                         "radius": "true" if radius else "false", "_since": str(time.monotonic()), **extra})
            return item[".id"]

    def add_ppp(self, name: str, caller_id: str, address: str) -> str:
        with self.lock:
            item = self.menus["/ppp/active"].add({"name": name, "service": "pppoe", "caller-id": caller_id,
                                                  "address": address})
            item.update({"uptime": "5m", "session-id": "0x81C00001", "encoding": "", "radius": "false"})
            return item[".id"]

    def resource(self) -> dict[str, str]:
        return {"uptime": _uptime(time.monotonic() - self.booted, self.version),
                "version": VERSIONS.get(self.version, str(self.version)), "build-time": "2025-03-11 11:59:04",
                "free-memory": str(self.free_memory), "total-memory": "1073741824", "cpu": "ARM64",
                "cpu-count": "4", "cpu-frequency": "1800", "cpu-load": str(self.cpu_load),
                "free-hdd-space": "102400000", "total-hdd-space": "134217728", "architecture-name": "arm64",
                "board-name": self.board, "platform": "MikroTik"}

    # -- the API

    def execute(self, words: list[str]) -> list[Sentence]:
        command, attrs, queries, api = parse_command(words)
        tag = [f".tag={api['tag']}"] if api.get("tag") else []
        try:
            with self.lock:
                self.log.append((command, dict(attrs)))
                replies = self._run(command, attrs, queries)
        except Trap as trap:
            words = [f"=message={trap.message}"] + ([f"=category={trap.category}"] if trap.category is not None else [])
            return [["!trap", *words, *tag], ["!done", *tag]]
        return [[*sentence, *tag] for sentence in replies]

    def _run(self, command: str, attrs: dict[str, str], queries: list[str]) -> list[Sentence]:
        path, _, verb = command.rpartition("/")
        if command == "/system/resource/print":
            return self._print([{**self.resource()}], attrs, queries)
        if path == DEVICE_MODE and self.version < 7:  # device-mode came with 7.17
            raise Trap(f"no such command or directory ({verb})", 0)
        if path.startswith("/ip/hotspot") and verb not in ("print", "getall") and not self.hotspot_allowed():
            raise Trap(BLOCKED, 1)
        if path == HOSTS and verb in ("print", "getall"):
            return self._print(self._hosts(queries), attrs, queries)
        if command == "/ip/hotspot/active/login":
            return self._login(attrs)
        if command == "/ip/hotspot/user/reset-counters":
            item = self.menus["/ip/hotspot/user"].get(attrs.get(".id", ""))
            item.update({"uptime": "0s", "bytes-in": "0", "bytes-out": "0"})
            return [["!done"]]
        menu = self.menus.get(path)
        if menu is None or verb not in menu.verbs:
            raise Trap(f"no such command or directory ({verb})", 0)
        if verb in ("print", "getall"):
            return self._print(menu.items, attrs, queries)
        if queries:
            raise Trap("queries are only for print", 5)
        if verb == "add" and not menu.single:
            new_id = self._add(menu, attrs)[".id"]
            return [["!done", f"=ret={new_id}"]]
        if verb == "set":
            self._set(menu, attrs)
            return [["!done"]]
        if verb == "remove" and not menu.single:
            ids = attrs.get(".id", "").split(",")
            targets = [menu.get(i) for i in ids]  # every id must exist before anything goes
            if path == "/ppp/profile" and any(t.get("name") in ("default", "default-encryption") for t in targets):
                raise Trap("failure: cannot remove default profile", 1)
            menu.items = [item for item in menu.items if all(item is not t for t in targets)]
            if path == "/ppp/active" and self.ppp is not None:
                self.ppp.removed(targets)  # an accounting Stop for each, as the router sends
            return [["!done"]]
        raise Trap(f"no such command or directory ({verb})", 0)

    def _print(self, items: list[dict], attrs: dict[str, str], queries: list[str]) -> list[Sentence]:
        proplist = [p for p in attrs.get(".proplist", "").split(",") if p]
        out = []
        for item in items:
            visible = {k: v for k, v in item.items() if not k.startswith("_")}
            # queries see every property, listed or not (docs/protocols.md §1.3); a listed one
            # the item lacks is simply absent, so `?name` is false for it
            if not matches(visible, queries):
                continue
            if proplist:
                visible = {k: visible[k] for k in proplist if k in visible}
            out.append(["!re", *(f"={k}={v}" for k, v in visible.items())])
        if not out and self.version >= 7:
            out.append(["!empty"])
        return out + [["!done"]]

    def _hosts(self, queries: list[str]) -> list[dict[str, str]]:
        """The host table as a print shows it: `authorized` while the MAC has a session."""
        if not self.hotspot_allowed():
            return []
        menu = self.menus[HOSTS]
        if self._auto_hosts is not None:
            network, mac = self._auto_hosts
            for address in _asked_addresses(queries):
                try:
                    inside = ipaddress.ip_address(address) in network
                except ValueError:
                    continue
                if inside and not any(address in (h.get("address"), h.get("to-address")) for h in menu.items):
                    self.connect_device(mac(address), address)
        online = {a.get("mac-address") for a in self.menus["/ip/hotspot/active"].items}
        return [{**h, "authorized": "true" if h.get("mac-address") in online else "false"} for h in menu.items]

    def _add(self, menu: Menu, attrs: dict[str, str]) -> dict[str, str]:
        menu.check(attrs)
        if menu.path == "/ip/hotspot/user":
            if not attrs.get("name"):
                raise Trap("failure: name is required", 1)
            if any(u["name"] == attrs["name"] for u in menu.items):
                raise Trap(ALREADY)
            self._profile_exists(attrs.get("profile"))
        elif menu.path in ("/ip/hotspot/user/profile", "/ip/hotspot/profile", "/ip/dhcp-server/option", "/file"):
            if not attrs.get("name"):
                raise Trap("failure: name is required", 1)
            if any(p.get("name") == attrs["name"] for p in menu.items):
                raise Trap("failure: entry already exists", 1)
        elif menu.path == "/radius" and not attrs.get("address"):
            raise Trap("failure: address is required", 1)
        elif menu.path in ("/ip/firewall/nat", "/ip/firewall/filter") and not attrs.get("chain"):
            raise Trap("failure: chain not specified", 1)
        check_add(self.menus, menu.path, attrs)
        return menu.add(attrs)

    def _profile_exists(self, name: str | None) -> None:
        if name and not any(p["name"] == name for p in self.menus["/ip/hotspot/user/profile"].items):
            raise Trap("input does not match any value of profile", 1)

    def _set(self, menu: Menu, attrs: dict[str, str]) -> None:
        if "place-before" in attrs:  # only add places; moving a rule is another command
            raise Trap("unknown parameter place-before", 1)
        menu.check(attrs)
        item = menu.items[0] if menu.single else menu.get(attrs.get(".id", ""))
        changes = {k: v for k, v in attrs.items() if k != ".id"}
        if menu.path == "/ip/hotspot/user":
            self._profile_exists(changes.get("profile"))
        check_references(self.menus, menu.path, changes)
        if menu.path == "/ip/hotspot" and "profile" in changes and not any(
                p["name"] == changes["profile"] for p in self.menus["/ip/hotspot/profile"].items):
            raise Trap("input does not match any value of profile", 1)
        item.update(changes)

    def _login(self, attrs: dict[str, str]) -> list[Sentence]:
        user, password = attrs.get("user", ""), attrs.get("password", "")
        ip, mac = attrs.get("ip", ""), attrs.get("mac-address", "").upper()
        if not user or not ip:
            raise Trap("failure: user and ip are required", 1)
        server = self.menus["/ip/hotspot"].items[0]
        profile = next(p for p in self.menus["/ip/hotspot/profile"].items if p["name"] == server["profile"])
        if profile.get("use-radius") in ("yes", "true") and self.radius_login is not None:
            self.lock.release()  # the RADIUS round trip must not stall other connections
            try:
                accepted, message = self.radius_login(self, user, password, mac, ip)
            finally:
                self.lock.acquire()
            if not accepted:
                raise Trap(message or "invalid user name or password")
            self.add_active(user, mac, ip, radius=True, uptime="0s", **{"bytes-in": "0", "bytes-out": "0"})
            return [["!done"]]
        found = next((u for u in self.menus["/ip/hotspot/user"].items if u["name"] == user), None)
        if found is None or found.get("password", "") != password or found.get("disabled") in ("true", "yes"):
            raise Trap("invalid user name or password")
        if found.get("mac-address") not in (None, "", "00:00:00:00:00:00") and found["mac-address"] != mac:
            raise Trap("invalid mac address")
        limit = int(found.get("limit-bytes-total") or 0)
        if limit and int(found["bytes-in"]) + int(found["bytes-out"]) >= limit:
            raise Trap("traffic limit reached")
        profile_row = next(p for p in self.menus["/ip/hotspot/user/profile"].items if p["name"] == found["profile"])
        shared = profile_row.get("shared-users", "1")
        using = sum(1 for a in self.menus["/ip/hotspot/active"].items if a["user"] == user)
        if shared != "unlimited" and using >= int(shared):
            raise Trap("no more sessions are allowed for user")
        self.add_active(user, mac, ip, uptime="0s", **{"bytes-in": "0", "bytes-out": "0"})
        return [["!done"]]
