"""`hotspotd run` and `hotspotd demo` as an operator starts them: every role, real ports."""

import re
import signal
import subprocess
import sys
import time

import psutil
import pytest

from hotspotd.sim.daraja import DarajaSimulator

from .site import Site, free_port, http, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def running(tmp_path):
    with DarajaSimulator() as sim:
        site = Site(tmp_path, sim.url, radius={"listen": "127.0.0.1", "auth_port": str(free_port()),
                                               "acct_port": str(free_port())})
        log = open(tmp_path / "run.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "hotspotd", "--config", str(site.config_path), "run"],
                                stdout=log, stderr=subprocess.STDOUT, env=site.env())
        wait_for(lambda: http("GET", site.portal + "/healthz")[0] == 200, 60, "portal up")
        wait_for(lambda: len(psutil.Process(proc.pid).children()) == 3, 60, "three processes")
        yield proc, site
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_run_starts_every_role_and_stops_them_on_sigterm(running):
    proc, site = running
    roles = {" ".join(p.cmdline()[-2:]) for p in psutil.Process(proc.pid).children()}
    # the console and the worker share the back office process
    assert roles == {f"--role {r}" for r in ("portal", "admin,worker", "radius")}
    wait_for(lambda: http("GET", f"http://127.0.0.1:{site.admin_port}/healthz")[0] == 200, 60, "the console")
    children = psutil.Process(proc.pid).children()
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert time.monotonic() - started < 7
    assert not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children)


def test_run_exits_non_zero_when_a_role_dies(running):
    proc, site = running
    portal = next(p for p in psutil.Process(proc.pid).children() if p.cmdline()[-1] == "portal")
    others = [p for p in psutil.Process(proc.pid).children() if p.pid != portal.pid]
    portal.kill()
    assert proc.wait(20) == 1
    def stopped(process: psutil.Process) -> bool:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE

    wait_for(lambda: all(stopped(p) for p in others), 10, "the other roles to stop")


def test_demo_runs_a_whole_site_that_sells(tmp_path):
    ports = {name: free_port() for name in ("portal", "admin", "radius")}
    log = open(tmp_path / "demo.log", "w+b")
    proc = subprocess.Popen([sys.executable, "-m", "hotspotd", "demo", "--state-dir", str(tmp_path / "demo"),
                             "--portal-port", str(ports["portal"]), "--admin-port", str(ports["admin"]),
                             "--radius-port", str(ports["radius"])], stdout=log, stderr=subprocess.STDOUT)
    portal = f"http://127.0.0.1:{ports['portal']}"
    try:
        wait_for(lambda: http("GET", portal + "/healthz")[0] == 200, 90, "demo portal")
        status, page = http("GET", portal + "/?mac=AA:BB:CC:DD:EE:01&ip=10.5.50.2")
        assert status == 200 and "Demo Hotspot" in page and "1 hour" in page and "KES 10" in page
        wait_for(lambda: b"login: admin / " in (tmp_path / "demo.log").read_bytes(), 30, "admin login printed")
        status, body = http("POST", portal + "/api/portal/pay",
                            {"package_id": 1, "phone": "0708374149", "mac": "AA:BB:CC:DD:EE:01", "ip": "10.5.50.2"})
        assert status == 202
        paid = wait_for(lambda: (lambda r: r[1] if r[1].get("status") == "paid" else None)(
            http("GET", f"{portal}/api/portal/payments/{body['payment_id']}?mac=AA:BB:CC:DD:EE:01")), 60, "paid")
        assert paid["username"] and paid["password"]
        # Paybill, paid by hand as the demo's banner says, from another phone (its own address:
        # the demo's router sees every 127.x.y.z browser as a device of its own)
        status, offer = http("POST", portal + "/api/portal/paybill", {"package_id": 1}, source="127.0.3.2")
        assert status == 201 and offer["business_number"] == "174379"
        daraja = re.search(rb"Daraja sim +(http://\S+)", (tmp_path / "demo.log").read_bytes()).group(1).decode()
        assert http("POST", daraja + "/__sim__/paybill", {"amount": 10, "phone": "254708374149",
                                                          "account": offer["account"]})[0] == 200
        wait_for(lambda: http("GET", f"{portal}/api/portal/payments/{offer['payment_id']}", source="127.0.3.2"
                              )[1].get("status") == "paid", 60, "paid by Paybill")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0, (tmp_path / "demo.log").read_text()
