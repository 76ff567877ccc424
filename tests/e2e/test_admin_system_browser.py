"""The console's System page and the kick, in headless Chromium against real portal, worker,
admin and RADIUS processes: what needs the operator comes first on a phone, in words, naming
the customer, device, router or payment, with the buttons `queue retry` would be; a kick
asks first, and when the router never answers the page says so and offers to try again.

Screenshots go to $HOTSPOTD_ARTIFACTS/console (default tests/artifacts/console/).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
from pathlib import Path

import pytest

from hotspotd import config as config_mod
from hotspotd.radius import packet as rp
from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.store.db import db, open_database, utcnow, write_transaction
from hotspotd.store.models import FailedTask, Payment, Router, Session

from .browser import WAIT, chromium, full_page
from .site import ROOT, Site, free_port, http, wait_for

try:
    from selenium.webdriver.common.by import By
except ImportError:  # reported by `chromium` as a failure, not a skip
    pass

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
SECRET = "system-test-secret"
ARTIFACTS = Path(os.environ.get("HOTSPOTD_ARTIFACTS") or ROOT / "tests" / "artifacts") / "console"
LOGIN_REFUSED = "RouterCommandRefused: /ip/hotspot/active/login: invalid user name or password"


class Nas:
    """The router's /radius incoming on loopback: silent (a router that never answers) until
    told to answer, then it ACKs every Disconnect-Request signed with the secret."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answering = False
        self.heard = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                data, address = self.sock.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            packet = rp.decode(data)
            if packet.code != rp.DISCONNECT_REQUEST or not rp.request_authenticator_ok(packet, SECRET.encode()):
                continue
            self.heard += 1
            if self.answering:
                self.sock.sendto(rp.encode_reply(rp.DISCONNECT_ACK, packet.ident, packet.authenticator,
                                                 SECRET.encode()), address)

    def close(self) -> None:
        self.running = False
        self.thread.join(5)
        self.sock.close()


def accounting_start(acct_port: int, username: str, mac: str, ip: str, session_id: str) -> None:
    """What the router sends when a device logs in (Accounting-Request, Start)."""
    attrs = (rp.attr(rp.USER_NAME, username.encode()) + rp.integer(rp.ACCT_STATUS_TYPE, 1)
             + rp.attr(rp.ACCT_SESSION_ID, session_id.encode()) + rp.attr(rp.CALLING_STATION_ID, mac.encode())
             + rp.attr(rp.FRAMED_IP_ADDRESS, ipaddress.ip_address(ip).packed))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(10)
        sock.sendto(rp.encode_request(rp.ACCOUNTING_REQUEST, 7, SECRET.encode(), attrs), ("127.0.0.1", acct_port))
        assert rp.decode(sock.recv(4096)).code == rp.ACCOUNTING_RESPONSE


@pytest.fixture(scope="module")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    udp = socket.SOCK_DGRAM
    auth_port, acct_port = free_port(udp), free_port(udp)
    nas = Nas()
    with DarajaSimulator(callback_delay=0.3) as sim:
        site = Site(tmp_path_factory.mktemp("system"), sim.url, site={"name": "Mama Wanjiku Cafe"},
                    radius={"listen": "127.0.0.1", "auth_port": str(auth_port), "acct_port": str(acct_port)},
                    alerts={"check_interval": "1"})
        site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h", "--rate", "2M/5M")
        site.cli("admin", "add", "boss", stdin=PASSWORD + "\n")
        site.cli("router", "add", "--name", "gate", "--host", "127.0.0.1", "--coa-port", str(nas.port),
                 stdin=SECRET + "\n")
        for role in ("portal", "worker", "admin", "radius"):
            site.start(role)
        wait_for(lambda: "radius serving" in site.log("radius"), 60, "the radius role")
        site.admin = f"http://127.0.0.1:{site.admin_port}"
        site.acct_port, site.nas = acct_port, nas
        open_database(config_mod.load(site.config_path).app_db_path)  # the test reads what the roles write
        yield site
        site.stop()
        db.close()
    nas.close()


@pytest.fixture
def laptop(tmp_path):
    driver = chromium(tmp_path, width=1280, height=800, mobile=False)
    yield driver
    driver.quit()


@pytest.fixture
def phone(tmp_path):
    driver = chromium(tmp_path, width=360, height=740, mobile=True)
    yield driver
    driver.quit()


def loaded(driver) -> bool:
    return driver.execute_script("return document.readyState") == "complete"


def log_in(driver, shop, path: str) -> None:
    driver.get(shop.admin + path)
    wait_for(lambda: "/login" in driver.current_url and loaded(driver), WAIT, "the login page")
    driver.find_element(By.ID, "username").send_keys("boss")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait_for(lambda: driver.current_url.rstrip("/").endswith(path.rstrip("/")) and loaded(driver), WAIT, path)
    wait_for(lambda: driver.find_element(By.ID, "live").text == "live", WAIT, "the live feed to connect")


def pay(shop, mac: str, phone_number: str) -> Payment:
    status, body = http("POST", shop.portal + "/api/portal/pay", {"package_id": 1, "phone": phone_number, "mac": mac,
                                                                   "ip": "10.5.50.9"})
    assert status == 202, body
    return wait_for(lambda: Payment.get_or_none((Payment.mac == mac) & (Payment.status == "paid")), WAIT,
                    f"the payment from {mac} to be applied")


