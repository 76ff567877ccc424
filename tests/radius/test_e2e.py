"""End to end: the radius role as a real process, FreeRADIUS's radclient as the router,
and a fake NAS on loopback that takes Disconnect-Requests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import traceback
from datetime import timedelta

import pytest

from hotspotd.radius import packet as rp
from hotspotd.store.db import utcnow
from hotspotd.store.models import Event, Router, Session, Subscription

from .conftest import SECRET, wait_for

# No skip when radclient is missing: CI installs it (scripts/test), and a skipped
# end-to-end test would hide a missing install step.
pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _radclient_installed():
    assert shutil.which("radclient"), "radclient not found: apt-get install freeradius-utils (scripts/test does)"


@pytest.fixture
def now():
    return utcnow()  # the role judges by the real clock


PHONE = 'Calling-Station-Id = "AA:BB:CC:00:00:09"'  # the device logging in, as a MikroTik names it


def radclient(port: int, kind: str, lines: list[str], tries: int = 3, timeout: float = 5,
              station: str | None = PHONE) -> subprocess.CompletedProcess:
    """radclient -x as the router: an Access-Request names its device (Calling-Station-Id)
    unless the lines do, or `station` is None."""
    if kind == "auth" and station and not any(line.startswith("Calling-Station-Id") for line in lines):
        lines = [*lines, station]
    return subprocess.run(["radclient", "-x", "-r", str(tries), "-t", str(timeout), f"127.0.0.1:{port}", kind, SECRET],
                          input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)


MA = "Message-Authenticator = 0x00"


def test_pap_accept_with_mikrotik_attributes(radius_role):
    out = radclient(radius_role.auth_port, "auth", ['User-Name = "alice"', 'User-Password = "alice-pw"', MA,
                                                    'Calling-Station-Id = "AA:BB:CC:00:00:01"'])
    assert "Received Access-Accept" in out.stdout, out.stdout + out.stderr
    assert 'Mikrotik-Rate-Limit = "2M/5M"' in out.stdout
    assert "Acct-Interim-Interval = 300" in out.stdout
    assert "Session-Timeout = 35" in out.stdout  # 3599 or 3598 s left of the hour
    reply = out.stdout.split("Received Access-Accept")[1].splitlines()
    assert reply[1].strip().startswith("Message-Authenticator = 0x")  # first attribute


def reply_values(out: subprocess.CompletedProcess) -> dict[str, str]:
    """The attributes radclient printed for the reply, by name."""
    reply = out.stdout.split("Received Access-", 1)[1]
    return dict(line.strip().split(" = ", 1) for line in reply.splitlines()[1:] if " = " in line)


def test_total_limit_for_capped_package(radius_role):
    out = radclient(radius_role.auth_port, "auth", ['User-Name = "carol"', 'User-Password = "carol-pw"', MA])
    values = reply_values(out)
    assert (values["Mikrotik-Total-Limit"], values["Mikrotik-Total-Limit-Gigawords"]) == ("0", "1")  # 4 GiB left


@pytest.fixture
def carol_has_4_gib_and_5_bytes_left(site):
    carol = site["subs"]["carol"]
    Subscription.update(data_limit=carol.bytes_used + 4_294_967_301).where(Subscription.id == carol.id).execute()


def test_total_limit_above_4_gib_splits_exactly(carol_has_4_gib_and_5_bytes_left, radius_role):
    out = radclient(radius_role.auth_port, "auth", ['User-Name = "carol"', 'User-Password = "carol-pw"', MA])
    assert "Received Access-Accept" in out.stdout, out.stdout + out.stderr
    values = reply_values(out)
    assert (values["Mikrotik-Total-Limit"], values["Mikrotik-Total-Limit-Gigawords"]) == ("5", "1")


def test_chap_accept(radius_role):
    out = radclient(radius_role.auth_port, "auth", ['User-Name = "alice"', 'CHAP-Password = "alice-pw"', MA])
    assert "Received Access-Accept" in out.stdout, out.stdout + out.stderr


def test_chap_with_a_wrong_password_is_rejected(radius_role):
    out = radclient(radius_role.auth_port, "auth", ['User-Name = "alice"', 'CHAP-Password = "alice-pW"', MA])
    assert "Received Access-Reject" in out.stdout, out.stdout + out.stderr
    assert 'Reply-Message = "Wrong password"' in out.stdout


@pytest.mark.parametrize("user, password, message", [
    ("alice", "nope", "Wrong password"),
    ("bob", "bob-pw", "Your package has expired"),
    ("dave", "dave-pw", "Your data allowance is used up"),
    ("zed", "x", "Unknown user"),
])
def test_rejects(radius_role, user, password, message):
    out = radclient(radius_role.auth_port, "auth", [f'User-Name = "{user}"', f'User-Password = "{password}"', MA])
    assert "Received Access-Reject" in out.stdout, out.stdout + out.stderr
    assert f'Reply-Message = "{message}"' in out.stdout


def test_a_mac_login_needs_its_calling_station_id(radius_role):
    """MikroTik's MAC login: User-Name is the MAC. Without the router's Calling-Station-Id
    nothing says the device is that MAC, so it is rejected; with it, the bound MAC logs in."""
    mac = 'User-Name = "AA:BB:CC:00:00:01"'
    out = radclient(radius_role.auth_port, "auth", [mac, 'User-Password = "mac-auth"', MA], station=None)
    assert "Received Access-Reject" in out.stdout, out.stdout + out.stderr
    assert 'Reply-Message = "Unknown user"' in out.stdout
    out = radclient(radius_role.auth_port, "auth", [mac, 'User-Password = "mac-auth"', MA,
                                                    'Calling-Station-Id = "AA:BB:CC:00:00:01"'])
    assert "Received Access-Accept" in out.stdout, out.stdout + out.stderr


def test_missing_message_authenticator_is_refused(radius_role):
    out = radclient(radius_role.auth_port, "auth", ['User-Name = "alice"', 'User-Password = "alice-pw"'],
                    tries=1, timeout=1)
    assert "Received" not in out.stdout and "No reply" in out.stderr + out.stdout
    assert "without Message-Authenticator" in wait_for(lambda: radius_role.log_path.read_text().count(
        "without Message-Authenticator") and radius_role.log_path.read_text(), what="drop log line")


def test_unknown_client_gets_no_answer(radius_role, site):
    Router.update(nas_ip="127.0.0.2").where(Router.id == site["router"].id).execute()
    out = wait_for(lambda: (lambda o: "No reply" in o.stderr + o.stdout and o)(
        radclient(radius_role.auth_port, "auth", ['User-Name = "alice"', 'User-Password = "alice-pw"', MA],
                  tries=1, timeout=1)), what="the role to forget the router")
    assert "Received" not in out.stdout
    assert "unknown client" in radius_role.log_path.read_text()


def acct(radius_role, status: str, *extra: str, session: str = "80100014", user: str = "alice"):
    out = radclient(radius_role.acct_port, "acct", [f'User-Name = "{user}"', f"Acct-Status-Type = {status}",
                                                    f'Acct-Session-Id = "{session}"', "Framed-IP-Address = 10.5.0.2",
                                                    'Calling-Station-Id = "AA:BB:CC:00:00:01"', *extra])
    assert "Received Accounting-Response" in out.stdout, out.stdout + out.stderr
    return out


def test_accounting_updates_usage_once(radius_role, site):
    alice = site["subs"]["alice"].id
    acct(radius_role, "Start")
    session = Session.get(Session.acct_session_id == "80100014")  # committed before the response
    assert session.status == "open" and session.subscription_id == alice
    interim = ("Acct-Input-Octets = 1000", "Acct-Output-Octets = 2000", "Acct-Output-Gigawords = 1",
               "Acct-Session-Time = 60")
    acct(radius_role, "Interim-Update", *interim)
    acct(radius_role, "Interim-Update", *interim)  # a retransmission: counts once
    assert Subscription.get_by_id(alice).bytes_used == 3000 + (1 << 32)
    acct(radius_role, "Stop", "Acct-Input-Octets = 1500", "Acct-Output-Octets = 2500", "Acct-Output-Gigawords = 1",
         "Acct-Session-Time = 90", "Acct-Terminate-Cause = User-Request")
    acct(radius_role, "Stop", "Acct-Input-Octets = 1500", "Acct-Output-Octets = 2500", "Acct-Output-Gigawords = 1",
         "Acct-Session-Time = 90", "Acct-Terminate-Cause = User-Request")
    session = Session.get_by_id(session.id)
    assert (session.status, session.terminate_cause, session.session_time) == ("closed", "User-Request", 90)
    assert Subscription.get_by_id(alice).bytes_used == 4000 + (1 << 32)
    assert [e.type for e in Event.select().where(Event.type.startswith("session."))] == \
        ["session.started", "session.stopped"]


def test_accounting_gigawords_count_2_to_the_32_octets(radius_role, site):
    acct(radius_role, "Start")
    acct(radius_role, "Interim-Update", "Acct-Input-Gigawords = 1", "Acct-Input-Octets = 5", "Acct-Session-Time = 60")
    assert Subscription.get_by_id(site["subs"]["alice"].id).bytes_used == 4_294_967_301


class FakeNAS:
    """A MikroTik's /radius incoming on loopback: answers Disconnect-Requests.

    It serves in a thread, where a failed check would only end the thread and leave the
    test to time out: problems are kept in `errors`, and `wait()` and `close()` raise them.
    """

    def __init__(self, answer: int = rp.DISCONNECT_ACK) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answer = answer
        self.received: list[rp.Packet] = []
        self.errors: list[str] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                data, address = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                if self.running:
                    self.errors.append(traceback.format_exc())
                return
            try:
                self._answer(data, address)
            except Exception:  # AssertionError included: the test raises it, not this thread
                self.errors.append(traceback.format_exc())

    def _answer(self, data: bytes, address: tuple[str, int]) -> None:
        key = SECRET.encode()
        packet = rp.decode(data)
        assert packet.code == rp.DISCONNECT_REQUEST, f"expected a Disconnect-Request, got code {packet.code}"
        assert rp.request_authenticator_ok(packet, key), "Disconnect-Request authenticator wrong for the secret"
        assert rp.message_authenticator_ok(packet, key, rp.ZERO16), "Disconnect-Request Message-Authenticator wrong"
        self.received.append(packet)
        attrs = b"" if self.answer == rp.DISCONNECT_ACK else rp.integer(rp.ERROR_CAUSE, 504)
        self.sock.sendto(rp.encode_reply(self.answer, packet.ident, packet.authenticator, key, attrs), address)

    def check(self) -> None:
        """Raise what went wrong in the NAS thread since the last check, if anything did."""
        if self.errors:
            found, self.errors = self.errors, []
            raise AssertionError("the fake NAS found:\n" + "\n".join(found))

    def wait(self, condition, what: str):
        """wait_for(condition), but fail at once, with the NAS's own message, if it found a problem."""
        value = wait_for(lambda: self.errors or condition(), what=what)
        self.check()
        return value

    def close(self) -> None:
        self.running = False
        self.thread.join(5)
        self.sock.close()
        assert not self.thread.is_alive(), "the fake NAS thread did not stop"
        self.check()


