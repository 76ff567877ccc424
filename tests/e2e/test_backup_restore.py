"""Recovery onto a new box: the config, the latest backup and the router's secret bring back a
site that sells and authenticates."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from hotspotd.sim.daraja import DarajaSimulator

from .site import Site, free_port, http, wait_for

pytestmark = pytest.mark.e2e

SECRET = "router-shared-secret"
MAC = "AA:BB:CC:00:00:01"


def radius_ports() -> dict[str, str]:
    return {"listen": "127.0.0.1", "auth_port": str(free_port(socket.SOCK_DGRAM)),
            "acct_port": str(free_port(socket.SOCK_DGRAM))}


def buy(site: Site, phone: str) -> dict:
    status, body = http("POST", site.portal + "/api/portal/pay",
                        {"package_id": 1, "phone": phone, "mac": MAC, "ip": "10.5.50.2"})
    assert status == 202, body

    def paid():
        answer = http("GET", f"{site.portal}/api/portal/payments/{body['payment_id']}?mac={MAC}")[1]
        return answer if answer.get("status") == "paid" else None

    return wait_for(paid, 60, "the payment to be paid")


def login(site: Site, port: str, username: str, password: str) -> str:
    out = subprocess.run(["radclient", "-x", "-r", "3", "-t", "3", f"127.0.0.1:{port}", "auth", SECRET],
                         input=f'User-Name = "{username}"\nUser-Password = "{password}"\n'
                               f'Calling-Station-Id = "AA:BB:CC:00:00:09"\nMessage-Authenticator = 0x00\n', capture_output=True, text=True, timeout=60)
    return out.stdout + out.stderr


def test_a_restored_box_sells_and_authenticates(tmp_path):
    assert shutil.which("radclient")
    with DarajaSimulator(callback_delay=0.2) as sim:
        (tmp_path / "old").mkdir()
        (tmp_path / "new").mkdir()
        old = Site(tmp_path / "old", sim.url)
        old.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h", "--rate", "2M/5M")
        old.cli("router", "add", "--name", "gate", "--host", "127.0.0.1", "--secret", SECRET)
        old.start("portal")
        old.start("worker")
        try:
            credentials = buy(old, "0712000001")
        finally:
            old.stop()
        old.cli("backup", str(tmp_path / "offsite"))  # copied off the box every night
        # the SD card dies; a new box gets the same config and the latest backup
        ports = radius_ports()
        new = Site(tmp_path / "new", sim.url, radius=ports)
        new.start("portal")
        refused = new.cli("restore", str(tmp_path / "offsite"), check=False)
        assert refused.returncode == 1 and "roles are running" in refused.stderr
        new.stop()
        restored = new.cli("restore", str(tmp_path / "offsite"))
        assert "restored" in restored.stdout and "hotspotd-" in restored.stdout
        for role in ("portal", "worker", "radius"):
            new.start(role)
        try:
            out = login(new, ports["auth_port"], credentials["username"], credentials["password"])
            assert "Received Access-Accept" in out, out
            assert "Received Access-Reject" in login(new, ports["auth_port"], credentials["username"], "wrong-pass")
            again = buy(new, "0712000002")  # and it sells
            assert again["username"] != credentials["username"]
        finally:
            new.stop()
