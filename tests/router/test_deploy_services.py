"""Deploy by service: PPPoE for home subscribers and a plain DHCP server, applied through the
real client to the simulator, idempotent, resuming at a failed step, read back over the API,
and the same description as a .rsc."""

from __future__ import annotations

import pytest

from hotspotd.console.audit import COMMAND_LINE
from hotspotd.errors import InvalidInput
from hotspotd.pppoe.subscribers import add_subscriber
from hotspotd.router import operations
from hotspotd.router.api import same
from hotspotd.router.services import describe_service
from hotspotd.store.models import Event, HealthLog, Router

from .conftest import register
from .test_deploy import changes, read_back


def test_deploy_pppoe_twice_and_read_it_back(runtime, routeros, now):
    router = register(routeros, mode="radius", now=now)
    lines: list[str] = []
    assert operations.deploy(runtime, "gate", lines.append, service="pppoe", interface="ether2")
    first = len(routeros.router.log)
    assert operations.deploy(runtime, router.id, service="pppoe", interface="ether2")
    assert changes(routeros, first) == []  # the second run changed nothing
    box, config = "127.0.0.1", runtime.config
    [radius] = read_back(routeros, "/radius")
    assert (radius["service"], radius["address"]) == ("ppp", box)
    pools = {p["name"]: p["ranges"] for p in read_back(routeros, "/ip/pool")}
    assert pools["hotspotd-pppoe"] == "10.20.0.2-10.20.255.254" and pools["hotspotd-suspended"] == "10.21.0.2-10.21.0.254"
    profiles = {p["name"]: p for p in read_back(routeros, "/ppp/profile")}
    assert profiles["hotspotd-pppoe"]["remote-address"] == "hotspotd-pppoe"
    expired = profiles["hotspotd-expired"]
    assert (expired["remote-address"], expired["address-list"], expired["rate-limit"]) == (
        "hotspotd-suspended", "hotspotd-suspended", "256k/256k")
    aaa = read_back(routeros, "/ppp/aaa")[0]
    assert same(aaa["use-radius"], True) and same(aaa["accounting"], True) and aaa["interim-update"] == "300s"
    [server] = read_back(routeros, "/interface/pppoe-server/server")
    assert (server["interface"], server["default-profile"], server["authentication"]) == (
        "ether2", "hotspotd-pppoe", "pap,chap,mschap2")
    assert same(server["disabled"], False) and same(server["one-session-per-host"], True)
    nat = read_back(routeros, "/ip/firewall/nat")
    redirect = next(r for r in nat if r.get("comment") == "hotspotd: please pay")
    assert (redirect["chain"], redirect["src-address-list"], redirect["dst-port"], redirect["action"],
            redirect["to-addresses"], redirect["to-ports"]) == ("dstnat", "hotspotd-suspended", "80", "dst-nat", box,
                                                                 config.portal.public_url.rsplit(":", 1)[1])
    filters = read_back(routeros, "/ip/firewall/filter")
    names = [r.get("comment") for r in filters]
    dns, wall = names.index("hotspotd: suspended dns"), names.index("hotspotd: suspended")
    assert dns < names.index("defconf") and filters[wall]["dst-address"] == f"!{box}"
    assert wall < [i for i, r in enumerate(filters) if r["chain"] == "forward" and r.get("comment") == "defconf"][0]
    assert Router.get_by_id(router.id).services == "pppoe"
    assert lines[-1] == "completed"


def test_the_radius_entry_serves_every_service_deployed(runtime, routeros, now):
    register(routeros, mode="radius", now=now)
    assert operations.deploy(runtime, "gate")
    assert operations.deploy(runtime, "gate", service="pppoe", interface="ether2")
    assert read_back(routeros, "/radius")[0]["service"] == "hotspot,ppp"
    assert operations.deploy(runtime, "gate")  # the hotspot again: PPP keeps its RADIUS
    assert read_back(routeros, "/radius")[0]["service"] == "hotspot,ppp"
    assert Router.get(Router.name == "gate").services == "hotspot,pppoe"


