"""The contract for the menus that say who is asking and how customers reach the box
(docs/protocols.md §2.7-§2.10): the hotspot host table, the IP walled garden, NAT with place-before,
and device-mode. The real client (librouteros) and the independent wire client both talk
to the simulator, RouterOS 6 and 7, and must see the published field names."""

from __future__ import annotations

import pytest

from hotspotd.router.api import RouterCommandRefused, same

from .test_contract import api, setup  # noqa: F401 (fixtures: each client against RouterOS 6 and 7)

HOSTS = "/ip/hotspot/host"
WALLED_IP = "/ip/hotspot/walled-garden/ip"
NAT = "/ip/firewall/nat"
DEVICE_MODE = "/system/device-mode"
PHONE, LAPTOP = "AA:BB:CC:00:00:07", "AA:BB:CC:00:00:08"
# the properties the daemon reads from a host (docs/protocols.md §2.7)
HOST_FIELDS = ("mac-address", "address", "to-address", "server", "authorized", "bypassed")


def test_the_host_table_answers_by_address_to_address_and_mac(api, setup):
    sim = setup[0]
    sim.router.connect_device(PHONE, "10.5.50.7")
    sim.router.connect_device(LAPTOP, "10.5.50.8", to_address="10.5.60.8", bypassed=True)
    rows = api.print(HOSTS, where={"address": "10.5.50.7"}, proplist=HOST_FIELDS)
    assert len(rows) == 1 and set(rows[0]) == set(HOST_FIELDS)
    row = rows[0]
    assert (row["mac-address"], row["address"], row["to-address"], row["server"]) == (
        PHONE, "10.5.50.7", "10.5.50.7", "hotspot1")
    assert same(row["authorized"], False) and same(row["bypassed"], False)
    by_translation = api.print(HOSTS, where={"to-address": "10.5.60.8"}, proplist=HOST_FIELDS)
    assert [(r["mac-address"], r["address"]) for r in by_translation] == [(LAPTOP, "10.5.50.8")]
    assert same(by_translation[0]["bypassed"], True)
    assert [r["address"] for r in api.print(HOSTS, where={"mac-address": LAPTOP})] == ["10.5.50.8"]
    assert api.print(HOSTS, where={"address": "10.5.50.99"}, proplist=HOST_FIELDS) == []
    full = api.print(HOSTS)[0]  # without a proplist: the timers and counters too
    for key in (".id", "bridge-port", "uptime", "idle-time", "bytes-in", "bytes-out", "dhcp", "blocked"):
        assert key in full, key


def test_a_host_is_authorized_while_its_device_is_logged_in_and_the_table_is_read_only(api, setup):
    sim = setup[0]
    sim.router.connect_device(PHONE, "10.5.50.7")
    api.add("/ip/hotspot/user", {"name": "u1", "password": "pw"})
    api.call("/ip/hotspot/active", "login", {"user": "u1", "password": "pw", "ip": "10.5.50.7",
                                            "mac-address": PHONE})
    assert same(api.print(HOSTS, where={"address": "10.5.50.7"}, proplist=HOST_FIELDS)[0]["authorized"], True)
    with pytest.raises(RouterCommandRefused, match="no such command"):
        api.add(HOSTS, {"mac-address": LAPTOP, "address": "10.5.50.8"})
    with pytest.raises(RouterCommandRefused, match="no such command"):
        api.set(HOSTS, api.print(HOSTS)[0][".id"], {"address": "10.5.50.9"})
    api.remove(HOSTS, api.print(HOSTS)[0][".id"])
    assert api.print(HOSTS) == []


def test_the_ip_walled_garden_takes_accept_drop_and_reject(api):
    new_id = api.add(WALLED_IP, {"action": "accept", "dst-address": "192.168.88.10", "comment": "hotspotd"})
    api.add(WALLED_IP, {"action": "drop", "dst-address": "192.168.88.11"})
    api.add(WALLED_IP, {"action": "reject", "dst-address": "192.168.88.12", "protocol": "tcp", "dst-port": "443"})
    rows = api.print(WALLED_IP, where={"comment": "hotspotd"})
    assert [(r[".id"], r["action"], r["dst-address"]) for r in rows] == [(new_id, "accept", "192.168.88.10")]
    assert [r["action"] for r in api.print(WALLED_IP)] == ["accept", "drop", "reject"]
    with pytest.raises(RouterCommandRefused, match="input does not match any value of action"):
        api.add(WALLED_IP, {"action": "allow", "dst-address": "192.168.88.13"})  # allow is the HTTP level's word


