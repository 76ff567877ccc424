"""Home subscribers over PPPoE, end to end: the real roles (portal, back office, radius), the
RouterOS simulator as the PPPoE server (CPEs dial through it over RADIUS, it takes
Disconnect-Requests) and FreeRADIUS's radclient as a PPPoE server asking with PAP, CHAP and
MS-CHAPv2 (RFC 2759's own login, precomputed, as docs/protocols.md §9.6 says radclient can).

Addresses are loopback ones (the plan's pool 127.0.20.x, the suspended pool 127.0.21.x), so
a subscriber's page view comes from its own address, as it would through the router."""

from __future__ import annotations

from http.client import HTTPConnection
import json
import shutil
import socket
import subprocess
from datetime import timedelta

import pytest

from hotspotd import config as config_mod
from hotspotd.router.api import Target, same
from hotspotd.router.client import connect
from hotspotd.sim.daraja.wire import c2b_body
from hotspotd.sim.routeros import RouterOSSimulator
from hotspotd.sim.routeros.ppp import DialRefused
from hotspotd.store.db import db, open_database, utcnow
from hotspotd.store.models import Event, Payment, Session, Subscriber

from ..pppoe import vectors as v
from .site import CALLBACK_TOKEN, Site, free_port, http, wait_for

pytestmark = pytest.mark.e2e

API_PASSWORD = "api-pass"
SECRET = "radius-secret-123"
MONTH = timedelta(days=30)
CPE = "AA:BB:CC:00:20:01"
PPPOE = {"pool_ranges": "127.0.20.2-127.0.20.254", "local_address": "127.0.20.1",
         "suspended_ranges": "127.0.21.2-127.0.21.254", "suspended_session_timeout": "120"}


@pytest.fixture(autouse=True)
def _radclient_installed():
    assert shutil.which("radclient"), "radclient not found: apt-get install freeradius-utils (scripts/test does)"


@pytest.fixture
def routeros():
    with RouterOSSimulator(password=API_PASSWORD) as sim:
        yield sim


@pytest.fixture
def site(tmp_path, daraja, routeros):
    udp = socket.SOCK_DGRAM
    auth = free_port(udp)
    site = Site(tmp_path, daraja.url, pppoe=PPPOE, mpesa={"paybill": "600984"},
                routers={"radius_address": "127.0.0.1", "probe_interval": "1", "sessions_interval": "1"},
                radius={"listen": "127.0.0.1", "auth_port": str(auth), "acct_port": str(free_port(udp)),
                        "sweep_interval": "1"})
    site.auth_port = auth
    site.cli("package", "add", "--service", "pppoe", "--name", "Home 5M", "--duration", "30d", "--price", "1500",
             "--rate", "5M/5M")
    site.cli("router", "add", "--name", "gate", "--host", "127.0.0.1", "--api-port", str(routeros.port),
             "--api-user", "admin", "--api-password", "-", "--secret", "-", "--coa-port", str(routeros.coa_port),
             stdin=f"{SECRET}\n{API_PASSWORD}\n")
    for role in ("portal", "admin,worker", "radius"):
        site.start(role)
    open_database(config_mod.load(site.config_path).app_db_path)
    yield site
    site.stop()
    db.close()


def radclient(site, lines: list[str]) -> dict[str, str]:
    out = subprocess.run(["radclient", "-x", "-r", "3", "-t", "5", f"127.0.0.1:{site.auth_port}", "auth", SECRET],
                         input="\n".join(lines + ["Message-Authenticator = 0x00", "Service-Type = Framed-User",
                                                  "Framed-Protocol = PPP", "NAS-Port-Type = Ethernet",
                                                  f'Calling-Station-Id = "{CPE}"']) + "\n",
                         capture_output=True, text=True, timeout=120)
    assert "Received Access-" in out.stdout, out.stdout + out.stderr
    reply = out.stdout.split("Received Access-", 1)[1]
    values = dict(line.strip().split(" = ", 1) for line in reply.splitlines()[1:] if " = " in line)
    values["code"] = reply.split()[0]
    return values


