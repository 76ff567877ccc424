"""Who is asking, end to end: the portal, worker and RADIUS roles as real processes, the
router's API played by the RouterOS simulator (its hotspot host table maps each device's
address to its MAC), FreeRADIUS's radclient as the router's RADIUS client. Every customer
sends from an address of its own (127.0.x.y); the attacker from another. Each attack of
the review fails, each honest path works, also with the router's API down."""

from __future__ import annotations

import shutil
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.sim.routeros import RouterOSSimulator

from .site import Site, free_port, http, wait_for

pytestmark = pytest.mark.e2e

SECRET = "who-is-asking-secret"
VICTIM = ("AA:BB:CC:00:01:01", "127.0.9.2")
ATTACKER = ("AA:BB:CC:00:01:66", "127.0.9.66")
PHONE = "0712345678"


@pytest.fixture(scope="module")
def daraja():
    with DarajaSimulator(callback_delay=0.2) as sim:
        yield sim


@pytest.fixture(scope="module")
def routeros():
    with RouterOSSimulator(password="api-pass") as sim:
        for mac, ip in (VICTIM, ATTACKER):
            sim.router.connect_device(mac, ip)
        yield sim


@pytest.fixture(scope="module")
def site(tmp_path_factory, daraja, routeros):
    udp = socket.SOCK_DGRAM
    site = Site(tmp_path_factory.mktemp("who"), daraja.url, portal={"trial_minutes": "15"},
                radius={"listen": "127.0.0.1", "auth_port": str(free_port(udp)), "acct_port": str(free_port(udp))})
    site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h", "--rate", "2M/5M")
    site.cli("router", "add", "--name", "gate", "--host", "127.0.0.1", "--secret", SECRET, "--api-port",
             str(routeros.port), "--api-user", "admin", "--api-password", "api-pass")
    for role in ("portal", "worker", "radius"):
        site.start(role)
    yield site
    site.stop()


def as_(who: tuple[str, str], site: Site, method: str, path: str, body: dict | None = None):
    return http(method, site.portal + path, body, source=who[1])


def pay(site: Site, who, **claims) -> dict:
    status, started = as_(who, site, "POST", "/api/portal/pay", {"package_id": 1, "phone": PHONE, **claims})
    assert status == 202, started
    return wait_for(lambda: (view := as_(who, site, "GET", f"/api/portal/payments/{started['payment_id']}")[1])
                    .get("password") and view, 60, "the payment to be paid")


def radclient(site: Site, username: str, password: str, mac: str) -> str:
    assert shutil.which("radclient"), "radclient not found: apt-get install freeradius-utils (scripts/test does)"
    port = _auth_port(site)
    lines = [f'User-Name = "{username}"', f'User-Password = "{password}"', f'Calling-Station-Id = "{mac}"',
             "Message-Authenticator = 0x00"]
    done = subprocess.run(["radclient", "-x", "-r", "3", "-t", "5", f"127.0.0.1:{port}", "auth", SECRET],
                          input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)
    return done.stdout


def _auth_port(site: Site) -> int:
    text = site.config_path.read_text()
    return int(text.split("auth_port = ")[1].split()[0])


@pytest.fixture(scope="module")
def victim(site) -> dict:
    """The victim paid from their phone and logged in at the router once (then went offline)."""
    view = pay(site, VICTIM, mac=VICTIM[0], ip=VICTIM[1])
    assert "Received Access-Accept" in radclient(site, view["username"], view["password"], VICTIM[0])
    return view


def test_anyones_access_for_kes_10_fails(site, victim):
    """A top-up naming the victim's MAC is refused (the router says it is another device);
    the attacker's own purchase gets the attacker an account of their own."""
    status, answer = as_(ATTACKER, site, "POST", "/api/portal/pay",
                         {"package_id": 1, "phone": PHONE, "mac": VICTIM[0], "top_up": True})
    assert status == 403 and "another device" in answer["error"]
    mine = pay(site, ATTACKER, top_up=True)
    assert mine["username"] != victim["username"]


