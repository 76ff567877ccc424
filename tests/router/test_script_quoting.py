"""The .rsc script and operator text: a router's name, a RADIUS secret or a portal URL must
stay inside its value, whatever it holds. Read back with a script reader written from the
scripting manual (rsc.py): the hostile script runs exactly the commands of a plain one."""

from __future__ import annotations

import pytest

from hotspotd.errors import InvalidInput
from hotspotd.router import add_router, operations, update_router
from hotspotd.router.script import quote
from hotspotd.store.models import Router

from . import rsc
from .conftest import register

BREAKOUT = "\n/user add name=evil password=x group=full\n"
HOSTILE_NAMES = [
    "gate" + BREAKOUT,
    "gate\r/system reset-configuration no-defaults=yes",
    'gate" ; /user add name=evil group=full ; #',
    "gate $[/user add name=evil group=full] \\",
]
HOSTILE_SECRETS = [
    'x"; /user add name=evil password=x group=full; :put "',
    "secret$[/system reboot]$(:put x)",
    "back\\slash\\" + BREAKOUT + "\x1b[2J\x00\x7f?tab\there",
    "\\48\\45\\4C",  # would read as hex escapes if the backslashes were not doubled
]


def script_for(runtime, name: str, secret: str) -> str:
    Router.update(name=name, secret=secret).where(Router.id == 1).execute()  # as a record made before names were checked
    return operations.script(runtime, 1)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("secret", HOSTILE_SECRETS)
def test_hostile_names_and_secrets_change_no_command(runtime, routeros, now, name, secret):
    register(routeros, mode="radius", now=now)
    plain = rsc.commands(script_for(runtime, "gate", "radius-secret-123"))
    assert "/radius add" in plain and "/ip firewall nat add" in plain and ":error" in plain
    script = script_for(runtime, name, secret)
    assert rsc.commands(script) == plain
    assert not any("user" in command or "reset" in command or "reboot" in command
                   for command in rsc.commands(script))
    assert rsc.values(script, "secret") == [secret, secret]  # in the add and in the set, exactly as given
    header = script.splitlines()[0]
    assert header.startswith("# hotspotd configuration for router ") and quote(name) in header


def test_quote_escapes_what_routeros_would_read_as_code_or_a_line_end():
    assert quote("hotspotd") == "hotspotd" and quote("10.5.50.0/24") == "10.5.50.0/24"
    assert quote("cookie,http-chap") == "cookie,http-chap" and quote("AA:BB:CC:00:00:01") == "AA:BB:CC:00:00:01"
    assert quote('a"b\\c$d?e') == '"a\\"b\\\\c\\$d\\?e"'
    assert quote("one\ntwo\rthree\tfour") == '"one\\ntwo\\rthree\\tfour"'
    assert quote("\x00\x1b\x7f") == '"\\00\\1B\\7F"'
    assert quote("") == '""' and quote("two words") == '"two words"'
    assert quote("*1") == '"*1"' and quote("a;b") == '"a;b"' and quote("[x]") == '"[x]"'
    for value in ["x" + BREAKOUT, *HOSTILE_SECRETS, "ũ Wanjikũ's"]:
        assert rsc.values(f"/x set v={quote(value)}\n", "v") == [value]


def test_a_router_name_with_a_line_break_is_refused(store, now):
    for bad in ("gate\n/user add", "gate\rx", "tab\there", "nul\x00"):
        with pytest.raises(InvalidInput, match="control characters"):
            add_router(bad, "127.0.0.1", "radius-secret-123", "127.0.3.1", now=now)
    add_router("gate", "127.0.0.1", "radius-secret-123", "127.0.3.1", now=now)
    with pytest.raises(InvalidInput, match="control characters"):
        update_router("gate", {"name": "gate" + BREAKOUT})


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/x\"$[/user add name=evil]",
                                 "http://127.0.0.1:8080/'/api",
                                 "http://127.0.0.1:8080/a b",
                                 "javascript:alert(1)"])
def test_a_portal_url_that_is_not_plain_is_refused_before_anything_is_written(runtime, routeros, now, url):
    register(routeros, mode="radius", now=now)
    runtime.config.routers.radius_address = "127.0.0.1"
    runtime.config.portal.public_url = url
    with pytest.raises(InvalidInput, match="public_url"):
        operations.script(runtime, "gate")
    lines: list[str] = []
    assert not operations.deploy(runtime, "gate", report=lines.append)
    assert lines[-1].startswith("failed at configuration") and routeros.router.log == []
