"""`hotspotd demo` runs a receiver, registers the demo site, and the site syncs to it; it
configures its simulated router, so a device that pays is logged in at the router."""

from __future__ import annotations

import base64
import re
import signal
import subprocess
import sys

import pytest

from ..loopback import free_port
from .site import ROOT, http, wait_for

pytestmark = pytest.mark.e2e


def device_at(port: int, address: str) -> str | None:
    """The MAC the demo's router gives for `address`, asked over its API as the portal asks."""
    from hotspotd.router.api import Target
    from hotspotd.router.client import connect
    from hotspotd.router.hosts import HostFinder, SiteRouter
    from hotspotd.router.pool import RouterClients

    clients = RouterClients(lambda t: connect(t, connect_timeout=2, timeout=2))
    router = SiteRouter(1, "demo-router", Target(1, "demo-router", "127.0.0.1", port, "admin", ""))
    finder = HostFinder(clients.session, lambda: [router], wait=2)
    try:
        found = finder.lookup(address)
        return found.device.mac if found.device else None
    finally:
        finder.close()
        clients.close()


def test_the_demo_syncs_to_its_own_receiver(tmp_path):
    ports = {name: free_port() for name in ("portal", "admin", "central")}
    radius = free_port(kind=__import__("socket").SOCK_DGRAM)
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen([sys.executable, "-m", "hotspotd", "demo", "--fresh", "--state-dir",
                                 str(tmp_path / "demo"), "--portal-port", str(ports["portal"]), "--admin-port",
                                 str(ports["admin"]), "--radius-port", str(radius), "--central-port",
                                 str(ports["central"])], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        text = wait_for(lambda: re.search(r"central\s+(\S+)\s+login: admin / (\S+)", log.read_text()), 90,
                        "the demo's banner")
        url, password = text.group(1).rstrip("/"), text.group(2)
        auth = {"Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}

        def synced():
            # A configuration pull marks the site seen before its first push has landed:
            # wait for the push (events delivered, nothing waiting), not only the pull.
            status, view = http("GET", url + "/api/central/overview", headers=auth)
            sites = view.get("sites", []) if status == 200 else []
            return (sites and sites[0]["last_seen"] and sites[0]["config_version"] == 0
                    and sites[0]["sync_lag_s"] is not None and sites[0]["waiting"] == 0 and sites[0])
        site = wait_for(synced, 90, "the demo site's first sync (events delivered)")
        assert site["name"] == "Demo Hotspot"

        assert "demo-router, API user admin, no password): configured through its API" in log.read_text()
        # the simulated router knows the device of the printed link, as the portal will ask it
        port = int(re.search(r"RouterOS sim\s+127\.0\.0\.1:(\d+)", log.read_text()).group(1))
        assert device_at(port, "127.0.0.1") == "AA:BB:CC:DD:EE:01"
        portal = f"http://127.0.0.1:{ports['portal']}"
        status, paid = http("POST", portal + "/api/portal/pay", {"package_id": 1, "phone": "0712345678",
                                                                  "mac": "AA:BB:CC:DD:EE:01", "ip": "10.5.50.2"})
        assert status == 202, paid
        # The simulator pays after 3 s; the worker then logs the device in at the router,
        # which asks hotspotd's RADIUS (the deploy pointed it there) and is accepted.
        wait_for(lambda: "auto-login of AA:BB:CC:DD:EE:01 at demo-router: logged in" in log.read_text(), 90,
                 "the paying device logged in at the demo router")
        assert "invalid user name or password" not in log.read_text()
        # ... and the demo shows the receipt text the site would have sent, with the login.
        texted = wait_for(lambda: re.search(r"SMS to 2547\*+678 \(the simulator.*?\): (.*)", log.read_text()), 60,
                          "the receipt text")
        assert "1 hour" in texted.group(1) and "password" in texted.group(1)
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(30)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0, log.read_text()[-3000:]
