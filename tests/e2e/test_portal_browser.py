"""The captive portal in a real browser: headless Chromium on a 360 px phone, in English and
in Swahili, against real portal, worker and RADIUS processes. A stand-in for the MikroTik's
login pages (`hotspot.py`) takes the login the page posts and asks hotspotd's RADIUS role,
as the router would: a device is "online" when RADIUS accepted it. Each phone is a device of
its own on the network: its browser reaches the box from its own address (127.0.x.y,
through `phones.SourceProxy`), and the router's API (the RouterOS simulator) knows which
MAC is at that address, as a MikroTik's hotspot host table does.

Needs Debian's `chromium` and `chromium-driver` (scripts/test installs them) and `selenium`.
Nothing is downloaded at run time; the browser talks only to 127.0.0.1. Screenshots go to
$HOTSPOTD_ARTIFACTS (default tests/artifacts/portal).
"""

from __future__ import annotations

import itertools
import os
import socket
import urllib.parse
from pathlib import Path

import pytest

from hotspotd import config as config_mod
from hotspotd.billing.subscriptions import credential_for
from hotspotd.store.db import db, open_database, utcnow
from hotspotd.store.models import Event, Payment
from hotspotd.web.language import catalogue

from hotspotd.sim.routeros import RouterOSSimulator

from .browser import WAIT, chromium
from .hotspot import Hotspot
from .phones import SourceProxy
from .site import Site, free_port, http, wait_for

try:
    from selenium.webdriver.common.by import By
except ImportError:  # reported by `chromium` as a failure, not a skip
    pass

pytestmark = pytest.mark.e2e

SECRET = "browser-test-secret"
PAYBILL = "174379"  # the simulator's short code
ARTIFACTS = Path(os.environ.get("HOTSPOTD_ARTIFACTS") or Path(__file__).resolve().parents[1] / "artifacts" / "portal")
_numbers = itertools.count(100)


def new_device() -> tuple[str, str, str]:
    """(MAC, address, phone number) no other test uses: the address is the device's own on
    the loopback network, where its browser's requests come from."""
    n = next(_numbers)
    return f"AA:BB:CC:DD:{n // 256:02X}:{n % 256:02X}", f"127.0.{n // 250 + 5}.{n % 250 + 2}", f"0712 345 {n:03d}"


@pytest.fixture(scope="module")
def shop(tmp_path_factory, daraja):
    """Portal, worker and RADIUS roles; two packages, a router, Paybill registered, a 15-minute trial."""
    udp = socket.SOCK_DGRAM
    auth_port, acct_port = free_port(udp), free_port(udp)
    folder = tmp_path_factory.mktemp("browser")
    certificate = daraja.initiator.write_certificate(folder / "daraja.cer")  # Transaction Status for "already paid?"
    site = Site(folder, daraja.url,
                site={"name": "Mama Wanjiku Cafe", "help_phone": "0712 000 111",
                      "notice": "Open 7am to 10pm. Vouchers at the counter."},
                portal={"trial_minutes": "15"}, radius={"listen": "127.0.0.1", "auth_port": str(auth_port),
                                                        "acct_port": str(acct_port)},
                mpesa={"paybill": PAYBILL, "query_after": "600", "pending_timeout": "600",
                       "initiator": daraja.initiator.initiator, "initiator_password": daraja.initiator.password,
                       "certificate": str(certificate)})
    site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h", "--rate", "2M/5M")
    site.cli("package", "add", "--name", "Day", "--price", "50", "--duration", "1d", "--rate", "3M/6M",
             "--data", "3GB", "--devices", "2")
    routeros = RouterOSSimulator(password="api-pass").start()  # the router's API: its hotspot host table
    site.cli("router", "add", "--name", "gate", "--host", "127.0.0.1", "--secret", SECRET,
             "--api-port", str(routeros.port), "--api-user", "admin", "--api-password", "api-pass")
    for role in ("portal", "worker", "radius"):
        site.start(role)
    wait_for(lambda: "radius serving" in site.log("radius"), 60, "the radius role")
    assert "Daraja took the URLs" in site.cli("mpesa", "register-c2b").stdout
    open_database(config_mod.load(site.config_path).app_db_path)  # the test reads what the roles write
    site.hotspot = Hotspot(auth_port, acct_port, SECRET)
    site.routeros = routeros
    yield site
    site.hotspot.close()
    routeros.stop()
    site.stop()
    db.close()