def top(driver, css: str) -> float:
    return driver.execute_script("return document.querySelector(arguments[0]).getBoundingClientRect().top", css)


def test_the_system_page_puts_what_needs_the_operator_first_in_words(shop, phone, laptop, artifacts):
    paid = pay(shop, "AA:BB:CC:DD:E2:01", "0712 345 801")
    with write_transaction():  # two tasks that used up their retries
        FailedTask.create(task="auto_login", args=[[paid.id]], error=LOGIN_REFUSED, attempts=5, failed_at=utcnow())
        FailedTask.create(task="provision_subscriptions", args=[[paid.subscription_id]],
                          error="RouterUnreachable: gate (127.0.0.1:8728) unreachable: connection refused",
                          attempts=5, failed_at=utcnow())
    db.close()

    log_in(phone, shop, "/system")
    cards = lambda: phone.find_elements(By.CSS_SELECTOR, "#needs-you .failed-task")  # noqa: E731
    wait_for(lambda: len(cards()) == 2 and phone.find_elements(By.CSS_SELECTOR, "#needs-you .alert"), WAIT,
             "the failed tasks and their alert at the top")
    # what needs the operator comes before the 17 kinds of task, on the first screen of a phone
    assert top(phone, "#needs-you") < top(phone, "#queue") and top(phone, "#needs-you .alert") < 740
    login_card = next(c for c in cards() if "Logging a device in" in c.text)
    words = login_card.text
    assert ("The router would not log the device in: the router does not know this customer's username or "
            "password (yet).") in words
    assert "AA:BB:CC:DD:E2:01" in words and "2547*****801" in words and "KES 10" in words  # whom it concerns
    assert "RouterCommandRefused" not in words  # the raw text waits behind "Details"
    raw = login_card.find_element(By.CSS_SELECTOR, "pre.raw")
    assert not raw.is_displayed()
    login_card.find_element(By.CSS_SELECTOR, "details summary").click()
    wait_for(raw.is_displayed, WAIT, "the details")
    assert LOGIN_REFUSED in raw.text
    alert = phone.find_element(By.CSS_SELECTOR, "#needs-you .alert").text
    assert "Background work gave up after all its retries: 2 tasks wait for you below." in alert
    assert "not sent: no alert channel is set up" in alert
    assert "queue failed" not in alert and "skipped" not in alert
    full_page(phone, artifacts / "system-needs-you-360.png")
    log_in(laptop, shop, "/system")
    wait_for(lambda: len(laptop.find_elements(By.CSS_SELECTOR, "#needs-you .failed-task")) == 2, WAIT, "the page")
    full_page(laptop, artifacts / "system-needs-you-1280.png")

    phone.find_element(By.XPATH, "//section[@id='needs-you']//button[normalize-space(.)='Retry all failed tasks']").click()
    wait_for(lambda: phone.find_elements(By.ID, "all-well"), WAIT, "nothing left to do once they are retried")
    assert FailedTask.select().where(FailedTask.retried_at.is_null()).count() == 0
    full_page(phone, artifacts / "system-all-well-360.png")


def test_a_kick_asks_first_and_says_when_the_router_does_not_answer(shop, laptop, artifacts):
    paid = pay(shop, "AA:BB:CC:DD:E2:02", "0712 345 802")
    username = (db.execute_sql('SELECT "username" FROM "credential" WHERE "customer_id" = ?', (paid.customer_id,))
                .fetchone()[0])
    accounting_start(shop.acct_port, username, "AA:BB:CC:DD:E2:02", "10.5.50.32", "81000001")
    session = wait_for(lambda: Session.get_or_none((Session.username == username) & (Session.status == "open")),
                       WAIT, "the session")
    log_in(laptop, shop, "/online")
    row = f"#online-list tr[data-id='{session.id}']"
    wait_for(lambda: laptop.find_elements(By.CSS_SELECTOR, row), WAIT, "the session online")

    def kick(accept: bool) -> None:
        laptop.find_element(By.CSS_SELECTOR, f"{row} button.danger").click()
        dialog = wait_for(lambda: laptop.switch_to.alert, WAIT, "the confirmation")
        assert f"Disconnect {username} on AA:BB:CC:DD:E2:02 now?" in dialog.text
        dialog.accept() if accept else dialog.dismiss()

    kick(accept=False)  # changed their mind: nothing is asked of the router
    assert Session.get_by_id(session.id).disconnect_requested_at is None
    kick(accept=True)
    cell = lambda: laptop.find_element(By.CSS_SELECTOR, f"{row} td:last-child").text  # noqa: E731
    wait_for(lambda: "disconnecting…" in cell(), WAIT, "the page to say it is disconnecting")
    wait_for(lambda: "The router did not answer" in cell(), WAIT, "the page to say the router did not answer")
    assert shop.nas.heard >= 1  # it was asked, and stayed silent
    assert laptop.find_element(By.CSS_SELECTOR, f"{row} button").text == "Try again"
    full_page(laptop, artifacts / "online-router-did-not-answer-1280.png")

    shop.nas.answering = True  # the router is back
    laptop.find_element(By.CSS_SELECTOR, f"{row} button").click()
    wait_for(lambda: not laptop.find_elements(By.CSS_SELECTOR, row), WAIT, "the session gone once the router answers")
    assert Session.get_by_id(session.id).status == "closed"
    assert Router.get(Router.name == "gate").coa_port == shop.nas.port
    full_page(laptop, artifacts / "online-after-kick-1280.png")