def read_back(sim, path: str) -> list[dict[str, str]]:
    client = connect(Target(9, "check", "127.0.0.1", sim.port, "admin", API_PASSWORD), connect_timeout=2, timeout=2)
    try:
        return client.print(path)
    finally:
        client.close()


def get_from(site, address: str, path: str, host: str | None = None) -> tuple[int, dict, str]:
    """A page asked for from `address` (a subscriber's own), as through the router."""
    conn = HTTPConnection("127.0.0.1", site.portal_port, timeout=10, source_address=(address, 0))
    try:
        conn.request("GET", path, headers={"Host": host or f"127.0.0.1:{site.portal_port}"})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def confirm(site, account: str, amount, trans_id: str) -> None:
    body = c2b_body(trans_id=trans_id, when=utcnow(), amount=amount, short_code="600984", bill_ref=account,
                    msisdn="2547 ***** 678", balance="0.00")
    status, answer = http("POST", f"{site.portal}/api/payments/c2b-confirmation/{CALLBACK_TOKEN}", body)
    assert status == 200 and answer["ResultCode"] == 0, answer


def dial(sim, *, password: str = "clientPass"):
    """The CPE dials (again), until RADIUS has a fresh answer for it."""
    return sim.ppp.dial("User", password, CPE)


def test_deploy_subscribe_log_in_lapse_pay_and_come_back(site, routeros):
    # -- deploy PPPoE twice: the second run changes nothing; read it back over the API
    for _ in range(2):
        out = site.cli("router", "deploy", "gate", "--service", "pppoe", "--interface", "ether2").stdout
        assert out.rstrip().endswith("completed"), out
    assert "unchanged" in out and "added" not in out
    [server] = read_back(routeros, "/interface/pppoe-server/server")
    assert (server["interface"], server["default-profile"]) == ("ether2", "hotspotd-pppoe")
    assert read_back(routeros, "/radius")[0]["service"] == "ppp"
    assert same(read_back(routeros, "/ppp/aaa")[0]["use-radius"], True)
    assert {p["name"]: p["ranges"] for p in read_back(routeros, "/ip/pool")}["hotspotd-suspended"] == \
        PPPOE["suspended_ranges"]
    assert [r["to-ports"] for r in read_back(routeros, "/ip/firewall/nat")
            if r.get("comment") == "hotspotd: please pay"] == [str(site.portal_port)]

    # -- a subscriber with RFC 2759's login, paid for two days
    made = json.loads(site.cli("subscriber", "add", "--name", "Wanjiku Kamau", "--phone", "0712345678", "--package",
                               "1", "--username", "User", "--password", "clientPass", "--json",
                               "--paid-until", (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d")).stdout)
    account = made["account"]
    assert made["username"] == "User" and len(account) == 6

    # -- PAP and CHAP get the plan's attributes
    for creds in ('User-Password = "clientPass"', 'CHAP-Password = "clientPass"'):
        reply = radclient(site, ['User-Name = "User"', creds])
        assert reply["code"] == "Accept", reply
        assert (reply["Mikrotik-Rate-Limit"], reply["Mikrotik-Group"], reply["Framed-Pool"]) == (
            '"5M/5M"', '"hotspotd-pppoe"', '"hotspotd-pppoe"')
        assert 3600 < int(reply["Session-Timeout"]) <= 3 * 86400 and reply["Acct-Interim-Interval"] == "300"
    # -- MS-CHAPv2, precomputed from the RFC's vectors: radclient checks nothing, but prints the keys it decrypts
    reply = radclient(site, ['User-Name = "User"', f"MS-CHAP-Challenge = 0x{v.AUTHENTICATOR_CHALLENGE.hex()}",
                             f"MS-CHAP2-Response = 0x{v.RESPONSE.hex()}"])
    assert reply["code"] == "Accept"
    assert reply["MS-CHAP2-Success"].lower() == "0x01" + v.AUTHENTICATOR_RESPONSE.encode().hex()
    assert reply["MS-MPPE-Send-Key"].lower() == "0x" + v.SEND_KEY.hex()
    assert reply["MS-MPPE-Recv-Key"].lower() == "0x" + v.RECV_KEY.hex()
    wrong = radclient(site, ['User-Name = "User"', 'CHAP-Password = "clientpass"'])
    assert wrong["code"] == "Reject" and wrong["Reply-Message"] == '"Wrong password"'

    # -- the CPE dials through the simulated router: the plan's pool; accounting opens a PPP session
    online = dial(routeros)
    assert online["profile"] == "hotspotd-pppoe" and online["address"].startswith("127.0.20.")
    sub = Subscriber.get(Subscriber.account == account)
    wait_for(lambda: Session.select().where((Session.subscriber == sub.id) & (Session.status == "open")).count() == 1,
             30, "the PPP session's accounting Start")

    # -- the period ends: the worker suspends, the session is cut, the redial lands in the suspended pool
    Subscriber.update(period_end=utcnow() - timedelta(seconds=1)).where(Subscriber.id == sub.id).execute()
    wait_for(lambda: Event.select().where(Event.type == "subscriber.suspended").exists(), 30, "subscriber.suspended")
    wait_for(lambda: not routeros.router.table("/ppp/active"), 30, "the Disconnect-Request to end the session")
    suspended = wait_for(lambda: _dial_into(routeros, "hotspotd-expired"), 30, "a redial into the suspended pool")
    assert suspended["address"].startswith("127.0.21.") and suspended["address-list"] == "hotspotd-suspended"
    assert suspended["session-timeout"] == "120"
    address = suspended["address"]
    wait_for(lambda: Session.select().where((Session.subscriber == sub.id) & (Session.ip == address)
                                            & (Session.status == "open")).exists(), 30,
             "the suspended session's accounting")

    # -- the please-pay page at that address says what is owed; a page elsewhere is sent there
    status, _, page = get_from(site, address, "/please-pay")
    assert status == 200 and "Hi Wanjiku" in page and "Pay KES 1,500 for up to 5 Mbps until " in page, page
    assert f"account {account}" in page
    status, headers, _ = get_from(site, address, "/news", host="example.com")
    assert status == 302 and headers["Location"].endswith("/please-pay")

    # -- Paybill to the account: back online (Disconnect, the redial gets the plan), one period exactly
    before = utcnow()
    confirm(site, account, 1500, "SKP1A2B3C4")
    extended = wait_for(lambda: Event.select().where(Event.type == "subscriber.extended").first(), 30,
                        "subscriber.extended")
    wait_for(lambda: not any(a["address"] == address for a in routeros.router.table("/ppp/active")), 30,
             "the suspended session ended by a Disconnect-Request")
    assert any(r["found"] for r in routeros.coa.requests)
    back = wait_for(lambda: _dial_into(routeros, "hotspotd-pppoe"), 30, "a redial onto the plan")
    assert back["address"].startswith("127.0.20.")
    paid = Subscriber.get_by_id(sub.id)
    assert paid.period_end - paid.period_start == MONTH and before <= paid.period_start <= utcnow()
    assert extended.data["periods"] == 1 and paid.status == "active" and paid.balance_cents == 0

    # -- a replay does nothing; a partial payment is kept as balance
    confirm(site, account, 1500, "SKP1A2B3C4")
    confirm(site, account, 700, "SKP1A2B3C5")
    wait_for(lambda: Subscriber.get_by_id(sub.id).balance_cents == 70000, 30, "the partial payment as balance")
    assert Subscriber.get_by_id(sub.id).period_end == paid.period_end
    assert Payment.select().where(Payment.subscriber == sub.id).count() == 2
    shown = json.loads(site.cli("subscriber", "show", account, "--json").stdout)
    assert (shown["balance"], shown["owed"], shown["status"]) == (700, 800, "active")


def _dial_into(sim, profile: str):
    """Dial; the row when it got `profile`, else hang up and say not yet (the view may lag)."""
    try:
        row = dial(sim)
    except DialRefused:
        return None
    if row["profile"] == profile:
        return row
    with sim.router.lock:
        sim.ppp._end([a for a in sim.router.menus["/ppp/active"].items if a.get("session-id") == row["session-id"]], 1)
    return None