@pytest.fixture(params=["en", "sw"])
def lang(request):
    return request.param


class Phone:
    """A browser on a phone, with the checks and screenshots every step needs."""

    def __init__(self, driver, shop: Site, lang: str, test: str, proxy: SourceProxy) -> None:
        self.driver, self.shop, self.lang, self.test, self.proxy = driver, shop, lang, test, proxy
        self.t = catalogue(lang)

    def be(self, mac: str, ip: str) -> None:
        """This phone is the device (mac, ip): it joined the WiFi (the router's host table has
        it) and its requests come from its address."""
        if not any(h.get("mac-address") == mac for h in self.shop.routeros.router.table("/ip/hotspot/host")):
            self.shop.routeros.router.connect_device(mac, ip)
        self.proxy.source = ip

    def open(self, mac: str, ip: str, **extra: str) -> dict:
        self.be(mac, ip)
        values = {**self.shop.hotspot.variables(mac, ip), **extra}
        self.driver.get(f"{self.shop.portal}/?{urllib.parse.urlencode(values)}")
        wait_for(lambda: self.driver.execute_script("return document.readyState") == "complete", WAIT, "the page")
        return values

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        return self.find(css).text

    def wait_text(self, css: str, expected: str) -> str:
        return wait_for(lambda: expected in self.text(css) and self.text(css), WAIT, f"{expected!r} in {css}")

    def fill(self, css: str, value: str) -> None:
        self.find(css).clear()
        self.find(css).send_keys(value)

    def open_section(self, section: str) -> None:
        self.find(f"#{section} summary").click()

    def shot(self, name: str) -> None:
        """A full-page screenshot, after checking nothing scrolls sideways."""
        width = self.driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"{name}: the page scrolls sideways ({width})"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        png = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "format": "png"})
        import base64
        (ARTIFACTS / f"{self.lang}-{self.test}-{name}.png").write_bytes(base64.b64decode(png["data"]))

    def pay(self, package: int, number: str) -> None:
        self.find(f"input[name=package_id][value='{package}']").click()
        self.fill("#phone", number)
        self.find("#pay-button").click()

    def online(self, mac: str) -> dict:
        """Wait for "You are online" and the router's Access-Accept; returns the accepted login."""
        self.wait_text("#progress", self.t("js.online_title"))
        device = self.shop.hotspot.device(mac)
        wait_for(lambda: device.logins and device.logins[-1]["accepted"], WAIT, f"RADIUS to accept {mac}")
        login = device.logins[-1]
        assert self.text("#shown-username") == login["username"]
        assert len(login["password"]) == 32 and login["password"] != self.text("#shown-password")  # CHAP, not PAP
        return login


def make_driver(tmp_path: Path, lang: str, proxy: SourceProxy, *, phone: bool = True):
    """A 360 px phone (or a 1280 px laptop) whose browser asks for `lang` first and reaches
    the network through `proxy` (from the device's own address)."""
    width, height = (360, 740) if phone else (1280, 900)
    return chromium(tmp_path, width=width, height=height, mobile=phone, lang=lang, proxy=proxy.url,
                    accept_languages="sw-KE,sw" if lang == "sw" else "en-KE,en")


@pytest.fixture
def proxy():
    proxy = SourceProxy()
    yield proxy
    proxy.close()


@pytest.fixture
def phone(tmp_path, shop, lang, request, proxy):
    driver = make_driver(tmp_path, lang, proxy)
    try:
        yield Phone(driver, shop, lang, request.node.originalname.removeprefix("test_"), proxy)
    finally:
        driver.quit()


# -- buying ------------------------------------------------------------------------------


def test_pay_and_get_online(phone, shop, lang):
    mac, ip, number = new_device()
    phone.open(mac, ip)
    assert phone.find("html").get_attribute("lang") == lang  # from the browser's language
    assert phone.t("page.pay_button") == phone.text("#pay-button")
    assert ("Saa 1 · hadi Mbps 5" if lang == "sw" else "1 hour · up to 5 Mbps") in phone.text("#buy")
    phone.shot("1-landing")
    phone.pay(1, number)
    phone.wait_text("#progress", phone.t("js.check_phone"))
    button = phone.find("#pay-button")
    assert not button.is_enabled() and button.text == phone.t("js.waiting_button")
    phone.shot("2-waiting")
    login = phone.online(mac)
    phone.shot("3-online")
    payment = Payment.get(Payment.mac == mac)
    assert (login["username"], phone.text("#shown-password")) == credential_for(payment.customer_id, utcnow())
    card = phone.text("#progress")
    # An hour from now is today, or tomorrow after 23:00 in Nairobi.
    until = ("hadi leo saa", "hadi kesho saa") if lang == "sw" else ("until",)
    assert any(word in card for word in until) and "Hour" in card


