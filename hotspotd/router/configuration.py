"""The one description of a router's configuration for hotspotd: `deploy` applies it step
by step through the API, and `script` renders it as a RouterOS script (.rsc) to paste.

Each `Entry` is one step: a menu, how to find hotspotd's item in it, and the values it
must have. `one`: exactly one item matching `find` (added when missing, corrected when
different, duplicates removed), placed before the first item matching `before` when given
(a NAT rule before the masquerade); `single`: a menu that is one item
(`/radius/incoming`); `every`: every item of the menu gets the values (every hotspot
server uses our profile); `absent`: no item matches `find` (one an earlier version made);
`require`: the router must already hold the values, or nothing is changed and the
operator is told what to do (`refusal`): device-mode must allow the hotspot.

How customers reach the box (docs/protocols.md §2.8-§2.9): through the IP walled garden (their
packets are routed, not proxied by the router) and past the hotspot's masquerade (a
`srcnat` `accept` for the box's address before it), so the portal sees each device's own
address and can ask the router which device it is. The HTTP walled garden, which goes
through the router's proxy, is kept only for a portal reached by a name or another address.
"""

from __future__ import annotations

import html
import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..config import Config
from ..errors import InvalidInput
from ..store.models import Router
from .records import RouterMode

TAG = "hotspotd"
LOGIN_PAGE = f"{TAG}/login.html"
CAPTIVE_OPTION = "captive"
# MikroTik's login-page variables the portal takes; anyone can forge them, so they prove
# nothing about who is asking (docs/protocols.md §2.5)
LOGIN_VARIABLES = ("mac", "ip", "link-login-only", "link-orig", "error", "chap-id", "chap-challenge")
# what the portal URL may hold: it is written into a login page, a DHCP option value (in
# RouterOS quotes) and a script; anything else is refused rather than escaped three ways
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/%-]*)?")
DEVICE_MODE_OFF = (
    "the router's device-mode does not allow the hotspot (hotspot=no), so nothing was changed. "
    "On the router run `/system/device-mode/update hotspot=yes`, then within the activation timeout "
    "(5 minutes unless changed) press its reset or mode button once, or cut the power and turn it on again; "
    "it restarts with the hotspot allowed (some older models take only the power cut). "
    "Then deploy (or run this script) again.")


@dataclass(frozen=True)
class Entry:
    step: str
    path: str
    values: dict[str, str]
    find: dict[str, str] = field(default_factory=dict)
    scope: str = "one"  # one | single | every | absent | require
    before: dict[str, str] | None = None  # one: placed before the first item matching this
    refusal: str = ""  # require: what to tell the operator when the router does not hold the values


def radius_address(config: Config) -> str:
    """hotspotd's IPv4 address as the routers and their customers reach it: the routers'
    RADIUS server, the IP walled garden's and the NAT exemption's destination."""
    address = config.routers.radius_address or (urlsplit(config.portal.public_url).hostname or "")
    try:
        return str(ipaddress.IPv4Address(address))
    except ValueError:
        raise InvalidInput(f"the routers need hotspotd's IPv4 address for RADIUS and the walled garden "
                           f"(got {address!r}); set [routers] radius_address") from None


def portal_url(config: Config) -> str:
    """The portal's URL as the router's pages and DHCP option carry it; refused unless plain."""
    url = config.portal.public_url.rstrip("/")
    if not _PLAIN_URL.fullmatch(url):
        raise InvalidInput(f"[portal] public_url {url!r} cannot be written into the router's login page: "
                           "use a plain http(s)://host[:port][/path] (letters, digits, . - _ ~ / %)")
    return url


def login_page(url: str) -> str:
    """A login.html that sends the customer to the portal (at `url`) with MikroTik's variables."""
    inputs = "".join(f'<input type="hidden" name="{name}" value="$({name})">' for name in LOGIN_VARIABLES)
    action = html.escape(url.rstrip("/") + "/", quote=True)
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>Hotspot</title></head>'
            f'<body><form name="go" action="{action}" method="get">{inputs}'
            '<noscript><button type="submit">Continue</button></noscript></form>'
            '<script>document.go.submit();</script></body></html>')


