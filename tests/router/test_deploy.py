"""Deploy and the .rsc script: one description of the configuration, applied through the
real client to the simulator, and rendered as a script."""

from __future__ import annotations

from hotspotd.router import operations
from hotspotd.router.api import Target, same
from hotspotd.router.client import connect
from hotspotd.router.script import quote
from hotspotd.store.models import Event, HealthLog, Router

from .conftest import PASSWORD, register


def changes(sim, since: int = 0) -> list[tuple[str, dict]]:
    """The commands after `since` that changed something on the router."""
    return [(c, a) for c, a in sim.router.log[since:] if c.rsplit("/", 1)[1] in ("add", "set", "remove")]


def read_back(sim, path: str) -> list[dict[str, str]]:
    """A menu as the router's API gives it (the real client, a connection of its own)."""
    client = connect(Target(9, "check", "127.0.0.1", sim.port, "admin", PASSWORD), connect_timeout=2, timeout=2)
    try:
        return client.print(path)
    finally:
        client.close()


def test_deploy_twice_leaves_one_of_each_and_the_nat_accept_before_the_masquerade(runtime, routeros, now):
    router = register(routeros, mode="radius", now=now)
    assert operations.deploy(runtime, "gate")
    first = len(routeros.router.log)
    assert operations.deploy(runtime, router.id)
    assert changes(routeros, first) == []  # the second run changed nothing
    radius = read_back(routeros, "/radius")
    assert len(radius) == 1
    entry = radius[0]
    assert (entry["service"], entry["address"], entry["secret"], entry["authentication-port"]) == (
        "hotspot", "127.0.0.1", "radius-secret-123", str(runtime.config.radius.auth_port))
    # customers reach the box at its own address: the IP walled garden, not the HTTP one
    # (its proxy would show the box the router's address), and no masquerade on the way
    walled = read_back(routeros, "/ip/hotspot/walled-garden/ip")
    assert [(w["action"], w["dst-address"], w["comment"]) for w in walled] == [("accept", "127.0.0.1", "hotspotd")]
    assert read_back(routeros, "/ip/hotspot/walled-garden") == []  # the portal is the box: nothing to proxy
    nat = read_back(routeros, "/ip/firewall/nat")
    ours = [i for i, rule in enumerate(nat) if rule.get("comment") == "hotspotd"]
    masquerades = [i for i, rule in enumerate(nat) if rule["chain"] == "srcnat" and rule["action"] == "masquerade"]
    assert len(ours) == 1 and len(masquerades) == 2 and ours[0] < min(masquerades)
    rule = nat[ours[0]]
    assert (rule["chain"], rule["action"], rule["dst-address"]) == ("srcnat", "accept", "127.0.0.1")
    assert same(read_back(routeros, "/radius/incoming")[0]["accept"], True)
    profile = next(p for p in read_back(routeros, "/ip/hotspot/profile") if p["name"] == "hotspotd")
    assert profile["use-radius"] == "yes" and profile["radius-interim-update"] == "received"
    assert all(s["profile"] == "hotspotd" for s in read_back(routeros, "/ip/hotspot"))
    page = next(f for f in read_back(routeros, "/file") if f["name"] == "hotspotd/login.html")
    assert 'name="link-login-only" value="$(link-login-only)"' in page["contents"]
    assert runtime.config.portal.public_url in page["contents"]
    option = read_back(routeros, "/ip/dhcp-server/option")[0]
    assert (option["code"], option["value"]) == ("114", f"'{runtime.config.portal.public_url}/api/captive'")
    assert read_back(routeros, "/ip/dhcp-server/network")[0]["dhcp-option"] == "captive"
    kinds = [e.type for e in Event.select().where(Event.type.startswith("router.deploy")).order_by(Event.id)]
    assert kinds[0] == "router.deploy.started" and kinds.count("router.deploy.completed") == 2
    assert Router.get_by_id(router.id).deployed_at is not None


def test_a_rule_put_after_the_masquerade_by_hand_is_moved_before_it(runtime, routeros, now):
    register(routeros, mode="api", now=now)
    nat = routeros.router.menus["/ip/firewall/nat"]
    nat.add({"chain": "srcnat", "action": "accept", "dst-address": "127.0.0.1", "comment": "hotspotd"})  # last
    lines: list[str] = []
    assert operations.deploy(runtime, "gate", report=lines.append)
    assert any(line.startswith("  nat-exemption: moved before *1") for line in lines), lines
    rules = read_back(routeros, "/ip/firewall/nat")
    assert [r.get("comment") for r in rules][:1] == ["hotspotd"] and len(rules) == 3
    assert [(r["chain"], r["action"]) for r in rules[1:]] == [("srcnat", "masquerade")] * 2


def test_a_router_without_a_masquerade_still_gets_the_rule(runtime, routeros, now):
    register(routeros, mode="api", now=now)
    routeros.router.menus["/ip/firewall/nat"].items.clear()
    assert operations.deploy(runtime, "gate")
    assert [r["comment"] for r in read_back(routeros, "/ip/firewall/nat")] == ["hotspotd"]


def test_a_portal_reached_by_name_keeps_an_http_walled_garden_entry(runtime, routeros, now):
    register(routeros, mode="api", now=now)
    runtime.config.routers.radius_address = "127.0.0.1"
    runtime.config.portal.public_url = "http://wifi.example.test:8080"
    assert operations.deploy(runtime, "gate")
    http_level = read_back(routeros, "/ip/hotspot/walled-garden")
    assert [(w["dst-host"], w["action"]) for w in http_level] == [("wifi.example.test", "allow")]
    assert [w["dst-address"] for w in read_back(routeros, "/ip/hotspot/walled-garden/ip")] == ["127.0.0.1"]
    runtime.config.portal.public_url = "http://127.0.0.1:8080"  # the box after all: the old entry goes
    assert operations.deploy(runtime, "gate")
    assert read_back(routeros, "/ip/hotspot/walled-garden") == []