def test_a_family_pays_from_one_mpesa_number_and_both_phones_get_online(phone, shop):
    """A second phone buys a one-device package with the M-Pesa number the first phone used:
    it gets an account of its own, and the router lets both on (once, the purchase was
    merged into the first phone's account and the second was refused while the first was on)."""
    first_mac, first_ip, number = new_device()
    second_mac, second_ip, _ = new_device()
    phone.open(first_mac, first_ip)
    phone.pay(1, number)
    first = phone.online(first_mac)
    phone.open(second_mac, second_ip)  # the second phone, the same M-Pesa number
    phone.pay(1, number)
    second = phone.online(second_mac)
    phone.shot("second-online")
    assert first["username"] != second["username"]
    assert shop.hotspot.device(first_mac).online_as == first["username"]  # still on


def test_cancel_and_retry(phone, shop, daraja):
    mac, ip, number = new_device()
    daraja.set_outcome("cancelled", phone="254" + number.replace(" ", "")[1:], times=1)
    phone.open(mac, ip)
    phone.pay(1, number)
    phone.wait_text("#progress", phone.t("js.ended.cancelled"))
    assert phone.find("#pay-button").is_enabled() or phone.find("#try-again").is_displayed()
    phone.shot("1-cancelled")
    phone.find("#try-again").click()
    phone.find("#pay-button").click()  # the package and number are still there
    phone.online(mac)
    assert [p.status for p in Payment.select().where(Payment.mac == mac).order_by(Payment.id)] == ["cancelled", "paid"]


def test_voucher(phone, shop):
    mac, ip, _ = new_device()
    code = shop.cli("voucher", "make", "--package", "1", "--count", "1").stdout.split()[0]
    phone.open(mac, ip)
    phone.open_section("voucher")
    phone.fill("#code", code.lower())
    phone.shot("1-code")
    phone.find("#voucher-form button").click()
    phone.online(mac)
    phone.shot("2-online")


def test_paybill_with_the_simulators_confirmation(phone, shop, daraja):
    mac, ip, number = new_device()
    phone.open(mac, ip)
    phone.find("input[name=package_id][value='1']").click()
    phone.find("#paybill-button").click()
    account = phone.wait_text("#paybill-account", "")
    assert phone.text("#paybill-number") == PAYBILL and len(account) == 7
    phone.shot("1-paybill")
    paid = daraja.c2b.pay(amount=10, phone="254" + number.replace(" ", "")[1:], account=account)
    phone.online(mac)
    phone.shot("2-online")
    assert Payment.get(Payment.account == account).receipt == paid["trans_id"]


@pytest.mark.parametrize("lang, choice", [("en", "paybill"), ("sw", "send_again")])
def test_no_prompt_then_paybill_or_again(tmp_path, shop, daraja, lang, choice, proxy):
    """After 30 s without a prompt, "didn't get the prompt?" offers Paybill or another prompt
    (one of each per language: each waits 30 s)."""
    driver = make_driver(tmp_path, lang, proxy)
    try:
        phone = Phone(driver, shop, lang, f"no_prompt_{choice}", proxy)
        mac, ip, number = new_device()
        msisdn = "254" + number.replace(" ", "")[1:]
        daraja.set_outcome("no_callback", phone=msisdn)
        phone.open(mac, ip)
        phone.pay(1, number)
        wait_for(lambda: phone.find("#no-prompt").is_displayed(), WAIT, "didn't get the prompt?")
        assert phone.t("js.no_prompt") in phone.text("#no-prompt")
        phone.shot("1-no-prompt")
        if choice == "paybill":
            phone.find("#to-paybill").click()
            account = phone.wait_text("#paybill-account", "")
            daraja.c2b.pay(amount=10, phone="254712000999", account=account)
        else:
            pushes = len(daraja.pushes)
            daraja.set_outcome("success", phone=msisdn, times=1)  # this time the prompt arrives
            phone.find("#send-again").click()
            wait_for(lambda: len(daraja.pushes) == pushes + 1, WAIT, "a second prompt")
        phone.online(mac)
    finally:
        driver.quit()


