"""The simulated router's configuration: menus of items with `.id`s, and `?` queries.

Each menu knows the properties RouterOS accepts in it (anything else is `unknown
parameter`), its defaults, and whether it is a list or a single item (`/radius/incoming`,
`/system/resource`). Written from protocols.md §1.3 (queries) and §2 (fields).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Trap(Exception):
    """A command the router refuses: becomes `!trap =message=...` (and `=category=`)."""

    def __init__(self, message: str, category: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.category = category


@dataclass
class Menu:
    path: str
    fields: frozenset[str]
    defaults: dict[str, str] = field(default_factory=dict)
    single: bool = False
    readonly: frozenset[str] = frozenset()
    items: list[dict[str, str]] = field(default_factory=list)
    next_id: int = 1

    def new_id(self) -> str:
        value = f"*{self.next_id:X}"
        self.next_id += 1
        return value

    def check(self, attrs: dict[str, str]) -> None:
        for key in attrs:
            if key != ".id" and key not in self.fields:
                raise Trap(f"unknown parameter {key}", 1)

    def add(self, attrs: dict[str, str]) -> dict[str, str]:
        self.check(attrs)
        item = {".id": self.new_id(), **self.defaults, **attrs}
        self.items.append(item)
        return item

    def get(self, item_id: str) -> dict[str, str]:
        for item in self.items:
            if item[".id"] == item_id or item.get("name") == item_id:
                return item
        raise Trap("no such item", 0)


def _compare(item: dict[str, Any], word: str) -> bool:
    if word.startswith("="):
        word = word[1:]
    if word.startswith("-"):
        return word[1:] not in item
    if word[:1] in "<>" and "=" in word:
        op, (key, _, value) = word[0], word[1:].partition("=")
        have = item.get(key)
        if have is None:
            return False
        try:
            a, b = float(have), float(value)
        except ValueError:
            a, b = str(have), value
        return a < b if op == "<" else a > b
    if "=" in word:
        key, _, value = word.partition("=")
        return key in item and str(item[key]) == value
    return word in item


def matches(item: dict[str, Any], queries: list[str]) -> bool:
    """RouterOS query semantics: a stack of booleans that starts as endless `true`s."""
    stack: list[bool] = []

    def pop() -> bool:
        return stack.pop() if stack else True

    for word in queries:
        if not word.startswith("#"):
            stack.append(_compare(item, word))
            continue
        ops = word[1:]
        i = 0
        while i < len(ops):
            op = ops[i]
            if op == "!":
                stack.append(not pop())
            elif op == "&":
                a, b = pop(), pop()
                stack.append(a and b)
            elif op == "|":
                a, b = pop(), pop()
                stack.append(a or b)
            elif op == ".":
                top = pop()
                stack += [top, top]
            elif op.isdigit():
                j = i
                while j + 1 < len(ops) and ops[j + 1].isdigit():
                    j += 1
                index = int(ops[i:j + 1])
                stack.append(stack[index] if index < len(stack) else True)
                i = j
            else:
                raise Trap(f"unknown query operation {op!r}", 1)
            i += 1
    return all(stack)


def menus() -> dict[str, Menu]:
    """A fresh router: one hotspot server on `bridge`, a default profile, a DHCP network."""
    def m(path: str, fields: str, defaults: dict | None = None, **kw) -> Menu:
        return Menu(path, frozenset(fields.split()), dict(defaults or {}), **kw)

    table = [
        m("/ip/hotspot/user", "name password profile server limit-uptime limit-bytes-in limit-bytes-out "
          "limit-bytes-total mac-address address comment email disabled routes",
          {"profile": "default", "server": "all", "disabled": "false", "uptime": "0s", "bytes-in": "0",
           "bytes-out": "0", "packets-in": "0", "packets-out": "0", "dynamic": "false"},
          readonly=frozenset({"uptime", "bytes-in", "bytes-out", "packets-in", "packets-out", "dynamic"})),
        m("/ip/hotspot/user/profile", "name rate-limit shared-users session-timeout idle-timeout "
          "keepalive-timeout address-pool address-list add-mac-cookie mac-cookie-timeout comment "
          "on-login on-logout parent-queue",
          {"shared-users": "1", "rate-limit": "", "add-mac-cookie": "true", "mac-cookie-timeout": "3d"}),
        m("/ip/hotspot/active", "user address mac-address server", {}),
        m("/ip/hotspot/host", "mac-address address to-address server", {}),
        m("/ip/hotspot", "name interface address-pool profile idle-timeout addresses-per-mac disabled",
          {"idle-timeout": "5m", "addresses-per-mac": "2", "disabled": "false"}),
        m("/ip/hotspot/profile", "name hotspot-address dns-name html-directory login-by use-radius "
          "radius-accounting radius-interim-update nas-port-type radius-mac-format radius-location-name "
          "radius-default-domain split-user-domain mac-auth-password http-cookie-lifetime comment",
          {"use-radius": "false", "radius-accounting": "true", "radius-interim-update": "received",
           "login-by": "cookie,http-chap", "html-directory": "hotspot"}),
        m("/ip/hotspot/walled-garden", "dst-host dst-port path action server method comment src-address "
          "dst-address disabled", {"action": "allow", "disabled": "false"}),
        m("/ip/hotspot/walled-garden/ip", "dst-address dst-host protocol dst-port action server comment "
          "disabled", {"action": "accept", "disabled": "false"}),
        m("/radius", "service address secret authentication-port accounting-port timeout src-address "
          "protocol require-message-auth realm domain called-id accounting-backup comment disabled",
          {"authentication-port": "1812", "accounting-port": "1813", "timeout": "1100ms", "protocol": "udp",
           "require-message-auth": "yes-for-request-resp", "disabled": "false"}),
        m("/radius/incoming", "accept port vrf", {"accept": "false", "port": "1700"}, single=True),
        m("/ip/dhcp-server/option", "name code value comment", {}),
        m("/ip/dhcp-server/network", "address gateway dns-server dhcp-option domain comment", {}),
        m("/ppp/active", "name service caller-id address", {}),
        m("/file", "name contents", {}),
        m("/system/identity", "name", {"name": "MikroTik"}, single=True),
    ]
    found = {menu.path: menu for menu in table}
    found["/ip/hotspot/user/profile"].add({"name": "default"})
    found["/ip/hotspot/profile"].add({"name": "default"})
    found["/ip/hotspot"].add({"name": "hotspot1", "interface": "bridge", "address-pool": "hs-pool",
                              "profile": "default"})
    found["/ip/dhcp-server/network"].add({"address": "10.5.50.0/24", "gateway": "10.5.50.1"})
    found["/radius/incoming"].items.append({".id": "*0", "accept": "false", "port": "1700"})
    found["/system/identity"].items.append({".id": "*0", "name": "MikroTik"})
    return found
