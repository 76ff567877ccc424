"""The one description of a router's configuration for hotspotd: `deploy` applies it step
by step through the API, and `script` renders it as a RouterOS script (.rsc) to paste.

Each `Entry` is one step: a menu, how to find hotspotd's item in it, and the values it
must have. `one`: exactly one item matching `find` (added when missing, corrected when
different, duplicates removed); `single`: a menu that is one item (`/radius/incoming`);
`every`: every item of the menu gets the values (every hotspot server uses our profile).
"""

from __future__ import annotations

import html
import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..config import Config
from ..errors import InvalidInput
from ..store.models import Router
from .records import RouterMode

TAG = "hotspotd"
LOGIN_PAGE = f"{TAG}/login.html"
CAPTIVE_OPTION = "captive"
# MikroTik's login-page variables the portal takes (protocols.md §2.5)
LOGIN_VARIABLES = ("mac", "ip", "link-login-only", "link-orig", "error", "chap-id", "chap-challenge")


@dataclass(frozen=True)
class Entry:
    step: str
    path: str
    values: dict[str, str]
    find: dict[str, str] = field(default_factory=dict)
    scope: str = "one"  # one | single | every


def radius_address(config: Config) -> str:
    """hotspotd's address as the routers reach it (their RADIUS server)."""
    address = config.routers.radius_address or (urlsplit(config.portal.public_url).hostname or "")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        raise InvalidInput(f"the routers need hotspotd's IP address for RADIUS (got {address!r}); "
                           "set [routers] radius_address") from None


def login_page(portal_url: str) -> str:
    """A login.html that sends the customer to the portal with MikroTik's variables."""
    inputs = "".join(f'<input type="hidden" name="{name}" value="$({name})">' for name in LOGIN_VARIABLES)
    action = html.escape(portal_url.rstrip("/") + "/", quote=True)
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>Hotspot</title></head>'
            f'<body><form name="go" action="{action}" method="get">{inputs}'
            '<noscript><button type="submit">Continue</button></noscript></form>'
            '<script>document.go.submit();</script></body></html>')


def describe(router: Router, config: Config) -> list[Entry]:
    """Every setting hotspotd needs on `router`, in the order they are applied."""
    radius_mode = router.mode == RouterMode.RADIUS
    portal = config.portal.public_url.rstrip("/")
    entries = []
    if radius_mode:
        entries += [
            Entry("radius", "/radius", {"service": "hotspot", "address": radius_address(config),
                                        "secret": router.secret, "authentication-port": str(config.radius.auth_port),
                                        "accounting-port": str(config.radius.acct_port)},
                  find={"comment": TAG}),
            Entry("radius-incoming", "/radius/incoming", {"accept": "yes", "port": str(router.coa_port)},
                  scope="single"),
        ]
    entries += [
        Entry("hotspot-profile", "/ip/hotspot/profile",
              {"use-radius": "yes" if radius_mode else "no", "radius-accounting": "yes" if radius_mode else "no",
               "radius-interim-update": "received", "login-by": "cookie,http-chap,http-pap",
               "html-directory": TAG},
              find={"name": TAG}),
        Entry("hotspot-servers", "/ip/hotspot", {"profile": TAG}, scope="every"),
        Entry("walled-garden", "/ip/hotspot/walled-garden",
              {"dst-host": urlsplit(portal).hostname or "", "action": "allow"}, find={"comment": TAG}),
        Entry("login-page", "/file", {"contents": login_page(portal)}, find={"name": LOGIN_PAGE}),
        Entry("dhcp-option", "/ip/dhcp-server/option",
              {"code": "114", "value": f"'{portal}/api/captive'"}, find={"name": CAPTIVE_OPTION}),
        Entry("dhcp-networks", "/ip/dhcp-server/network", {"dhcp-option": CAPTIVE_OPTION}, scope="every"),
    ]
    return entries


def steps(router: Router, config: Config) -> list[str]:
    return [entry.step for entry in describe(router, config)]