@pytest.fixture
def nas(site):
    fake = FakeNAS()
    Router.update(coa_port=fake.port).where(Router.id == site["router"].id).execute()
    yield fake
    fake.close()


def disconnected_event():
    return Event.select().where(Event.type == "session.disconnected").first()


def test_disconnect_when_subscription_expires(nas, radius_role, site):
    acct(radius_role, "Start")
    Subscription.update(ends_at=utcnow() - timedelta(seconds=1)).where(
        Subscription.id == site["subs"]["alice"].id).execute()
    event = nas.wait(disconnected_event, what="session.disconnected")
    assert event.data["reason"] == "package expired" and event.data["result"] == "ack"
    request = nas.received[0]
    assert request.text(rp.USER_NAME) == "alice" and request.text(rp.ACCT_SESSION_ID) == "80100014"
    assert request.attrs[rp.FRAMED_IP_ADDRESS] == bytes([10, 5, 0, 2])
    assert Session.get().status == "closed"


def test_disconnect_when_data_runs_out(nas, radius_role, site):
    acct(radius_role, "Start", user="carol", session="c1")
    acct(radius_role, "Interim-Update", "Acct-Input-Gigawords = 4", "Acct-Input-Octets = 1", user="carol",
         session="c1")
    event = nas.wait(disconnected_event, what="session.disconnected")
    assert event.data["reason"] == "data used up"
    assert nas.received[0].text(rp.ACCT_SESSION_ID) == "c1"


