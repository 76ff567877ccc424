"""The roles under the strictest memory rule the units set, MemoryDenyWriteExecute=yes.

systemd enforces it with a seccomp filter; Linux 6.3+ offers the same rule to any process
(prctl PR_SET_MDWE, kept across fork and exec). A role that needed writable-and-executable
memory (a JIT, a libffi closure) would crash under the unit; here it would crash in the test.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import sys

import psutil
import pytest

from hotspotd.sim.daraja import DarajaSimulator

from .site import Site, free_port, http, wait_for

pytestmark = pytest.mark.e2e

PR_SET_MDWE, PR_GET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 66, 1
PROBE = """
import ctypes, mmap
print(ctypes.CDLL(None).prctl(66, 0, 0, 0, 0))
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    print("allowed")
except PermissionError:
    print("refused")
"""


def deny_write_execute() -> None:
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_MDWE) failed: Linux 6.3 or later is needed")


def test_every_role_serves_with_memory_deny_write_execute(tmp_path):
    probe = subprocess.run([sys.executable, "-c", PROBE], preexec_fn=deny_write_execute, capture_output=True,
                           text=True, timeout=60)
    assert probe.stdout.split() == ["1", "refused"], probe.stdout + probe.stderr  # kept across exec, and enforced
    with DarajaSimulator(callback_delay=0.2) as sim:
        site = Site(tmp_path, sim.url, radius={"listen": "127.0.0.1", "auth_port": str(free_port(socket.SOCK_DGRAM)),
                                               "acct_port": str(free_port(socket.SOCK_DGRAM))})
        site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h")
        log = open(tmp_path / "run.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "hotspotd", "--config", str(site.config_path), "run"],
                                stdout=log, stderr=subprocess.STDOUT, env=site.env(), preexec_fn=deny_write_execute)
        try:
            wait_for(lambda: len(psutil.Process(proc.pid).children()) == 4, 60, "four roles")
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