def test_a_failed_pppoe_deploy_resumes_at_its_step(runtime, routeros, now):
    register(routeros, mode="radius", now=now)
    routeros.router.menus["/ppp/profile"].fields = routeros.router.menus["/ppp/profile"].fields - {"only-one"}
    assert not operations.deploy(runtime, "gate", service="pppoe", interface="ether2")
    failed = Event.select().where(Event.type == "router.deploy.failed").get().data
    assert (failed["step"], failed["service"]) == ("ppp-profile", "pppoe") and "only-one" in failed["error"]
    routeros.router.menus["/ppp/profile"].fields |= {"only-one"}
    lines: list[str] = []
    assert operations.deploy(runtime, "gate", lines.append, service="pppoe")  # the interface is remembered
    assert "  ppp-pool: done in the previous run" in lines and "  ppp-profile: added" in lines
    assert read_back(routeros, "/interface/pppoe-server/server")[0]["interface"] == "ether2"


def test_local_secrets_that_shadow_subscribers_are_named(runtime, routeros, now):
    from hotspotd.billing.packages import add_package
    plan = add_package(name="Home", price=1500, duration="30d", service="pppoe", now=now)
    add_subscriber(name="Kamau", phone=None, package_id=plan.id, now=now, by=COMMAND_LINE, username="kamau")
    routeros.router.menus["/ppp/secret"].add({"name": "kamau", "password": "old"})
    register(routeros, mode="radius", now=now)
    lines: list[str] = []
    assert operations.deploy(runtime, "gate", lines.append, service="pppoe", interface="ether2")
    assert any("/ppp/secret kamau" in line for line in lines)
    assert Event.select().where(Event.type == "router.deploy.completed").get().data["shadowed"] == ["kamau"]
    assert "kamau" in HealthLog.select().order_by(HealthLog.id.desc()).get().message


def test_deploy_dhcp(runtime, routeros, now):
    register(routeros, mode="api", now=now)
    assert operations.deploy(runtime, "gate", service="dhcp", interface="ether3", network="10.30.0.0/24")
    first = len(routeros.router.log)
    assert operations.deploy(runtime, "gate", service="dhcp", interface="ether3", network="10.30.0.0/24")
    assert changes(routeros, first) == []
    [server] = read_back(routeros, "/ip/dhcp-server")
    assert (server["name"], server["interface"], server["address-pool"]) == ("hotspotd-dhcp", "ether3", "hotspotd-dhcp")
    assert {p["name"]: p["ranges"] for p in read_back(routeros, "/ip/pool")}["hotspotd-dhcp"] == "10.30.0.10-10.30.0.254"
    network = next(n for n in read_back(routeros, "/ip/dhcp-server/network") if n["address"] == "10.30.0.0/24")
    assert (network["gateway"], network["dns-server"]) == ("10.30.0.1", "10.30.0.1")
    assert any(a["address"] == "10.30.0.1/24" and a["interface"] == "ether3" for a in read_back(routeros, "/ip/address"))
    assert read_back(routeros, "/radius") == []  # plain DHCP asks nothing of RADIUS


@pytest.mark.parametrize("service, kwargs, message", [
    ("pppoe", {}, "--interface"), ("dhcp", {"interface": "ether3", "network": "10.30.0.0/33"}, "DHCP network"),
    ("ftp", {}, "service must be"), ("pppoe", {"interface": 'eth"; /system reset'}, "not an interface"),
])
def test_what_a_service_needs_is_checked_first(runtime, routeros, now, service, kwargs, message):
    router = register(routeros, mode="radius", now=now)
    with pytest.raises(InvalidInput, match=message):
        describe_service(router, runtime.config, service, **kwargs)
    assert not operations.deploy(runtime, "gate", service=service, **kwargs)
    assert changes(routeros) == []


def test_pppoe_needs_a_radius_mode_router(runtime, routeros, now):
    router = register(routeros, mode="api", now=now)
    with pytest.raises(InvalidInput, match="radius"):
        describe_service(router, runtime.config, "pppoe", interface="ether2")


def test_the_pppoe_script_sets_what_deploy_sets(runtime, routeros, now):
    register(routeros, mode="radius", now=now)
    text = operations.script(runtime, "gate", service="pppoe", interface="ether2")
    assert text.startswith("# hotspotd pppoe configuration for router gate")
    for line in ("/interface pppoe-server server add interface=ether2", "/ppp aaa set use-radius=yes",
                 "/ip pool add name=hotspotd-suspended", "/ppp profile add name=hotspotd-expired",
                 '/ip firewall nat add comment="hotspotd: please pay"', "place-before=[:pick $before 0]"):
        assert line in text, line
