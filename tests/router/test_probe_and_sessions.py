"""Probe (online only after N failures), live sessions, kick, reconciliation, the pool."""

from __future__ import annotations

import time

import pytest

from hotspotd.router import operations, probe as probing
from hotspotd.router.api import RouterUnreachable, Target
from hotspotd.router.client import connect
from hotspotd.router.pool import RouterClients
from hotspotd.router import reconcile
from hotspotd.store.models import Event, HealthLog, Router, RouterSession, Session, Subscription

from .conftest import register
from .test_provisioning import buy


@pytest.mark.parametrize("text, seconds", [("2d20h12m20s", 245540), ("01:22:53", 4973), ("1w2d3h4m5s", 788645),
                                           ("3d01:00:17", 262817), ("0s", 0), ("nonsense", None)])
def test_uptime_in_both_forms(text, seconds):
    assert probing.parse_uptime(text) == seconds


def test_offline_only_after_n_failures_and_events_on_changes(runtime, routeros, now):
    register(routeros, mode="radius", now=now)
    result = operations.probe(runtime, "gate")
    assert result.status == "online" and result.changed
    assert result.resource.version.startswith("7.") and result.resource.board == "hAP ax2"
    assert result.resource.uptime_s > 3 * 86400
    routeros.refuse()
    offline_after = runtime.config.routers.offline_after
    for n in range(1, offline_after):
        assert operations.probe(runtime, "gate").status == "online", f"offline after {n} failure(s)"
    assert operations.probe(runtime, "gate").status == "offline"
    routeros.refuse(False)
    assert operations.probe(runtime, "gate").status == "online"
    kinds = [e.type for e in Event.select().where(Event.type.startswith("router.")).order_by(Event.id)]
    assert kinds == ["router.online", "router.offline", "router.online"]
    router = Router.get(Router.name == "gate")
    assert router.failures == 0 and router.ros_version.startswith("7.") and router.cpu_load == 3


def test_a_probe_round_of_silent_routers_takes_one_timeout(runtime, make_routeros, now):
    routers = []
    for n in range(6):
        sim = make_routeros()
        sim.silent = n % 2 == 0
        routers.append(register(sim, name=f"r{n}", mode="radius", nas_ip=f"127.0.0.{n + 2}", now=now))
    started = time.monotonic()
    results = probing.probe_all(runtime.routers.session, routers, offline_after=1)
    elapsed = time.monotonic() - started
    assert [r.status for r in results] == ["offline", "online"] * 3
    assert elapsed < runtime.config.routers.connect_timeout + 2.5


def test_live_sessions_are_kept_and_announced_and_a_kick_logs_out(runtime, routeros, now):
    router = register(routeros, mode="radius", now=now)
    routeros.router.add_active("alice", "AA:BB:CC:00:00:01", "10.5.50.2", radius=True)
    routeros.router.add_ppp("bob-pppoe", "AA:BB:CC:00:00:02", "10.6.0.9")
    Session.create(router=router.id, acct_session_id="80100001", username="alice", mac="AA:BB:CC:00:00:01",
                   ip="10.5.50.2", status="open", started_at=now, updated_at=now)
    listed = operations.refresh_sessions(runtime, "gate")
    assert sorted((s["kind"], s["user"], s["ip"]) for s in listed["sessions"]) == [
        ("hotspot", "alice", "10.5.50.2"), ("pppoe", "bob-pppoe", "10.6.0.9")]
    event = Event.select().where(Event.type == "router.sessions").get()
    assert event.data["hotspot"] == 1 and event.data["pppoe"] == 1 and len(event.data["joined"]) == 2
    operations.refresh_sessions(runtime, "gate")
    assert Event.select().where(Event.type == "router.sessions").count() == 1  # nothing changed
    alice = RouterSession.get(RouterSession.user == "alice")
    kicked = operations.kick(runtime, alice.id)
    assert kicked["removed"] and kicked["disconnect_requested"]  # radius mode: a Disconnect-Request too
    assert routeros.router.table("/ip/hotspot/active") == []
    assert Session.get(Session.username == "alice").disconnect_requested_at is not None
    kicked = operations.kick_matching(runtime, "gate", user="bob-pppoe")
    assert kicked[0]["kind"] == "pppoe" and routeros.router.table("/ppp/active") == []


