"""What a router needs for each service hotspotd deploys: the hotspot (`configuration.describe`),
PPPoE for home subscribers, or a plain DHCP server. One description per service, applied by
`deploy` step by step and rendered by `script` as a `.rsc`.

PPPoE (docs/protocols.md §8.1-§8.5): hotspotd as RADIUS server for `ppp` (with the services
deployed before), `/radius incoming` for Disconnect-Requests, two address pools (subscribers
on a plan, suspended ones), two PPP profiles (the plan's, and "expired": the suspended pool
and an address list), `/ppp/aaa` with RADIUS and interim accounting, the PPPoE server on the
chosen interface, the NAT exemption for the box, and the suspended subscribers' walls: their
plain web traffic (TCP 80) goes to the portal, which shows "please pay"; DNS to the router
is let in; everything else they send is refused. A local `/ppp/secret` with a subscriber's
name would win over RADIUS (§8.3): `secrets_shadowing` finds them.

DHCP: a pool, the server on the interface, its network, and the gateway's address there.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from ..config import Config
from ..errors import InvalidInput
from ..pppoe import settings as ppp
from ..store.models import Router
from .configuration import TAG, Entry, deployed_services, describe, nat_exemption, portal_url, radius_address, \
    radius_entries
from .records import RouterMode

HOTSPOT, PPPOE, DHCP = "hotspot", "pppoe", "dhcp"
SERVICES = (HOTSPOT, PPPOE, DHCP)
DHCP_POOL = "hotspotd-dhcp"
REDIRECT_TAG = f"{TAG}: please pay"
WALL_TAG = f"{TAG}: suspended"
DNS_TAG = f"{TAG}: suspended dns"
_INTERFACE = re.compile(r"[^\x00-\x1f\x7f\"\\$?]{1,64}")


def interface_name(value: str | None, service: str) -> str:
    name = (value or "").strip()
    if not name:
        raise InvalidInput(f"deploying {service} needs the interface it runs on (--interface, e.g. ether2)")
    if not _INTERFACE.fullmatch(name):
        raise InvalidInput(f"{name!r} is not an interface name")
    return name


def dhcp_network(value: str | None) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.IPv4Network((value or "").strip(), strict=True)
    except ValueError:
        raise InvalidInput(f"the DHCP network must be like 10.30.0.0/24 (got {value!r})") from None
    if network.num_addresses < 8:
        raise InvalidInput("the DHCP network is too small (a /29 at least)")
    return network


def _portal_port(config: Config) -> str:
    parts = urlsplit(portal_url(config))
    return str(parts.port or (443 if parts.scheme == "https" else 80))


def pppoe(router: Router, config: Config, interface: str) -> list[Entry]:
    settings, box = config.pppoe, radius_address(config)
    dns = settings.local_address
    entries = radius_entries(router, config, deployed_services(router) | {PPPOE})
    return entries + [
        Entry("ppp-pool", "/ip/pool", {"ranges": settings.pool_ranges, "comment": TAG}, find={"name": ppp.POOL}),
        Entry("suspended-pool", "/ip/pool", {"ranges": settings.suspended_ranges, "comment": TAG},
              find={"name": ppp.SUSPENDED_POOL}),
        Entry("ppp-profile", "/ppp/profile", {"local-address": settings.local_address, "remote-address": ppp.POOL,
                                              "dns-server": dns, "only-one": "no", "comment": TAG},
              find={"name": ppp.PROFILE}),
        Entry("suspended-profile", "/ppp/profile",
              {"local-address": settings.local_address, "remote-address": ppp.SUSPENDED_POOL, "dns-server": dns,
               "address-list": ppp.ADDRESS_LIST, "rate-limit": settings.suspended_rate, "only-one": "no",
               "comment": TAG},
              find={"name": ppp.SUSPENDED_PROFILE}),
        Entry("ppp-aaa", "/ppp/aaa", {"use-radius": "yes", "accounting": "yes",
                                      "interim-update": f"{config.radius.interim_interval}s"}, scope="single"),
        Entry("pppoe-server", "/interface/pppoe-server/server",
              {"service-name": settings.service_name, "default-profile": ppp.PROFILE,
               "authentication": ppp.AUTHENTICATION, "one-session-per-host": "yes", "keepalive-timeout": "10",
               "max-mtu": "1480", "max-mru": "1480", "disabled": "no"},
              find={"interface": interface}),
        nat_exemption(box),
        Entry("please-pay-redirect", "/ip/firewall/nat",
              {"chain": "dstnat", "src-address-list": ppp.ADDRESS_LIST, "protocol": "tcp", "dst-port": "80",
               "action": "dst-nat", "to-addresses": box, "to-ports": _portal_port(config)},
              find={"comment": REDIRECT_TAG}),
        Entry("suspended-dns", "/ip/firewall/filter",
              {"chain": "input", "src-address-list": ppp.ADDRESS_LIST, "protocol": "udp", "dst-port": "53",
               "action": "accept"},
              find={"comment": DNS_TAG}, before={"chain": "input"}),
        Entry("suspended-wall", "/ip/firewall/filter",
              {"chain": "forward", "src-address-list": ppp.ADDRESS_LIST, "dst-address": f"!{box}",
               "action": "reject", "reject-with": "icmp-network-prohibited"},
              find={"comment": WALL_TAG}, before={"chain": "forward"}),
    ]


def dhcp(config: Config, interface: str, network: ipaddress.IPv4Network) -> list[Entry]:
    hosts = list(network.hosts())
    gateway = str(hosts[0])
    first = hosts[min(9, len(hosts) // 2)]
    return [
        Entry("dhcp-address", "/ip/address", {"interface": interface, "comment": TAG},
              find={"address": f"{gateway}/{network.prefixlen}"}),
        Entry("dhcp-pool", "/ip/pool", {"ranges": f"{first}-{hosts[-1]}", "comment": TAG}, find={"name": DHCP_POOL}),
        Entry("dhcp-server", "/ip/dhcp-server", {"interface": interface, "address-pool": DHCP_POOL,
                                                  "lease-time": "1h", "disabled": "no", "comment": TAG},
              find={"name": DHCP_POOL}),
        Entry("dhcp-network", "/ip/dhcp-server/network", {"gateway": gateway, "dns-server": gateway, "comment": TAG},
              find={"address": str(network)}),
    ]


def describe_service(router: Router, config: Config, service: str = HOTSPOT, *, interface: str | None = None,
                     network: str | None = None) -> list[Entry]:
    """The steps that deploy `service` on `router` (InvalidInput when something is missing)."""
    if service == HOTSPOT:
        return describe(router, config)
    if service == PPPOE:
        if router.mode != RouterMode.RADIUS:
            raise InvalidInput("PPPoE subscribers log in through hotspotd's RADIUS: set the router's mode to radius")
        return pppoe(router, config, interface_name(interface, service))
    if service == DHCP:
        return dhcp(config, interface_name(interface, service), dhcp_network(network))
    raise InvalidInput(f"service must be one of {', '.join(SERVICES)}")


def secrets_shadowing(api, usernames: set[str]) -> list[str]:
    """Local `/ppp/secret`s named like a subscriber: the router asks RADIUS only for names it
    does not hold itself (§8.3), so these subscribers would never reach hotspotd."""
    return sorted(row.get("name", "") for row in api.print("/ppp/secret") if row.get("name") in usernames)