# -- coming back -------------------------------------------------------------------------


def test_returning_login_status_and_log_out(phone, shop):
    owner_mac, _, _ = new_device()
    code = shop.cli("voucher", "make", "--package", "2", "--count", "1").stdout.split()[0]  # 2 devices
    status, bought = http("POST", f"{shop.portal}/api/portal/voucher", {"code": code, "mac": owner_mac})
    assert status == 200
    mac, ip, _ = new_device()
    phone.open(mac, ip)
    phone.open_section("login")
    phone.fill("#username", bought["username"])
    phone.fill("#password", bought["password"])
    phone.shot("1-login")
    phone.find("#login-form button").click()
    phone.online(mac)
    phone.open(mac, ip)  # back to the portal while online: the status page
    card = phone.wait_text("#account", phone.t("js.online_title"))
    assert phone.t("js.devices_of", n=1, m=2) in card and phone.t("js.time_left") in card
    assert ("GB 3" if phone.lang == "sw" else "3 GB") in card
    phone.shot("2-status")
    phone.find("#log-out").click()
    phone.wait_text("#status", phone.t("js.logged_out"))
    wait_for(lambda: shop.hotspot.device(mac).online_as is None, WAIT, "the router to log the device out")
    phone.open(mac, ip)  # the device's own package, offline: one tap to go online again
    card = phone.wait_text("#account", phone.t("js.your_package"))
    assert phone.t("js.online_title") not in card and phone.find("#go-online").is_displayed()


def test_already_paid_with_a_lost_callback(phone, shop, daraja):
    mac, ip, number = new_device()
    daraja.set_outcome("no_callback", phone="254" + number.replace(" ", "")[1:])
    phone.open(mac, ip)
    phone.pay(1, number)
    phone.wait_text("#progress", phone.t("js.check_phone"))
    wait_for(lambda: daraja.pushes and daraja.pushes[-1]["phone"].endswith(number[-3:]), WAIT, "the push")
    phone.open_section("restore")
    phone.fill("#receipt", "qwe3abc12x")
    phone.fill("#restore-phone", number)
    phone.shot("1-code")
    phone.find("#restore-form button").click()
    phone.online(mac)
    phone.shot("2-online")
    restored = Event.select().where(Event.type == "payment.restored").order_by(Event.id.desc()).first()
    assert restored.data["via"] == "query" and restored.data["mac"] == mac


def test_already_paid_with_a_receipt_hotspotd_never_heard_of(phone, shop, daraja):
    """The code matches no payment hotspotd knows (its Paybill confirmation was lost, say):
    the page says it is checking with M-Pesa, and once M-Pesa's Transaction Status proves
    the payment, the device is online."""
    mac, ip, number = new_device()
    receipt = f"QAB{mac[-2:]}CD2EF"[:10]
    daraja.ledger.add(receipt, kind="c2b", amount=10, phone="254" + number.replace(" ", "")[1:], short_code=PAYBILL,
                      account="mistyped")
    phone.open(mac, ip)
    phone.open_section("restore")
    phone.fill("#receipt", receipt.lower())
    phone.fill("#restore-phone", number)
    phone.find("#restore-form button").click()
    phone.wait_text("#status", phone.t("js.checking_mpesa"))
    phone.shot("1-checking")
    phone.online(mac)
    assert Payment.get(Payment.receipt == receipt).method == "status"


def test_already_paid_with_a_wrong_code(phone, shop):
    mac, ip, number = new_device()
    phone.open(mac, ip)
    phone.open_section("restore")
    phone.fill("#receipt", "ZZZ9ZZZ99Z")
    phone.fill("#restore-phone", number)
    phone.find("#restore-form button").click()
    phone.wait_text("#restore-form .form-error", phone.t("err.restore_none"))  # next to the form
    assert "error" in phone.find("#restore-form .form-error").get_attribute("class")
    phone.shot("1-wrong")


def test_the_trial(phone, shop):
    mac, ip, _ = new_device()
    phone.open(mac, ip)
    assert phone.t("page.trial_button", minutes=15) == phone.text("#trial button")
    phone.find("#trial button").click()
    phone.online(mac)
    phone.shot("1-online")
    assert phone.t("js.online_title") in phone.text("#progress")


