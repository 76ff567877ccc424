"""`hotspotd doctor` on a running site: every role asked as its clients ask it, the router's API
(a login to the RouterOS simulator), the Daraja token call (against the simulator), one line
per check, exit 1 on a failure."""

from __future__ import annotations

import socket

import pytest

from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.sim.routeros import RouterOSSimulator
from hotspotd.store.migrations import MIGRATIONS

from .site import Site, free_port

pytestmark = pytest.mark.e2e


def lines(result) -> dict[str, tuple[str, str]]:
    """{check: (STATUS, message)} from doctor's output, one line per check."""
    found = {}
    for line in result.stdout.splitlines():
        status, rest = line.split(None, 1)
        name, _, message = rest.partition(": ")
        found[name] = (status, message)
    return found


@pytest.fixture
def router_api():
    """The router's API: a RouterOS simulator on loopback."""
    with RouterOSSimulator(password="api-pass") as routeros:
        yield routeros


def test_doctor_checks_a_running_site_and_fails_on_what_is_wrong(tmp_path, router_api):
    with DarajaSimulator() as sim:
        site = Site(tmp_path, sim.url, radius={"listen": "127.0.0.1", "auth_port": str(free_port(socket.SOCK_DGRAM)),
                                               "acct_port": str(free_port(socket.SOCK_DGRAM))})
        site.cli("router", "add", "--name", "gate", "--host", "127.0.0.1", "--api-port", str(router_api.port),
                 "--api-user", "admin", "--api-password", "api-pass", "--secret", "router-shared-secret")
        try:
            for role in ("portal", "admin", "worker", "radius"):
                site.start(role)
            healthy = site.cli("doctor", check=False)
            found = lines(healthy)
            assert healthy.returncode == 0, healthy.stdout
            for name in ("config", "secrets on disk", "app database", "queue database", "disk", "clock",
                         "role portal", "role admin", "role radius", "role worker", "router gate", "daraja",
                         "callback url"):
                assert name in found and found[name][0] in ("OK", "WARN"), (name, healthy.stdout)
            assert found["role radius"] == ("OK", f"Status-Server to 127.0.0.1:{site_port(site)} answered")
            assert found["daraja"] == ("OK", "credentials accepted (OAuth token issued)")
            assert found["router gate"] == ("OK", "API answers: RouterOS 7.18.2 (stable) on hAP ax2")
            assert found["router gate api"][0] == "WARN" and "password crosses the network in clear" in \
                found["router gate api"][1]  # the plain API
            assert f"hotspotd.db integrity ok, schema {max(MIGRATIONS)}" in found["app database"][1]
            assert found["secrets on disk"][0] == "WARN" and "hotspotd.ini can be read by every local user" in \
                found["secrets on disk"][1]  # the test wrote it under umask 022
            site.config_path.chmod(0o640)
            # the radius role stops and the router goes away
            site.kill("radius")
            router_api.stop()
            sick = site.cli("doctor", check=False)
            found = lines(sick)
            assert sick.returncode == 1
            assert found["role radius"][0] == "FAIL" and "is hotspotd-radius running?" in found["role radius"][1]
            assert found["router gate"][0] == "FAIL" and f"API 127.0.0.1:{router_api.port}" in found["router gate"][1]
            assert found["secrets on disk"][0] == "OK"
            assert found["role portal"][0] == "OK" and found["role worker"][0] == "OK"
        finally:
            site.stop()


def site_port(site: Site) -> str:
    import configparser

    parser = configparser.ConfigParser()
    parser.read(site.config_path)
    return parser["radius"]["auth_port"]


def test_doctor_says_when_daraja_refuses_the_credentials_and_no_role_runs(tmp_path):
    with DarajaSimulator(consumer_key="another-key") as sim:
        site = Site(tmp_path, sim.url)
        result = site.cli("doctor", "--json", check=False)
    import json

    checks = {row["id"]: row for row in json.loads(result.stdout)}
    assert result.returncode == 1
    assert checks["daraja"]["status"] == "fail" and "token call failed" in checks["daraja"]["message"]
    for role in ("portal", "admin", "radius", "worker"):
        assert checks[f"role {role}"]["status"] == "fail"
    assert checks["app database"]["status"] == "ok"
