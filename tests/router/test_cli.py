"""The router commands, in-process through main(argv), against the simulator."""

from __future__ import annotations

import json

from ..test_cli import ini, run  # noqa: F401 (the fixture)
from .conftest import PASSWORD


def add(ini, capsys, sim, *extra):
    return run(ini, capsys, "router", "add", "--name", "gate", "--host", "127.0.0.1", "--api-port", str(sim.port),
               "--api-user", "admin", "--api-password", PASSWORD, "--secret", "radius-secret-123", *extra)


def test_add_probe_list_sessions_kick_script_remove(ini, capsys, routeros):  # noqa: F811
    code, out, err = add(ini, capsys, routeros, "--mode", "api")
    assert code == 0 and "api mode" in out
    assert "warning: the API is plain (port" in err and "in clear" in err
    code, out, _ = run(ini, capsys, "router", "probe", "gate")
    assert code == 0 and "online, RouterOS 7.18.2" in out and "hAP ax2" in out
    code, out, _ = run(ini, capsys, "router", "list", "--json")
    [router] = json.loads(out)
    assert router["status"] == "online" and PASSWORD not in out and "radius-secret-123" not in out
    routeros.router.add_active("alice", "AA:BB:CC:00:00:01", "10.5.50.2")
    code, out, _ = run(ini, capsys, "router", "sessions", "gate", "--json")
    assert [s["user"] for s in json.loads(out)] == ["alice"]
    code, out, _ = run(ini, capsys, "router", "kick", "gate", "--mac", "aa:bb:cc:00:00:01")
    assert code == 0 and "kicked hotspot session of alice" in out
    assert routeros.router.table("/ip/hotspot/active") == []
    code, out, err = run(ini, capsys, "router", "kick", "gate", "--user", "nobody")
    assert code == 1 and "no such session" in err
    code, out, _ = run(ini, capsys, "router", "script", "gate")
    assert code == 0 and out.startswith("# hotspotd configuration for router gate") and "/ip hotspot profile" in out
    code, out, _ = run(ini, capsys, "router", "remove", "gate")
    assert code == 0 and "removed" in out
    code, out, err = run(ini, capsys, "router", "probe", "gate")
    assert code == 1 and "no router 'gate'" in err


def test_an_unreachable_router_probe_exits_1_with_the_reason(ini, capsys, routeros):  # noqa: F811
    add(ini, capsys, routeros)
    routeros.refuse()
    code, out, err = run(ini, capsys, "router", "probe", "gate")
    assert code == 1 and "no answer" in err and "unreachable" in err


def test_a_refused_login_says_so(ini, capsys, routeros):  # noqa: F811
    add(ini, capsys, routeros)
    routeros.password = "changed"
    code, out, err = run(ini, capsys, "router", "deploy", "gate")
    assert code == 1 and "failed at connect" in out and "refused the API login" in out