# -- the page itself ---------------------------------------------------------------------


def test_the_language_switch_sticks(tmp_path, shop, proxy):
    driver = make_driver(tmp_path, "en", proxy)
    try:
        phone = Phone(driver, shop, "en", "switch", proxy)
        mac, ip, _ = new_device()
        phone.open(mac, ip)
        assert phone.find("html").get_attribute("lang") == "en"
        driver.find_element(By.LINK_TEXT, "Kiswahili").click()
        wait_for(lambda: phone.find("html").get_attribute("lang") == "sw", WAIT, "the Swahili page")
        assert "mac=" in driver.current_url  # the router's variables were kept
        phone.open(mac, ip)  # no ?lang= any more: the choice sticks
        assert phone.find("html").get_attribute("lang") == "sw" and "Lipa na M-Pesa" in phone.text("#pay-button")
    finally:
        driver.quit()


def test_at_laptop_width(tmp_path, shop, lang, proxy):
    driver = make_driver(tmp_path, lang, proxy, phone=False)
    try:
        phone = Phone(driver, shop, lang, "laptop", proxy)
        mac, ip, _ = new_device()
        phone.open(mac, ip)
        phone.find("input[name=package_id][value='2']").click()
        phone.shot("landing")
    finally:
        driver.quit()


def test_login_variables_cannot_break_out_of_the_page_script(phone, shop):
    mac = "</script><script>window.injected = true</script>"
    phone.driver.get(f"{shop.portal}/?{urllib.parse.urlencode({'mac': mac, 'ip': '10.5.50.15'})}")
    assert phone.driver.execute_script("return window.injected") is None
    assert phone.driver.execute_script("return window.HOTSPOT.mac") == mac


def test_a_second_tap_on_pay_sends_no_second_prompt(phone, shop, daraja):
    mac, ip, number = new_device()
    pushes_before = len(daraja.pushes)
    phone.open(mac, ip)
    phone.pay(1, number)
    phone.driver.execute_script("arguments[0].click()", phone.find("#pay-button"))  # a second tap at once
    phone.online(mac)
    assert len(daraja.pushes) == pushes_before + 1
    assert Payment.select().where(Payment.mac == mac).count() == 1


def test_with_a_foreign_router_link_the_page_says_ready_not_online(phone, shop):
    mac, ip, number = new_device()
    phone.be(mac, ip)
    phone.driver.get(f"{shop.portal}/?{urllib.parse.urlencode({'mac': mac, 'ip': ip, 'link-login-only': 'javascript:window.injected=1'})}")
    # not the page's link: the router's own login page, as its probe read it
    assert phone.find("#router-login").get_dom_attribute("action") == "http://10.5.50.1/login"
    phone.pay(1, number)
    phone.wait_text("#progress", phone.t("js.ready_title"))  # never "online" before the router let it on
    assert phone.t("js.online_title") not in phone.text("#progress")
    payment = Payment.get(Payment.mac == mac)
    username, password = credential_for(payment.customer_id, utcnow())
    assert (phone.text("#shown-username"), phone.text("#shown-password")) == (username, password)
    assert phone.driver.execute_script("return window.injected") is None


def test_a_voucher_qr_code_opens_the_portal_with_the_code_filled_in(phone, shop):
    phone.driver.get(f"{shop.portal}/?voucher=ABCDE-23456")
    wait_for(lambda: phone.driver.execute_script("return document.readyState") == "complete", WAIT, "the portal page")
    assert phone.find("#code").get_attribute("value") == "ABCDE-23456" and phone.find("#code").is_displayed()
    phone.driver.get(f"{shop.portal}/?voucher=%22%3E%3Cscript%3Ewindow.injected=1%3C/script%3E")
    assert phone.find("#code").get_attribute("value") == "scriptwindowinjected1script"
    assert phone.driver.execute_script("return window.injected") is None


def test_the_pages_md5_is_md5(phone, shop):
    """CHAP's response is computed by the page: its MD5 against Python's, on bytes of every value."""
    import hashlib
    phone.driver.get(shop.portal + "/")
    for raw in (b"", b"abc", bytes(range(256)), b"x" * 55, b"y" * 56, b"z" * 64, os.urandom(300)):
        text = raw.decode("latin-1")
        assert phone.driver.execute_script("return window.hotspotMd5(arguments[0])", text) == hashlib.md5(raw).hexdigest()
