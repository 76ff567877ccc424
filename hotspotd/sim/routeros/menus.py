"""The simulated router's configuration: menus of items with `.id`s, and `?` queries.

Each menu knows the properties RouterOS accepts in it (anything else is `unknown
parameter`), the values a few of them take (`action`), its defaults, the commands it has
(the host table is read-only but for `remove`), whether it is a list or a single item
(`/radius/incoming`, `/system/device-mode`), and whether its order matters (firewall and
walled-garden rules: `add` takes `place-before`). Written from docs/protocols.md §1.3
(queries), §1.7, §2, §3.1, §3.6 (fields), §2.7-§2.10 (host table, walled garden, NAT,
device-mode) and §8 (PPPoE server, PPP profiles, `/ppp/aaa`, pools).
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
    verbs: frozenset[str] = frozenset({"print", "getall", "add", "set", "remove"})
    choices: dict[str, frozenset[str]] = field(default_factory=dict)
    ordered: bool = False  # rules: `add` takes `place-before` (an .id or a position)

    def new_id(self) -> str:
        value = f"*{self.next_id:X}"
        self.next_id += 1
        return value

    def check(self, attrs: dict[str, str]) -> None:
        for key, value in attrs.items():
            if key == "place-before" and self.ordered:
                continue  # write-only, taken by add
            if key != ".id" and key not in self.fields:
                raise Trap(f"unknown parameter {key}", 1)
            if key in self.choices and value not in self.choices[key]:
                raise Trap(f"input does not match any value of {key}", 1)

    def add(self, attrs: dict[str, str]) -> dict[str, str]:
        attrs = dict(attrs)
        before = attrs.pop("place-before", None)
        self.check(attrs)
        if before is not None and not self.ordered:
            raise Trap("unknown parameter place-before", 1)
        index = len(self.items) if before is None else self.position(before)
        item = {".id": self.new_id(), **self.defaults, **attrs}
        self.items.insert(index, item)
        return item

    def position(self, ref: str) -> int:
        """Where `place-before` points: an item's `.id`, or its number in print order.
        Either must name an existing item; `0` on an empty list is `no such item` too
        (docs/protocols.md §2.9, observed)."""
        if ref.isdigit():
            if int(ref) < len(self.items):
                return int(ref)
            raise Trap("no such item", 0)
        for index, item in enumerate(self.items):
            if item[".id"] == ref:
                return index
        raise Trap("no such item", 0)

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


# `/system/device-mode print` on an `advanced` device (everything allowed); `home` and
# `basic` devices come with hotspot and proxy off (docs/protocols.md §2.10)
DEVICE_MODE = {"mode": "advanced", "allowed-versions": "7.13+,6.49.8+", "flagged": "false",
               "flagging-enabled": "true", "attempt-count": "0", "hotspot": "true", "proxy": "true",
               "fetch": "true", "scheduler": "true", "socks": "true", "bandwidth-test": "true", "email": "true",
               "sniffer": "true", "traffic-gen": "true", "romon": "true", "ipsec": "true", "pptp": "true",
               "l2tp": "true", "smb": "true", "zerotier": "true", "container": "false"}


def menus() -> dict[str, Menu]:
    """A fresh router: one hotspot server on `bridge`, a default profile, a DHCP network."""
    def m(path: str, fields: str, defaults: dict | None = None, **kw) -> Menu:
        return Menu(path, frozenset(fields.split()), dict(defaults or {}), **kw)

    def one_of(words: str) -> frozenset[str]:
        return frozenset(words.split())

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
        # the devices the hotspot sees: read-only (docs/protocols.md §2.7); see Router.connect_device
        m("/ip/hotspot/host", "mac-address address to-address server bridge-port comment", {},
          verbs=frozenset({"print", "getall", "remove"})),
        m("/ip/hotspot", "name interface address-pool profile idle-timeout addresses-per-mac disabled",
          {"idle-timeout": "5m", "addresses-per-mac": "2", "disabled": "false"}),
        m("/ip/hotspot/profile", "name hotspot-address dns-name html-directory login-by use-radius "
          "radius-accounting radius-interim-update nas-port-type radius-mac-format radius-location-name "
          "radius-default-domain split-user-domain mac-auth-password http-cookie-lifetime comment",
          {"use-radius": "false", "radius-accounting": "true", "radius-interim-update": "received",
           "login-by": "cookie,http-chap", "html-directory": "hotspot"}),
        m("/ip/hotspot/walled-garden", "dst-host dst-port path action server method comment src-address "
          "dst-address disabled", {"action": "allow", "disabled": "false"}, choices={"action": one_of("allow deny")},
          ordered=True),
        m("/ip/hotspot/walled-garden/ip", "dst-address dst-address-list dst-host protocol dst-port src-address "
          "src-address-list action server comment disabled", {"action": "accept", "disabled": "false"},
          choices={"action": one_of("accept drop reject")}, ordered=True),
        m("/ip/firewall/nat", "chain action src-address dst-address src-address-list dst-address-list protocol "
          "src-port dst-port in-interface out-interface in-interface-list out-interface-list to-addresses "
          "to-ports ipsec-policy log log-prefix comment disabled",
          {"action": "accept", "disabled": "false", "dynamic": "false", "invalid": "false", "bytes": "0",
           "packets": "0"},
          choices={"action": one_of("accept masquerade src-nat dst-nat redirect netmap same return jump passthrough "
                                     "log add-src-to-address-list add-dst-to-address-list "
                                     "endpoint-independent-nat")},
          readonly=frozenset({"dynamic", "invalid", "bytes", "packets"}), ordered=True),
        m("/radius", "service address secret authentication-port accounting-port timeout src-address "
          "protocol require-message-auth realm domain called-id accounting-backup comment disabled",
          {"authentication-port": "1812", "accounting-port": "1813", "timeout": "1100ms", "protocol": "udp",
           "require-message-auth": "yes-for-request-resp", "disabled": "false"}),
        m("/radius/incoming", "accept port vrf", {"accept": "false", "port": "1700"}, single=True),
        m("/ip/address", "address network interface comment disabled", {"disabled": "false"}),
        m("/ip/dhcp-server/option", "name code value comment", {}),
        m("/ip/dhcp-server/network", "address gateway dns-server dhcp-option domain comment", {}),
        m("/ppp/active", "name service caller-id address", {}),
        # PPPoE for home subscribers (protocols.md §8.1-§8.4; field names as published)
        m("/interface/pppoe-server/server", "service-name interface default-profile authentication "
          "one-session-per-host max-mtu max-mru mrru keepalive-timeout max-sessions pado-delay "
          "accept-empty-service disabled comment",
          {"service-name": "", "default-profile": "default", "authentication": "pap,chap,mschap1,mschap2",
           "one-session-per-host": "no", "max-mtu": "auto", "max-mru": "auto", "keepalive-timeout": "10",
           "max-sessions": "unlimited", "disabled": "yes"}),
        m("/ppp/profile", "name local-address remote-address rate-limit dns-server address-list session-timeout "
          "idle-timeout only-one use-encryption bridge comment",
          {"only-one": "default", "use-encryption": "default"}),
        m("/ppp/aaa", "use-radius accounting interim-update enable-ipv6-accounting use-circuit-id-in-nas-port-id",
          {}, single=True),
        m("/ppp/secret", "name password service profile local-address remote-address caller-id disabled comment",
          {"service": "any", "profile": "default", "disabled": "false"}),
        m("/ip/pool", "name ranges next-pool comment", {}),
        m("/ip/address", "address network interface comment disabled", {"disabled": "false"}),
        m("/ip/dhcp-server", "name interface address-pool lease-time authoritative use-radius disabled comment",
          {"lease-time": "30m", "authoritative": "yes", "use-radius": "no", "disabled": "no"}),
        m("/ip/firewall/filter", "chain action src-address dst-address src-address-list dst-address-list protocol "
          "src-port dst-port in-interface out-interface in-interface-list out-interface-list connection-state "
          "reject-with log log-prefix comment disabled",
          {"disabled": "false", "dynamic": "false", "invalid": "false", "bytes": "0", "packets": "0"},
          choices={"action": one_of("accept drop reject jump return passthrough fasttrack-connection tarpit log "
                                     "add-src-to-address-list add-dst-to-address-list")},
          readonly=frozenset({"dynamic", "invalid", "bytes", "packets"}), ordered=True),
        m("/file", "name contents", {}),
        m("/system/identity", "name", {"name": "MikroTik"}, single=True),
        # RouterOS 7.17+ (docs/protocols.md §2.10); changed only with `update` and a button press,
        # so over this API it is read-only: tests switch it with Router.set_device_mode
        m("/system/device-mode", " ".join(DEVICE_MODE), single=True, verbs=frozenset({"print", "getall"})),
    ]
    found = {menu.path: menu for menu in table}
    found["/ip/hotspot/user/profile"].add({"name": "default"})
    found["/ip/hotspot/profile"].add({"name": "default"})
    found["/ip/hotspot"].add({"name": "hotspot1", "interface": "bridge", "address-pool": "hs-pool",
                              "profile": "default"})
    found["/ip/address"].add({"address": "10.5.50.1/24", "network": "10.5.50.0", "interface": "bridge"})
    found["/ip/dhcp-server/network"].add({"address": "10.5.50.0/24", "gateway": "10.5.50.1"})
    found["/radius/incoming"].items.append({".id": "*0", "accept": "false", "port": "1700"})
    found["/ppp/aaa"].items.append({".id": "*0", "use-radius": "false", "accounting": "true", "interim-update": "0s",
                                    "enable-ipv6-accounting": "false", "use-circuit-id-in-nas-port-id": "false"})
    for name in ("default", "default-encryption"):  # built in, cannot be removed (§8.2)
        found["/ppp/profile"].add({"name": name, "use-encryption": "default" if name == "default" else "yes"})
    found["/ip/address"].add({"address": "10.5.50.1/24", "network": "10.5.50.0", "interface": "bridge"})
    found["/ip/pool"].add({"name": "hs-pool", "ranges": "10.5.50.2-10.5.50.254"})
    rules = found["/ip/firewall/filter"]  # the default configuration's
    for rule in ({"chain": "input", "action": "accept", "connection-state": "established,related,untracked"},
                 {"chain": "input", "action": "drop", "in-interface-list": "!LAN"},
                 {"chain": "forward", "action": "fasttrack-connection", "connection-state": "established,related"},
                 {"chain": "forward", "action": "accept", "connection-state": "established,related,untracked"}):
        rules.add({**rule, "comment": "defconf"})
    found["/system/identity"].items.append({".id": "*0", "name": "MikroTik"})
    found["/system/device-mode"].items.append({".id": "*0", **DEVICE_MODE})
    nat = found["/ip/firewall/nat"]
    # the default configuration's masquerade, then the one the hotspot setup wizard adds
    # (`masquerade network: yes`: no out-interface, docs/protocols.md §2.9)
    nat.add({"chain": "srcnat", "action": "masquerade", "out-interface-list": "WAN", "ipsec-policy": "out,none",
             "comment": "defconf: masquerade"})
    nat.add({"chain": "srcnat", "action": "masquerade", "src-address": "10.5.50.0/24",
             "comment": "masquerade hotspot network"})
    return found
