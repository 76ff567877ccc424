"""The real roles on a clock that lies (libfaketime, as PyPI's `libfaketime` vendors it):
a boot at a stale time, NTP's step forward, an operator's step back and its repair.

The roles run with the library preloaded, their wall clock offset by what the test writes
to a file (`FAKETIME_TIMESTAMP_FILE`, read on every call: `FAKETIME_NO_CACHE`), and their
monotonic clocks true (`FAKETIME_DONT_FAKE_MONOTONIC`), as on a box whose clock NTP steps.
The Daraja simulator runs in the test, on the true time, as Safaricom would. A reboot is
the roles restarted with the record saying an earlier boot wrote it.
"""

from __future__ import annotations

import re
import shutil
import socket
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.plumbing.processes import BACK_OFFICE
from hotspotd.web import language

from .site import Site, free_port, http, wait_for

pytestmark = pytest.mark.e2e

SECRET = "router-shared-secret"
A, B, C = "AA:BB:CC:00:00:0A", "AA:BB:CC:00:00:0B", "AA:BB:CC:00:00:0C"
HOUR = 3600
ROLES = ("portal", BACK_OFFICE, "radius")


def faketime_env(offset_file: Path) -> dict[str, str]:
    libfaketime = pytest.importorskip("libfaketime")
    _, env = libfaketime.get_reload_information()
    return {**env, "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_TIMESTAMP_FILE": str(offset_file),
            "FAKETIME_NO_CACHE": "1"}


class Box:
    """The site's roles on a clock the test sets, and a look at its database."""

    def __init__(self, folder: Path, daraja_url: str) -> None:
        self.offset_file = folder / "faketime"
        self.set_clock("+0")
        self.radius_port = free_port(socket.SOCK_DGRAM)
        self.site = Site(folder, daraja_url, radius={"listen": "127.0.0.1", "auth_port": str(self.radius_port),
                                                     "acct_port": str(free_port(socket.SOCK_DGRAM))},
                         alerts={"check_interval": "1"}, mpesa={"paybill": "174379"},
                         portal={"trial_minutes": "30"})
        fake = faketime_env(self.offset_file)
        plain = self.site.env
        self.site.env = lambda: {**plain(), **fake}
        self.db = folder / "state" / "hotspotd.db"

    def set_clock(self, offset: str) -> None:
        self.offset_file.write_text(offset + "\n")

    def start(self) -> None:
        for role in ROLES:
            self.site.start(role)

    def query(self, sql: str, *params):
        with sqlite3.connect(self.db, timeout=10) as con:
            return con.execute(sql, params).fetchall()

    def ends_at(self, payment_ref: str) -> datetime:
        [(text,)] = self.query('SELECT s."ends_at" FROM "payment" p JOIN "subscription" s ON s."id" = p."subscription_id" '
                               'WHERE p."ref" = ?', payment_ref)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    def steps(self) -> list[str]:
        return [data for (data,) in self.query('SELECT "data" FROM "event" WHERE "type" = \'system.clock_stepped\' '
                                               'ORDER BY "id"')]

    def pay(self, mac: str, lang: str = "en") -> tuple[int, dict]:
        phone = {A: "0712000001", B: "0712000002", C: "0712000003"}[mac]  # one customer per device
        return http("POST", self.site.portal + "/api/portal/pay", {"package_id": 1, "phone": phone,
                                                                   "mac": mac, "ip": "10.5.50.2"},
                    headers={"Accept-Language": lang})

    def paid(self, payment_id: str, mac: str) -> dict:
        return wait_for(lambda: (lambda r: r if r.get("status") == "paid" else None)(
            http("GET", f"{self.site.portal}/api/portal/payments/{payment_id}?mac={mac}")[1]), 60, "paid")

    def login(self, username: str, password: str) -> int:
        """Access-Accept's Session-Timeout for a login as the router sends it (radclient)."""
        out = subprocess.run(["radclient", "-x", "-r", "3", "-t", "3", f"127.0.0.1:{self.radius_port}", "auth",
                              SECRET], input=f'User-Name = "{username}"\nUser-Password = "{password}"\n'
                             'Calling-Station-Id = "AA:BB:CC:00:00:09"\nMessage-Authenticator = 0x00\n',
                             capture_output=True, text=True, timeout=60)
        text = out.stdout + out.stderr
        assert "Received Access-Accept" in text, text
        return int(re.search(r"Session-Timeout = (\d+)", text).group(1))


def wait_step(box: Box, count: int) -> dict:
    import json

    found = wait_for(lambda: len(box.steps()) >= count and box.steps(), 30, f"clock step {count} recorded")
    return json.loads(found[count - 1])