def test_kick_nak_is_logged(nas, radius_role, site):
    from hotspotd import sessions
    from hotspotd.store.models import HealthLog
    nas.answer = rp.DISCONNECT_NAK
    acct(radius_role, "Start")
    sessions.request_disconnect(Session.get().id, "admin kick", utcnow())
    log = nas.wait(lambda: HealthLog.select().where(HealthLog.component == "radius", HealthLog.level != "info").first(),
                   what="health-log error")
    assert log.level == "error" and "Error-Cause 504" in log.message
    assert disconnected_event() is None


def test_two_processes_serve_and_stop_quickly(config, site, tmp_path):
    import configparser
    import time

    from hotspotd.store.db import db

    from .conftest import RadiusProcess, write_config
    db.close()
    path = write_config(config, tmp_path / "two.ini", processes=2)
    ports = configparser.ConfigParser()
    ports.read(path)
    role = RadiusProcess(path, int(ports["radius"]["auth_port"]), int(ports["radius"]["acct_port"]),
                         tmp_path / "two.log")
    try:
        wait_for(lambda: role.log_path.read_text().count("radius serving") == 2, what="both processes")
        for _ in range(4):
            out = radclient(role.auth_port, "auth", ['User-Name = "alice"', 'User-Password = "alice-pw"', MA])
            assert "Received Access-Accept" in out.stdout, out.stdout + out.stderr
    finally:
        started = time.monotonic()
        code = role.stop()
        assert code == 0 and time.monotonic() - started < 5, role.log_path.read_text()