# What each service hotspotd deploys asks of the router's `/radius` entry (§3.1, §8.4);
# plain DHCP asks nothing of RADIUS.
RADIUS_SERVICES = {"hotspot": "hotspot", "pppoe": "ppp"}


def deployed_services(router: Router) -> set[str]:
    """The services deployed on the router (one deployed before they were recorded: the hotspot)."""
    found = {name for name in (router.services or "").split(",") if name}
    return found or ({"hotspot"} if router.deployed_at is not None else set())


def radius_entries(router: Router, config: Config, services: set[str]) -> list[Entry]:
    """hotspotd as the router's RADIUS server for `services` (its `service` names them all,
    so deploying one service never takes RADIUS away from another), and `/radius incoming`
    for Disconnect-Requests."""
    wanted = sorted({RADIUS_SERVICES[name] for name in services if name in RADIUS_SERVICES})
    return [
        Entry("radius", "/radius", {"service": ",".join(wanted), "address": radius_address(config),
                                    "secret": router.secret, "authentication-port": str(config.radius.auth_port),
                                    "accounting-port": str(config.radius.acct_port)},
              find={"comment": TAG}),
        Entry("radius-incoming", "/radius/incoming", {"accept": "yes", "port": str(router.coa_port)},
              scope="single"),
    ]


def nat_exemption(box: str) -> Entry:
    """A `srcnat` `accept` to the box before the masquerade: the portal sees each device's own
    address (the hotspot's phones, the PPPoE subscribers' CPEs) and can ask who it is."""
    return Entry("nat-exemption", "/ip/firewall/nat", {"chain": "srcnat", "action": "accept", "dst-address": box},
                 find={"comment": TAG}, before={"chain": "srcnat", "action": "masquerade"})


def describe(router: Router, config: Config) -> list[Entry]:
    """Every setting hotspotd needs on `router` for the hotspot, in the order they are applied
    (PPPoE and DHCP: `router.services.describe_service`)."""
    radius_mode = router.mode == RouterMode.RADIUS
    portal = portal_url(config)
    box = radius_address(config)
    portal_host = urlsplit(portal).hostname or ""
    entries = [Entry("device-mode", "/system/device-mode", {"hotspot": "yes"}, scope="require",
                     refusal=DEVICE_MODE_OFF)]
    if radius_mode:
        entries += radius_entries(router, config, deployed_services(router) | {"hotspot"})
    entries += [
        Entry("hotspot-profile", "/ip/hotspot/profile",
              {"use-radius": "yes" if radius_mode else "no", "radius-accounting": "yes" if radius_mode else "no",
               "radius-interim-update": "received", "login-by": "cookie,http-chap,http-pap",
               "html-directory": TAG},
              find={"name": TAG}),
        Entry("hotspot-servers", "/ip/hotspot", {"profile": TAG}, scope="every"),
        Entry("walled-garden-ip", "/ip/hotspot/walled-garden/ip", {"action": "accept", "dst-address": box},
              find={"comment": TAG}),
        nat_exemption(box),
        Entry("walled-garden", "/ip/hotspot/walled-garden", {"dst-host": portal_host, "action": "allow"},
              find={"comment": TAG})
        if portal_host != box else
        Entry("walled-garden", "/ip/hotspot/walled-garden", {}, find={"comment": TAG}, scope="absent"),
        Entry("login-page", "/file", {"contents": login_page(portal)}, find={"name": LOGIN_PAGE}),
        Entry("dhcp-option", "/ip/dhcp-server/option",
              {"code": "114", "value": f"'{portal}/api/captive'"}, find={"name": CAPTIVE_OPTION}),
        Entry("dhcp-networks", "/ip/dhcp-server/network", {"dhcp-option": CAPTIVE_OPTION}, scope="every"),
    ]
    return entries


def steps(router: Router, config: Config) -> list[str]:
    return [entry.step for entry in describe(router, config)]
