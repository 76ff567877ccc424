"""The router commands, in-process through main(argv), against the simulator."""

from __future__ import annotations

import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

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


def hotspotd(ini: str, *args: str, stdin: str = "") -> "subprocess.CompletedProcess[str]":
    """The command as a process of its own, with `stdin` piped in (not a terminal)."""
    return subprocess.run([sys.executable, "-m", "hotspotd", "--config", ini, *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def stored(ini: str, name: str) -> tuple[str, str]:
    """The router's RADIUS secret and API password as the database holds them."""
    with closing(sqlite3.connect(Path(ini).parent / "state" / "hotspotd.db")) as conn:
        return conn.execute('SELECT "secret", "api_password" FROM "router" WHERE "name" = ?', (name,)).fetchone()


def test_router_secrets_come_from_stdin_and_not_the_command_line(ini, routeros):  # noqa: F811
    where = ["--host", "127.0.0.1", "--api-port", str(routeros.port), "--api-user", "admin"]
    done = hotspotd(ini, "router", "add", "--name", "gate", *where, "--mode", "api", "--secret", "-",
                    "--api-password", "-", stdin=f"radius-secret-123\n{PASSWORD}\n")  # in that order
    assert done.returncode == 0, done.stderr
    assert stored(ini, "gate") == ("radius-secret-123", PASSWORD)
    assert "online" in hotspotd(ini, "router", "probe", "gate").stdout  # the API password it read works

    done = hotspotd(ini, "router", "set", "gate", "--secret", "-", stdin="another-secret-456\n")
    assert done.returncode == 0, done.stderr
    assert stored(ini, "gate") == ("another-secret-456", PASSWORD)
    assert hotspotd(ini, "router", "set", "gate", "--api-password", "-", stdin="not-the-password\n").returncode == 0
    assert stored(ini, "gate") == ("another-secret-456", "not-the-password")
    assert "refused the API login" in hotspotd(ini, "router", "probe", "gate").stderr

    # Without --secret, `router add` reads it too (the first line of stdin), as `admin add` reads a password.
    done = hotspotd(ini, "router", "add", "--name", "second", "--host", "127.0.0.2", stdin="third-secret-789\n")
    assert done.returncode == 0 and stored(ini, "second") == ("third-secret-789", "")
    done = hotspotd(ini, "router", "add", "--name", "third", "--host", "127.0.0.3")  # stdin empty
    assert done.returncode == 1 and "no RADIUS secret" in done.stderr and "Traceback" not in done.stderr
    # Still taken on the command line, with a word about where it shows.
    done = hotspotd(ini, "router", "add", "--name", "fourth", "--host", "127.0.0.4", "--secret", "visible-secret-0")
    assert done.returncode == 0 and "process list" in done.stderr


def test_a_router_secret_typed_at_a_prompt_is_not_echoed(ini):  # noqa: F811
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the command on a terminal of its own
        os.execv(sys.executable, [sys.executable, "-m", "hotspotd", "--config", ini, "router", "add", "--name",
                                  "gate", "--host", "127.0.0.1"])
    seen = b""

    def read_until(text: bytes) -> None:
        nonlocal seen
        while text not in seen:
            ready, _, _ = select.select([terminal], [], [], 30)
            assert ready, f"no {text!r} from the command: {seen!r}"
            try:
                seen += os.read(terminal, 1024)
            except OSError:  # the child closed the terminal
                raise AssertionError(f"no {text!r} from the command: {seen!r}") from None

    read_until(b"RADIUS secret: ")
    os.write(terminal, b"typed-secret-1234\n")
    read_until(b"again: ")
    os.write(terminal, b"typed-secret-1234\n")
    read_until(b"added")
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert b"typed-secret-1234" not in seen  # nothing echoed
    assert stored(ini, "gate")[0] == "typed-secret-1234"