def test_garbage_is_counted_for_metrics_and_logged_as_a_summary(radius_role, site):
    """2,000 random datagrams from a router's address: every one dropped and counted, a line or two in the log."""
    import random

    from hotspotd.plumbing import counters

    rng = random.Random(8)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(2000):
            sock.sendto(bytes(rng.getrandbits(8) for _ in range(rng.randint(4, 120))), ("127.0.0.1", radius_role.auth_port))
    out = radclient(radius_role.auth_port, "auth", ['User-Name = "alice"', 'User-Password = "alice-pw"', MA])
    assert "Received Access-Accept" in out.stdout
    out = radclient(radius_role.auth_port, "auth", ['User-Name = "alice"', 'User-Password = "wrong"', MA])
    assert "Received Access-Reject" in out.stdout

    def published():
        drops, decisions = counters.totals("radius_drop"), counters.totals("radius_decision")
        return (sum(drops.values()) == 2000 and decisions.get("ok") == 1 and decisions.get("wrong_password") == 1
                and (drops, decisions))

    drops, _ = wait_for(published, 30, "the radius role to publish its counts")
    assert set(drops) <= {"malformed", "unexpected code", "Access-Request without Message-Authenticator",
                          "wrong Message-Authenticator (check the shared secret)",
                          "Access-Request without User-Name or password"}
    lines = [line for line in radius_role.log_path.read_text().splitlines() if "dropped" in line]
    assert 1 <= len(lines) <= 3, lines  # a summary, not a line per packet
    assert "malformed" in lines[0]


def test_a_password_without_its_device_is_refused(radius_role):
    """Without Calling-Station-Id nothing says which device logs in, so the login cannot be
    held to the devices its package admits: refused."""
    out = radclient(radius_role.auth_port, "auth", ['User-Name = "alice"', 'User-Password = "alice-pw"', MA],
                    station=None)
    assert "Received Access-Reject" in out.stdout and 'Reply-Message = "The router did not say which device this is"' \
        in out.stdout, out.stdout + out.stderr
