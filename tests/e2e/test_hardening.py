"""Every role under the units' strictest rules, enforced by the kernel: MemoryDenyWriteExecute and
the system call filter (@system-service without @privileged, EPERM otherwise), with
no_new_privs (`sandbox.py`). A role that needed writable-and-executable memory (a JIT, a
libffi closure) or a system call outside the list would fail under the unit; here it
fails in the test. (This machine runs no systemd as PID 1, so the units themselves are
verified and scored, not started: see test_install.py.)"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from hotspotd.plumbing.processes import PROCESSES
from hotspotd.sim.daraja import DarajaSimulator

from .site import Site, free_port, http, wait_for

pytestmark = pytest.mark.e2e

SANDBOX = str(Path(__file__).with_name("sandbox.py"))
PROBE = """
import ctypes, mmap, os
status = open("/proc/self/status").read()
print("mdwe", ctypes.CDLL(None).prctl(66, 0, 0, 0, 0), "seccomp", status.split("Seccomp:")[1].split()[0],
      "nnp", status.split("NoNewPrivs:")[1].split()[0])
for name, attempt in (("wx", lambda: mmap.mmap(-1, 4096, prot=7)), ("chroot", lambda: os.chroot("/"))):
    try:
        attempt()
        print(name, "allowed")
    except PermissionError:
        print(name, "refused")
"""


def test_the_rules_are_enforced_in_the_sandbox():
    probe = subprocess.run([sys.executable, SANDBOX, sys.executable, "-c", PROBE], capture_output=True, text=True,
                           timeout=60)
    assert probe.stdout.split() == ["mdwe", "1", "seccomp", "2", "nnp", "1", "wx", "refused", "chroot", "refused"], \
        probe.stdout + probe.stderr


def test_every_role_serves_under_the_units_rules(tmp_path):
    with DarajaSimulator(callback_delay=0.2) as sim:
        site = Site(tmp_path, sim.url, radius={"listen": "127.0.0.1", "auth_port": str(free_port(socket.SOCK_DGRAM)),
                                               "acct_port": str(free_port(socket.SOCK_DGRAM))})
        site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h")
        log = open(tmp_path / "run.log", "wb")
        proc = subprocess.Popen([sys.executable, SANDBOX, sys.executable, "-m", "hotspotd", "--config",
                                 str(site.config_path), "run"], stdout=log, stderr=subprocess.STDOUT, env=site.env())
        try:
            wait_for(lambda: len(psutil.Process(proc.pid).children()) == len(PROCESSES), 60, "the site's processes")
            wait_for(lambda: http("GET", site.portal + "/healthz")[0] == 200, 60, "portal up")
            status, body = http("POST", site.portal + "/api/portal/pay",
                                {"package_id": 1, "phone": "0712000001", "mac": "AA:BB:CC:00:00:01", "ip": "10.5.50.2"})
            assert status == 202, body
            wait_for(lambda: http("GET", f"{site.portal}/api/portal/payments/{body['payment_id']}"
                                         "?mac=AA:BB:CC:00:00:01")[1].get("status") == "paid", 60, "paid")
            doctor = wait_for(lambda: (lambda r: r if r.returncode == 0 else None)(site.cli("doctor", check=False)),
                              60, "doctor to find every role answering")
            for role in ("portal", "admin", "radius", "worker"):
                assert f"OK    role {role}:" in doctor.stdout, doctor.stdout
            assert proc.poll() is None
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
        assert code == 0, (tmp_path / "run.log").read_text()
        assert "Traceback" not in (tmp_path / "run.log").read_text()
