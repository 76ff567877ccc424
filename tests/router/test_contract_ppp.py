"""The contract for the menus PPPoE and DHCP deploys use, as protocols.md §8 publishes them:
both clients (librouteros and the independent wire client) against the simulator, RouterOS 6
and 7 alike (the `setup` and `api` fixtures of test_contract)."""

from __future__ import annotations

import pytest

from hotspotd.router.api import RouterCommandRefused, same

from .test_contract import api, setup  # noqa: F401 (fixtures)


def test_pppoe_server_fields_and_one_per_interface(api):
    api.add("/ip/pool", {"name": "p1", "ranges": "10.20.0.2-10.20.0.9"})
    api.add("/ppp/profile", {"name": "plan", "local-address": "10.20.0.1", "remote-address": "p1"})
    server = api.add("/interface/pppoe-server/server", {"interface": "ether2", "default-profile": "plan",
                                                        "authentication": "pap,chap,mschap2", "disabled": "no"})
    [row] = api.print("/interface/pppoe-server/server")
    assert row[".id"] == server and row["interface"] == "ether2" and row["default-profile"] == "plan"
    assert row["authentication"] == "pap,chap,mschap2" and same(row["disabled"], False)
    assert row["service-name"] == "" and same(row["one-session-per-host"], False)  # the published defaults
    with pytest.raises(RouterCommandRefused, match="already"):
        api.add("/interface/pppoe-server/server", {"interface": "ether2"})
    with pytest.raises(RouterCommandRefused, match="authentication"):
        api.set("/interface/pppoe-server/server", server, {"authentication": "pap,eap"})
    with pytest.raises(RouterCommandRefused, match="profile"):
        api.set("/interface/pppoe-server/server", server, {"default-profile": "nope"})


def test_ppp_profiles_name_pools_and_the_built_in_ones_stay(api):
    names = [p["name"] for p in api.print("/ppp/profile")]
    assert names[:2] == ["default", "default-encryption"]
    with pytest.raises(RouterCommandRefused, match="remote-address"):
        api.add("/ppp/profile", {"name": "x", "remote-address": "no-such-pool"})
    api.add("/ppp/profile", {"name": "fixed", "remote-address": "10.20.0.5"})  # an address is fine
    default = api.print("/ppp/profile", where={"name": "default"})[0][".id"]
    with pytest.raises(RouterCommandRefused):
        api.remove("/ppp/profile", default)


def test_ppp_aaa_is_one_item(api):
    row = api.print("/ppp/aaa")[0]
    assert same(row["use-radius"], False) and same(row["accounting"], True) and row["interim-update"] == "0s"
    api.set("/ppp/aaa", None, {"use-radius": "yes", "interim-update": "300s"})
    row = api.print("/ppp/aaa")[0]
    assert same(row["use-radius"], True) and row["interim-update"] == "300s"
    with pytest.raises(RouterCommandRefused):
        api.add("/ppp/aaa", {"use-radius": "yes"})


def test_dhcp_server_pool_and_network(api):
    with pytest.raises(RouterCommandRefused, match="address-pool"):
        api.add("/ip/dhcp-server", {"name": "d", "interface": "ether3", "address-pool": "missing"})
    api.add("/ip/pool", {"name": "dp", "ranges": "10.30.0.10-10.30.0.254"})
    api.add("/ip/dhcp-server", {"name": "d", "interface": "ether3", "address-pool": "dp"})
    api.add("/ip/dhcp-server/network", {"address": "10.30.0.0/24", "gateway": "10.30.0.1", "dns-server": "10.30.0.1"})
    assert [(d["name"], d["address-pool"]) for d in api.print("/ip/dhcp-server")] == [("d", "dp")]
    assert api.print("/ip/dhcp-server/network", where={"address": "10.30.0.0/24"})[0]["gateway"] == "10.30.0.1"


def test_ppp_active_lists_and_removes_and_secrets_are_read(api, setup):
    sim = setup[0]
    sim.router.add_ppp("kamau", "AA:BB:CC:00:00:01", "10.20.0.7")
    api.add("/ppp/secret", {"name": "local-user", "password": "pw", "service": "pppoe"})
    [active] = api.print("/ppp/active")
    assert (active["name"], active["service"], active["caller-id"], active["address"]) == (
        "kamau", "pppoe", "AA:BB:CC:00:00:01", "10.20.0.7")
    api.remove("/ppp/active", active[".id"])
    assert api.print("/ppp/active") == []
    assert [s["name"] for s in api.print("/ppp/secret")] == ["local-user"]


def test_filter_rules_take_place_before(api):
    rules = api.print("/ip/firewall/filter")
    first_input = next(r for r in rules if r["chain"] == "input")[".id"]
    api.add("/ip/firewall/filter", {"chain": "input", "action": "accept", "protocol": "udp", "dst-port": "53",
                                    "comment": "mine", "place-before": first_input})
    assert api.print("/ip/firewall/filter")[0]["comment"] == "mine"
    with pytest.raises(RouterCommandRefused):
        api.add("/ip/firewall/filter", {"chain": "forward", "action": "frobnicate"})