def test_reconcile_removes_strays_adds_missing_fixes_drift_and_logs_each(runtime, routeros, hour, capped, now):
    router = register(routeros, mode="api", now=now)
    kept, used_up, missing = buy(hour, now, "254712000001"), buy(capped, now, "254712000002"), buy(hour, now, "254712000003")
    from hotspotd.router import provisioning
    provisioning.provision(runtime, [kept.subscription_id, used_up.subscription_id], now)
    users = routeros.router.menus["/ip/hotspot/user"]
    users.add({"name": "stray", "password": "x", "comment": "hotspotd subscription 999"})
    users.add({"name": "operator-own", "password": "x", "comment": "staff"})
    row = next(u for u in users.items if u["name"] == kept.username)
    row["password"] = "changed-by-hand"
    capped_row = next(u for u in users.items if u["name"] == used_up.username)
    capped_row["bytes-out"] = str(10**9)
    routeros.router.add_active(used_up.username, "AA:BB:CC:00:00:09", "10.5.50.9")
    changes = reconcile.run(runtime.routers.session, Router.get_by_id(router.id), runtime.config, now)
    names = {u["name"]: u for u in routeros.router.table("/ip/hotspot/user")}
    assert set(names) == {kept.username, missing.username, "operator-own"}
    assert names[kept.username]["password"] == kept.password
    assert routeros.router.table("/ip/hotspot/active") == []  # the used-up user's session kicked
    assert Subscription.get_by_id(used_up.subscription_id).bytes_used == 10**9
    assert HealthLog.select().where(HealthLog.component == "router").count() == len(changes) >= 4
    assert reconcile.run(runtime.routers.session, Router.get_by_id(router.id), runtime.config, now) == []


def test_reconcile_puts_back_a_radius_entry_changed_by_hand(runtime, routeros, now):
    router = register(routeros, mode="radius", now=now)
    assert operations.deploy(runtime, "gate")
    routeros.router.menus["/radius"].items[0]["secret"] = "typo"
    changes = reconcile.run(runtime.routers.session, Router.get_by_id(router.id), runtime.config, now)
    assert len(changes) == 1 and "radius" in changes[0] and "secret" in changes[0]
    assert routeros.router.table("/radius")[0]["secret"] == "radius-secret-123"


def test_the_pool_reuses_connections_and_closes_them_all(routeros):
    target = Target(1, "gate", "127.0.0.1", routeros.port, "admin", "api-pass")
    pool = RouterClients(lambda t: connect(t, connect_timeout=2, timeout=2), per_router=2)
    for _ in range(5):
        with pool.session(target) as api:
            api.print("/system/resource")
    assert pool.opened == 1 and routeros.logins == 1
    with pytest.raises(RouterUnreachable):
        with pool.session(target) as api:
            routeros.drop_replies = 1
            api.print("/ip/hotspot/user")
    with pool.session(target) as api:  # the broken one was closed, a new one opened
        api.print("/system/resource")
    assert pool.opened == 2
    pool.close()
    from ..loopback import wait_for
    wait_for(lambda: routeros.open_connections == 0, 5, "every connection closed")


def test_a_silent_router_is_not_dialled_again_at_once(routeros):
    target = Target(1, "gate", "127.0.0.1", routeros.port, "admin", "api-pass")
    pool = RouterClients(lambda t: connect(t, connect_timeout=0.5, timeout=0.5), quiet_seconds=30)
    routeros.silent = True
    with pytest.raises(RouterUnreachable):
        with pool.session(target):
            pass
    started = time.monotonic()
    with pytest.raises(RouterUnreachable, match="not dialling"):
        with pool.session(target):
            pass
    assert time.monotonic() - started < 0.1
    pool.close()