def test_a_stale_boot_an_ntp_step_and_a_step_back_on_the_real_roles(tmp_path):
    assert shutil.which("radclient")
    with DarajaSimulator(callback_delay=0.2) as sim:
        box = Box(tmp_path, sim.url)
        site = box.site
        site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h", "--rate", "2M/5M")
        site.cli("router", "add", "--name", "gate", "--host", "127.0.0.1", "--secret", SECRET)
        try:
            # -- the day before: a customer buys an hour; another takes a Paybill account number
            box.start()
            status, started = box.pay(A)
            assert status == 202, started
            credentials = box.paid(started["payment_id"], A)
            bought_until = box.ends_at(started["payment_id"])
            site.cli("mpesa", "register-c2b")
            status, offer = http("POST", site.portal + "/api/portal/paybill", {"package_id": 1, "mac": B})
            assert status == 201, offer
            site.stop()

            # -- power cut; the box boots five hours behind (its clock says when it stopped, or near)
            box.query('UPDATE "clock_state" SET "boot_id" = \'an-earlier-boot\'')
            box.set_clock("-5h")
            box.start()
            for lang in ("en", "sw"):
                status, answer = box.pay(C, lang)
                assert status == 503 and answer["error"] == language.catalogue(lang)("err.clock"), answer
            for path, body in (("/api/portal/voucher", {"code": "ABCDE12345", "mac": C}),
                               ("/api/portal/paybill", {"package_id": 1, "mac": C}),
                               ("/api/portal/trial", {"mac": C})):
                status, answer = http("POST", site.portal + path, body, headers={"Accept-Language": "sw"})
                assert status == 503 and answer["error"] == language.catalogue("sw")("err.clock"), (path, answer)
            # the customer of yesterday logs in, for no more than was left at the last time the
            # box could believe (it cannot know how long it was off), not five hours more
            [(mark,)] = box.query('SELECT "mark" FROM "clock_state"')
            left = (bought_until - datetime.now(timezone.utc)).total_seconds()
            granted = box.login(credentials["username"], credentials["password"])
            assert left - 60 <= granted <= bought_until.timestamp() - mark + 1, (left, granted)
            # money still comes in, and waits to be applied on a time that can be believed
            assert http("POST", sim.url + "/__sim__/paybill", {"amount": 10, "phone": "254708374149",
                                                               "account": offer["account"]})[0] == 200
            wait_for(lambda: box.query('SELECT "status" FROM "payment" WHERE "ref" = ?', offer["payment_id"])
                     == [("received",)], 30, "the Paybill payment recorded")
            doctor = site.cli("doctor", check=False).stdout
            assert re.search(r"FAIL +clock: .*not believable: Daraja's clock puts this clock 5 h 0 min behind", doctor) \
                or re.search(r"FAIL +clock: .*not believable: the clock .* is behind the last known-good", doctor), doctor
            assert box.query('SELECT "status" FROM "payment" WHERE "ref" = ?', offer["payment_id"]) == [("received",)]

            # -- NTP steps the clock forward: recorded, alerted, nothing to carry, selling resumes
            box.set_clock("+0")
            step = wait_step(box, 1)
            assert step["frame"] == "unknown" and abs(step["step_s"] - 5 * HOUR) < 60 and step["believable"]
            wait_for(lambda: box.query('SELECT 1 FROM "alert" WHERE "key" = \'clock.stepped\''), 30, "the alert")
            paybill = box.paid(offer["payment_id"], B)  # applied now, on the true time: a whole hour from now
            hour_left = (datetime.fromisoformat(paybill["expires_at"].replace("Z", "+00:00"))
                         - datetime.now(timezone.utc)).total_seconds()
            assert HOUR - 60 < hour_left <= HOUR
            assert box.ends_at(started["payment_id"]) == bought_until
            status, again = box.pay(C)
            assert status == 202, again
            box.paid(again["payment_id"], C)

            # -- an operator sets the clock three hours back by mistake: carried, nobody loses
            box.set_clock("-3h")
            step = wait_step(box, 2)
            assert step["frame"] == "carried" and abs(step["step_s"] + 3 * HOUR) < 60
            assert step["subscriptions"] >= 3 and not step["believable"]  # Daraja's clock disagrees
            assert abs((box.ends_at(started["payment_id"]) - bought_until).total_seconds() + 3 * HOUR) < 60
            left = (bought_until - datetime.now(timezone.utc)).total_seconds()
            assert left - 60 <= box.login(credentials["username"], credentials["password"]) <= left + 60
            assert box.pay(C)[0] == 503
            # ... and put right: carried back, selling again
            box.set_clock("+0")
            step = wait_step(box, 3)
            assert step["frame"] == "carried" and abs(step["step_s"] - 3 * HOUR) < 60 and step["believable"]
            assert abs((box.ends_at(started["payment_id"]) - bought_until).total_seconds()) < 60
            wait_for(lambda: box.pay(C)[0] == 202, 30, "selling again")
        finally:
            site.stop()