def test_with_device_mode_blocking_the_hotspot_deploy_changes_nothing_and_says_what_to_do(runtime, routeros, now):
    register(routeros, mode="radius", now=now)
    routeros.router.set_device_mode(mode="home", hotspot=False, proxy=False)
    lines: list[str] = []
    assert not operations.deploy(runtime, "gate", report=lines.append)
    assert changes(routeros) == [] and routeros.router.log[0][0] == "/system/device-mode/print"
    failed = Event.select().where(Event.type == "router.deploy.failed").get()
    assert failed.data["step"] == "device-mode"
    error = failed.data["error"]
    assert "`/system/device-mode/update hotspot=yes`" in error and "nothing was changed" in error
    assert "press its reset or mode button" in error and "cut the power" in error and "5 minutes" in error
    assert "(The router says: mode=home, hotspot=no.)" in error
    assert lines[-1] == f"failed at device-mode: {error}"
    routeros.router.set_device_mode(hotspot=True)  # the operator ran it and pressed the button
    lines.clear()
    assert operations.deploy(runtime, "gate", report=lines.append)
    assert lines[1] == "  device-mode: mode home: hotspot=yes" and lines[-1] == "completed"


def test_routeros_6_has_no_device_mode_and_deploys(runtime, routeros, now):
    routeros.version = 6
    register(routeros, mode="radius", now=now)
    lines: list[str] = []
    assert operations.deploy(runtime, "gate", report=lines.append)
    assert "device-mode: /system/device-mode is not on this RouterOS (before 7.17)" in lines[1]


def test_duplicates_made_by_hand_are_removed(runtime, routeros, now):
    register(routeros, mode="radius", now=now)
    for address in ("10.0.0.1", "10.0.0.2"):
        routeros.router.menus["/radius"].add({"service": "hotspot", "address": address, "secret": "x",
                                              "comment": "hotspotd"})
    assert operations.deploy(runtime, "gate")
    assert [r["address"] for r in routeros.router.table("/radius")] == ["127.0.0.1"]


def test_every_setting_deploy_makes_is_in_the_script(runtime, routeros, now):
    register(routeros, mode="radius", now=now)
    routeros.router.menus["/ip/hotspot/walled-garden"].add({"dst-host": "old.example", "comment": "hotspotd"})
    assert operations.deploy(runtime, "gate")
    script = operations.script(runtime, "gate")
    made = changes(routeros)
    assert len(made) >= 10
    for command, attrs in made:
        parts = command.strip("/").split("/")
        menu, verb = "/" + " ".join(parts[:-1]), parts[-1]
        assert f"{menu} {verb} " in script, f"{menu} {verb} missing from the script"
        for key, value in attrs.items():
            if key not in (".id", "place-before"):
                assert f"{key}={quote(value)}" in script, f"{command} {key}={value} missing from the script"
    assert "place-before=[:pick $before 0]" in script
    assert ":error" in script and "/system device-mode get hotspot" in script


def test_a_failed_step_says_which_and_why_and_the_next_run_resumes(runtime, routeros, now):
    register(routeros, mode="radius", now=now)
    routeros.router.menus["/ip/hotspot"].fields = frozenset()  # this router refuses `profile` on servers
    lines: list[str] = []
    assert not operations.deploy(runtime, "gate", report=lines.append)
    failed = Event.select().where(Event.type == "router.deploy.failed").get()
    assert failed.data["step"] == "hotspot-servers" and "unknown parameter" in failed.data["error"]
    assert lines[-1].startswith("failed at hotspot-servers")
    assert HealthLog.select().where(HealthLog.message.contains("hotspot-servers")).exists()
    routeros.router.menus["/ip/hotspot"].fields = frozenset({"name", "interface", "profile"})
    before = len(routeros.router.log)
    lines.clear()
    assert operations.deploy(runtime, "gate", report=lines.append)
    assert "resuming at hotspot-servers" in lines[0] and lines[1].startswith("  device-mode: mode advanced")
    assert "radius: done in the previous run" in lines[2]
    assert not any(c.startswith("/radius/") for c, _ in routeros.router.log[before:])  # skipped, not asked again
    assert routeros.router.log[before][0] == "/system/device-mode/print"  # the check runs every time
    started = Event.select().where(Event.type == "router.deploy.started").order_by(Event.id.desc()).get()
    assert started.data["resumed_from"] == "hotspot-servers"


def test_an_api_mode_router_gets_a_hotspot_without_radius(runtime, routeros, now):
    register(routeros, mode="api", now=now)
    assert operations.deploy(runtime, "gate")
    assert routeros.router.table("/radius") == []
    profile = next(p for p in routeros.router.table("/ip/hotspot/profile") if p["name"] == "hotspotd")
    assert profile["use-radius"] == "no"


def test_without_an_address_for_radius_deploy_says_what_to_set(runtime, routeros, now):
    register(routeros, mode="radius", now=now)
    runtime.config.portal.public_url = "http://hotspot.example"  # a name, and no [routers] radius_address
    lines: list[str] = []
    assert not operations.deploy(runtime, "gate", report=lines.append)
    assert "radius_address" in lines[-1]
    assert Event.select().where(Event.type == "router.deploy.failed").get().data["step"] == "configuration"
    assert routeros.router.log == []
