"""The captive portal in a real browser: headless Chromium against real portal and worker processes.

Needs Debian's `chromium` and `chromium-driver` (scripts/test installs them) and `selenium`
(the `test` extra). Nothing is downloaded at run time, and the browser talks only to 127.0.0.1.
"""

from __future__ import annotations

import shutil
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hotspotd.billing import subscriptions
from hotspotd.store.db import utcnow
from hotspotd.store.models import Payment, Voucher

from .site import http, wait_for

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:  # reported by the `browser` fixture as a failure, not a skip
    webdriver = None

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 60  # seconds; the machine is small and shared
PRICE = 10  # the "Hour" package of conftest.py


@pytest.fixture(scope="module")
def sim(daraja):
    return daraja  # the module's Daraja simulator (conftest.py)


@pytest.fixture(scope="module")
def shop(site):
    return site  # portal and worker with the "Hour" package (conftest.py)


class _LoginRecorder(BaseHTTPRequestHandler):
    """Stands in for the MikroTik's link-login-only: records each POSTed form."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        fields = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        with self.server.lock:
            self.server.posts.append({"path": self.path, "fields": fields})
        self._page("Logged in")

    def do_GET(self) -> None:
        self._page("Login page")

    def _page(self, text: str) -> None:
        body = f"<!doctype html><title>{text}</title><p id='done'>{text}</p>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def router():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LoginRecorder)
    server.lock, server.posts = threading.Lock(), []
    server.url = f"http://127.0.0.1:{server.server_address[1]}/login"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def browser(tmp_path):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if webdriver is None or missing:
        pytest.fail("the portal browser test needs selenium (pip install -e '.[test]') and Debian's chromium "
                    f"and chromium-driver (apt-get install chromium chromium-driver; scripts/test does this); "
                    f"missing: {', '.join(missing) or 'selenium'}")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--no-default-browser-check", "--disable-quic", "--no-proxy-server",
                "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    # a phone-sized viewport (a desktop window cannot be narrower than 500 px)
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": 400, "height": 800,
                                                                          "pixelRatio": 1.0, "touch": True}})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log")),
                              options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def open_portal(driver, shop, mac: str, ip: str, login_url: str | None = None) -> None:
    query = {"mac": mac, "ip": ip}
    if login_url:
        query.update({"link-login-only": login_url, "link-orig": "http://example.invalid/"})
    driver.get(f"{shop.portal}/?{urllib.parse.urlencode(query)}")
    wait_for(lambda: driver.execute_script("return document.readyState") == "complete", WAIT, "the portal page")


def status_text(driver) -> str:
    return driver.find_element(By.ID, "status").text


def pay(driver, phone: str) -> None:
    driver.find_element(By.CSS_SELECTOR, "input[name=package_id][value='1']").click()
    driver.find_element(By.ID, "phone").send_keys(phone)
    driver.find_element(By.XPATH, "//button[normalize-space()='Pay with M-Pesa']").click()


def credentials_of_payment(shop, mac: str) -> dict:
    payment = wait_for(lambda: Payment.get_or_none(Payment.mac == mac), WAIT, f"a payment from {mac}")
    status, body = http("GET", f"{shop.portal}/api/portal/payments/{payment.ref}?mac={mac}")
    assert status == 200 and body["status"] == "paid", body
    return body


def test_paying_logs_the_device_in_with_its_credentials(shop, browser, router, tmp_path):
    mac = "AA:BB:CC:DD:EE:10"
    open_portal(browser, shop, mac, "10.5.50.10", router.url)
    browser.save_screenshot(str(tmp_path / "portal-landing.png"))

    package = browser.find_element(By.CSS_SELECTOR, "label.package")
    assert "Hour" in package.find_element(By.CLASS_NAME, "name").text
    assert package.find_element(By.CLASS_NAME, "price").text == f"KES {PRICE}"

    pay(browser, "0712 345 610")
    wait_for(lambda: router.posts, WAIT, "the login form to be POSTed to link-login-only")
    wait_for(lambda: browser.current_url.startswith(router.url), WAIT, "the browser to follow the login form")

    [post] = router.posts
    expected = credentials_of_payment(shop, mac)
    assert post["path"] == "/login"
    assert post["fields"]["username"] == expected["username"]
    assert post["fields"]["password"] == expected["password"]
    assert post["fields"]["dst"] == "http://example.invalid/"


def test_cancelled_payment_says_so_and_does_not_log_in(shop, sim, browser, router):
    mac = "AA:BB:CC:DD:EE:11"
    sim.set_outcome("cancelled", phone="254712345611")
    open_portal(browser, shop, mac, "10.5.50.11", router.url)
    pay(browser, "0712 345 611")

    wait_for(lambda: "cancelled" in status_text(browser).lower(), WAIT, "the status line to say cancelled")
    assert "error" in browser.find_element(By.ID, "status").get_attribute("class")
    assert Payment.get(Payment.mac == mac).status == "cancelled"
    assert browser.current_url.startswith(shop.portal)
    assert router.posts == []  # the JS stops polling on a final status, so no login can follow


def test_voucher_logs_in_once_and_is_refused_to_another_device(shop, browser, router):
    code = shop.cli("voucher", "make", "--package", "1", "--count", "1").stdout.split()[0]
    open_portal(browser, shop, "AA:BB:CC:DD:EE:12", "10.5.50.12", router.url)
    browser.find_element(By.ID, "code").send_keys(code)
    browser.find_element(By.XPATH, "//button[normalize-space()='Use voucher']").click()
    wait_for(lambda: router.posts, WAIT, "the voucher login form to be POSTed to link-login-only")

    [post] = router.posts
    voucher = Voucher.get(Voucher.code == code)
    assert voucher.mac == "AA:BB:CC:DD:EE:12"
    username, password = subscriptions.credential_for(voucher.customer_id, utcnow())
    assert (post["fields"]["username"], post["fields"]["password"]) == (username, password)

    open_portal(browser, shop, "AA:BB:CC:DD:EE:13", "10.5.50.13", router.url)
    browser.find_element(By.ID, "code").send_keys(code)
    browser.find_element(By.XPATH, "//button[normalize-space()='Use voucher']").click()
    wait_for(lambda: "already been used" in status_text(browser), WAIT, "the status line to say already used")
    assert len(router.posts) == 1


def test_without_a_login_link_the_page_shows_the_credentials(shop, browser):
    mac = "AA:BB:CC:DD:EE:14"
    open_portal(browser, shop, mac, "10.5.50.14")
    pay(browser, "0712 345 614")

    wait_for(lambda: "You are online" in status_text(browser), WAIT, "the status line to show the credentials")
    expected = credentials_of_payment(shop, mac)
    text = status_text(browser)
    assert f"Username {expected['username']}" in text and f"password {expected['password']}" in text
    assert browser.current_url.startswith(shop.portal)


def test_login_variables_cannot_break_out_of_the_page_script(shop, browser):
    """The MikroTik variables are echoed into an inline <script>; a '</script>' in one must stay text."""
    mac = "</script><script>window.injected = true</script>"
    open_portal(browser, shop, mac, "10.5.50.15")
    assert browser.execute_script("return window.injected") is None
    assert browser.execute_script("return window.HOTSPOT.mac") == mac


def test_a_second_tap_on_pay_sends_no_second_prompt(shop, sim, browser, router):
    mac = "AA:BB:CC:DD:EE:16"
    pushes_before = len(sim.pushes)
    open_portal(browser, shop, mac, "10.5.50.16", router.url)
    pay(browser, "0712 345 616")
    button = browser.find_element(By.XPATH, "//button[normalize-space()='Pay with M-Pesa']")
    browser.execute_script("arguments[0].click()", button)  # a tap on the button while the first is running
    wait_for(lambda: router.posts, WAIT, "the login form to be POSTed")
    assert len(sim.pushes) == pushes_before + 1
    assert Payment.select().where(Payment.mac == mac).count() == 1


def test_a_javascript_login_link_is_not_used(shop, browser):
    mac = "AA:BB:CC:DD:EE:17"
    open_portal(browser, shop, mac, "10.5.50.17", "javascript:window.injected=1")
    assert browser.find_element(By.ID, "login-form").get_dom_attribute("action") == ""
    pay(browser, "0712 345 617")
    wait_for(lambda: "You are online" in status_text(browser), WAIT, "the credentials shown instead")
    assert browser.execute_script("return window.injected") is None


def test_a_voucher_qr_code_opens_the_portal_with_the_code_filled_in(shop, browser):
    browser.get(f"{shop.portal}/?voucher=ABCDE23456")
    wait_for(lambda: browser.execute_script("return document.readyState") == "complete", WAIT, "the portal page")
    assert browser.find_element(By.ID, "code").get_attribute("value") == "ABCDE23456"
