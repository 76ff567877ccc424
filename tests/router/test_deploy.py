"""Deploy and the .rsc script: one description of the configuration, applied through the
real client to the simulator, and rendered as a script."""

from __future__ import annotations

from hotspotd.router import operations
from hotspotd.router.script import quote
from hotspotd.store.models import Event, HealthLog, Router

from .conftest import register


def changes(sim, since: int = 0) -> list[tuple[str, dict]]:
    """The commands after `since` that changed something on the router."""
    return [(c, a) for c, a in sim.router.log[since:] if c.rsplit("/", 1)[1] in ("add", "set", "remove")]


def test_deploy_twice_leaves_one_radius_entry_and_one_walled_garden_entry(runtime, routeros, now):
    router = register(routeros, mode="radius", now=now)
    assert operations.deploy(runtime, "gate")
    first = len(routeros.router.log)
    assert operations.deploy(runtime, router.id)
    assert changes(routeros, first) == []  # the second run changed nothing
    radius = routeros.router.table("/radius")
    assert len(radius) == 1
    entry = radius[0]
    assert (entry["service"], entry["address"], entry["secret"], entry["authentication-port"]) == (
        "hotspot", "127.0.0.1", "radius-secret-123", str(runtime.config.radius.auth_port))
    assert len(routeros.router.table("/ip/hotspot/walled-garden")) == 1
    assert routeros.router.table("/radius/incoming")[0] == {".id": "*0", "accept": "yes", "port": "3799"}
    profile = next(p for p in routeros.router.table("/ip/hotspot/profile") if p["name"] == "hotspotd")
    assert profile["use-radius"] == "yes" and profile["radius-interim-update"] == "received"
    assert all(s["profile"] == "hotspotd" for s in routeros.router.table("/ip/hotspot"))
    page = next(f for f in routeros.router.table("/file") if f["name"] == "hotspotd/login.html")
    assert 'name="link-login-only" value="$(link-login-only)"' in page["contents"]
    assert runtime.config.portal.public_url in page["contents"]
    option = routeros.router.table("/ip/dhcp-server/option")[0]
    assert (option["code"], option["value"]) == ("114", f"'{runtime.config.portal.public_url}/api/captive'")
    assert routeros.router.table("/ip/dhcp-server/network")[0]["dhcp-option"] == "captive"
    kinds = [e.type for e in Event.select().where(Event.type.startswith("router.deploy")).order_by(Event.id)]
    assert kinds[0] == "router.deploy.started" and kinds.count("router.deploy.completed") == 2
    assert Router.get_by_id(router.id).deployed_at is not None


def test_duplicates_made_by_hand_are_removed(runtime, routeros, now):
    register(routeros, mode="radius", now=now)
    for address in ("10.0.0.1", "10.0.0.2"):
        routeros.router.menus["/radius"].add({"service": "hotspot", "address": address, "secret": "x",
                                              "comment": "hotspotd"})
    assert operations.deploy(runtime, "gate")
    assert [r["address"] for r in routeros.router.table("/radius")] == ["127.0.0.1"]


def test_every_setting_deploy_makes_is_in_the_script(runtime, routeros, now):
    register(routeros, mode="radius", now=now)
    assert operations.deploy(runtime, "gate")
    script = operations.script(runtime, "gate")
    made = changes(routeros)
    assert len(made) >= 8
    for command, attrs in made:
        menu = "/" + " ".join(command.strip("/").split("/")[:-1])
        assert f"\n{menu}\n" in script, f"{menu} missing from the script"
        for key, value in attrs.items():
            if key != ".id":
                assert f"{key}={quote(value)}" in script, f"{command} {key}={value} missing from the script"


def test_the_script_quotes_what_routeros_would_read_as_code(runtime, routeros, now):
    register(routeros, mode="radius", now=now)
    script = operations.script(runtime, "gate")
    assert 'contents="<!DOCTYPE html>' in script
    assert '\\$(link-login-only)' in script and "$(link-login-only)" not in script.replace("\\$(", "")
    assert quote('a"b\\c$d?e') == '"a\\"b\\\\c\\$d\\?e"'
    assert quote("http-chap,http-pap") == "http-chap,http-pap"


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
    assert "resuming at hotspot-servers" in lines[0] and "radius: done in the previous run" in lines[1]
    assert not any(c.startswith("/radius/") for c, _ in routeros.router.log[before:])  # skipped, not asked again
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