def test_nat_has_the_wizards_masquerade_and_add_places_before_by_id_and_by_position(api):
    rules = api.print(NAT)
    hotspot = [r for r in rules if r.get("src-address") == "10.5.50.0/24"]
    assert len(hotspot) == 1
    assert (hotspot[0]["chain"], hotspot[0]["action"], hotspot[0]["comment"]) == (
        "srcnat", "masquerade", "masquerade hotspot network")
    assert "out-interface" not in hotspot[0]  # the wizard's rule masquerades towards the LAN too
    accept = api.add(NAT, {"chain": "srcnat", "action": "accept", "dst-address": "192.168.88.10",
                           "comment": "hotspotd", "place-before": hotspot[0][".id"]})
    order = [r[".id"] for r in api.print(NAT)]
    assert order.index(accept) == order.index(hotspot[0][".id"]) - 1
    assert "place-before" not in api.print(NAT, where={".id": accept})[0]  # write-only
    first = api.add(NAT, {"chain": "dstnat", "action": "redirect", "to-ports": "53", "place-before": "0"})
    assert api.print(NAT)[0][".id"] == first
    last = api.add(NAT, {"chain": "srcnat", "action": "accept", "comment": "at the end"})
    assert api.print(NAT)[-1][".id"] == last
    with pytest.raises(RouterCommandRefused, match="no such item"):
        api.add(NAT, {"chain": "srcnat", "action": "accept", "place-before": "*FFF"})
    with pytest.raises(RouterCommandRefused, match="input does not match any value of action"):
        api.add(NAT, {"chain": "srcnat", "action": "allow"})


def test_place_before_0_on_an_empty_list_is_no_such_item(api):
    api.remove(NAT, *(r[".id"] for r in api.print(NAT)))
    assert api.print(NAT) == []
    with pytest.raises(RouterCommandRefused, match="no such item"):
        api.add(NAT, {"chain": "srcnat", "action": "accept", "place-before": "0"})
    api.add(NAT, {"chain": "srcnat", "action": "accept", "dst-address": "192.168.88.10"})
    assert len(api.print(NAT)) == 1


def test_device_mode_on_routeros_7_and_what_the_hotspot_menus_answer_with_hotspot_off(api, setup):
    sim = setup[0]
    if sim.version < 7:
        with pytest.raises(RouterCommandRefused, match="no such command"):
            api.print(DEVICE_MODE)
        return
    row = api.print(DEVICE_MODE, proplist=("mode", "hotspot", "proxy", "flagged"))[0]
    assert row["mode"] == "advanced" and same(row["hotspot"], True) and same(row["proxy"], True)
    assert same(row["flagged"], False)
    full = api.print(DEVICE_MODE)[0]
    for key in ("allowed-versions", "flagging-enabled", "attempt-count", "fetch", "scheduler", "container"):
        assert key in full, key
    sim.router.connect_device(PHONE, "10.5.50.7")
    sim.router.set_device_mode(mode="home", hotspot=False, proxy=False)
    row = api.print(DEVICE_MODE, proplist=("mode", "hotspot", "proxy", "flagged"))[0]
    assert row["mode"] == "home" and same(row["hotspot"], False) and same(row["proxy"], False)
    for path, values in ((WALLED_IP, {"dst-address": "192.168.88.10"}), ("/ip/hotspot/profile", {"name": "x"}),
                         ("/ip/hotspot/user", {"name": "u1", "password": "pw"})):
        with pytest.raises(RouterCommandRefused, match="not allowed by device-mode"):
            api.add(path, values)
    assert api.print(HOSTS) == []  # no hotspot running, no hosts
    api.add(NAT, {"chain": "srcnat", "action": "accept"})  # the rest of the router is not the hotspot's
    with pytest.raises(RouterCommandRefused, match="no such command"):
        api.set(DEVICE_MODE, None, {"hotspot": "yes"})  # changed with update and a button press, not set