def test_status_and_logout_tell_and_do_nothing_for_a_stranger(site, victim):
    status, answer = as_(ATTACKER, site, "GET", f"/api/portal/status?mac={VICTIM[0]}")
    assert status == 403 and "username" not in answer
    status, answer = as_(VICTIM, site, "GET", "/api/portal/status")  # the victim's own phone: no claim needed
    assert answer["username"] == victim["username"] and answer["password"] == victim["password"]
    stolen = {"username": victim["username"], "password": victim["password"], "mac": VICTIM[0]}
    assert as_(ATTACKER, site, "POST", "/api/portal/logout", stolen)[0] == 403


def test_a_stolen_password_is_refused_on_another_device_though_the_owner_is_offline(site, victim):
    out = radclient(site, victim["username"], victim["password"], ATTACKER[0])
    assert "Received Access-Reject" in out and "as many devices as it allows" in out


def test_already_paid_without_the_code_answers_only_the_device_that_paid(site, daraja):
    daraja.set_outcome("no_callback", times=1)  # the callback is lost; the STK query will say paid
    pushes = len(daraja.pushes)
    status, started = as_(VICTIM, site, "POST", "/api/portal/pay", {"package_id": 1, "phone": "0712345679"})
    assert status == 202 and len(daraja.pushes) == pushes + 1
    wait_for(lambda: "receipt" in daraja.pushes[-1], 30, "M-Pesa to take the money (its callback is lost)")
    guess = {"receipt": "QWE3ABC12X", "phone": "0712345679"}
    status, answer = as_(ATTACKER, site, "POST", "/api/portal/restore", {**guess, "mac": ATTACKER[0]})
    assert status == 404 and "No paid M-Pesa payment matches" in answer["error"]
    status, answer = as_(VICTIM, site, "POST", "/api/portal/restore", guess)
    assert status == 200 and answer["password"]


def test_trials_cannot_be_farmed_with_made_up_macs(site):
    status, first = as_(ATTACKER, site, "POST", "/api/portal/trial", {})
    assert status == 200
    for n in range(3):
        assert as_(ATTACKER, site, "POST", "/api/portal/trial", {"mac": f"02:00:00:00:09:{n:02X}"})[0] == 403
    out = radclient(site, first["username"], first["password"], VICTIM[0])  # the trial's login elsewhere
    assert "Received Access-Reject" in out


def test_a_foreign_login_link_never_reaches_the_page(site):
    status, page = http("GET", site.portal + "/?link-login-only=https://evil.example/x&link-orig=https://evil.example/")
    assert status == 200 and "evil.example" not in page


def test_two_hundred_customers_from_two_hundred_addresses_are_never_told_to_wait(site):
    def one(n: int) -> int:
        return http("POST", site.portal + "/api/portal/pay", {"package_id": 1, "phone": f"0713{n:06d}"},
                    source=f"127.0.10.{n + 2}")[0]

    with ThreadPoolExecutor(20) as pool:
        assert list(pool.map(one, range(200))) == [202] * 200


def test_with_the_routers_api_down_it_still_sells_to_the_page_that_pays(site, routeros):
    routeros.stop()  # the last test of the module: the router's API stays down
    view = pay(site, ("AA:BB:CC:00:01:77", "127.0.9.77"), mac="AA:BB:CC:00:01:77")
    assert view["password"]  # the page that started the payment holds its id
    status, answer = as_(ATTACKER, site, "GET", "/api/portal/status?fresh=1")  # ask the routers now, not memory
    assert answer == {"online": False, "known": False, "verified": False}  # its own account: not shown unconfirmed
    status, answer = as_(ATTACKER, site, "POST", "/api/portal/trial", {"mac": ATTACKER[0]})
    assert status == 403 and "could not confirm this device" in answer["error"]
