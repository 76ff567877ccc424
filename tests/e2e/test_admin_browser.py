"""The operator's console in a real browser: headless Chromium against real portal, worker and
admin processes and the Daraja simulator.

Screenshots (laptop and 360 px) and the PDF print of a voucher sheet are written to
$HOTSPOTD_ARTIFACTS (default tests/artifacts/, not kept in git) for a person to look at.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotspotd import config as config_mod
from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.store.db import db, open_database
from hotspotd.store.models import Payment

from .browser import WAIT, chromium, full_page
from .site import ROOT, Site, http, wait_for

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.print_page_options import PrintOptions
    from selenium.webdriver.support.ui import Select
except ImportError:  # reported by `chromium` as a failure, not a skip
    pass

pytestmark = pytest.mark.e2e

NAIROBI = ZoneInfo("Africa/Nairobi")
PASSWORD = "correct horse battery"
ARTIFACTS = Path(os.environ.get("HOTSPOTD_ARTIFACTS") or ROOT / "tests" / "artifacts")


@pytest.fixture(scope="module")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    with DarajaSimulator(callback_delay=0.3) as sim:
        site = Site(tmp_path_factory.mktemp("console"), sim.url)
        site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h", "--rate", "2M/5M")
        site.cli("package", "add", "--name", "Day", "--price", "50", "--duration", "1d", "--data", "3GB")
        site.cli("admin", "add", "boss", stdin=PASSWORD + "\n")
        for role in ("portal", "worker", "admin"):
            site.start(role)
        site.admin = f"http://127.0.0.1:{site.admin_port}"
        open_database(config_mod.load(site.config_path).app_db_path)  # the test reads what the roles write
        yield site
        site.stop()
        db.close()


@pytest.fixture
def laptop(tmp_path):
    driver = chromium(tmp_path, width=1366, height=900, mobile=False)
    yield driver
    driver.quit()


@pytest.fixture
def phone(tmp_path):
    driver = chromium(tmp_path, width=360, height=740, mobile=True)
    yield driver
    driver.quit()


def loaded(driver) -> bool:
    return driver.execute_script("return document.readyState") == "complete"


def text(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def log_in(driver, shop, path: str = "/") -> None:
    driver.get(shop.admin + path)
    wait_for(lambda: "/login" in driver.current_url and loaded(driver), WAIT, "the login page")
    driver.find_element(By.ID, "username").send_keys("boss")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait_for(lambda: driver.current_url.rstrip("/").endswith(path.rstrip("/")) and loaded(driver), WAIT,
             f"the console at {path}")
    wait_for(lambda: "live" == text(driver, "live"), WAIT, "the live feed to connect")


def pay(shop, mac: str, phone_number: str) -> Payment:
    status, body = http("POST", shop.portal + "/api/portal/pay", {"package_id": 1, "phone": phone_number, "mac": mac,
                                                                   "ip": "10.5.50.9"})
    assert status == 202, body
    return wait_for(lambda: Payment.get_or_none((Payment.mac == mac) & (Payment.status == "paid")), WAIT,
                    f"the payment from {mac} to be applied")


def no_sideways_scroll(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def nairobi(value: datetime) -> str:
    """How the console writes a time (en-GB, the site's zone): 23 Nov, 12:00."""
    return value.astimezone(NAIROBI).strftime("%d %b, %H:%M")


def test_a_payment_appears_in_the_list_and_the_totals_without_a_reload(shop, laptop, artifacts):
    log_in(laptop, shop, "/payments")
    laptop.execute_script("window.stillTheSamePage = true")
    paid = pay(shop, "AA:BB:CC:DD:EE:21", "0712 345 621")

    def row_text() -> str:
        rows = laptop.find_elements(By.CSS_SELECTOR, f"#payments-list tr[data-id='{paid.id}']")
        return rows[0].text if rows and "paid" in rows[0].text else ""

    row = wait_for(row_text, WAIT, "the payment to appear in the list as paid")
    assert "2547*****621" in row and "254712345621" not in laptop.page_source  # masked
    assert "KES 10" in row
    assert nairobi(paid.created_at) in row  # the site's time, not UTC
    assert laptop.execute_script("return window.stillTheSamePage") is True
    laptop.save_screenshot(str(artifacts / "console-payments-laptop.png"))

    laptop.find_element(By.LINK_TEXT, "Dashboard").click()
    wait_for(lambda: text(laptop, "income-today") == "KES 10", WAIT, "today's revenue on the dashboard")
    wait_for(lambda: laptop.find_elements(By.CSS_SELECTOR, "#chart-revenue svg"), WAIT, "the revenue chart")
    laptop.execute_script("window.stillTheSamePage = true")
    pay(shop, "AA:BB:CC:DD:EE:22", "0712 345 622")
    wait_for(lambda: text(laptop, "income-today") == "KES 20", WAIT, "the dashboard total to follow the payment")
    assert text(laptop, "payments-today-paid") == "2"
    assert laptop.execute_script("return window.stillTheSamePage") is True
    assert no_sideways_scroll(laptop)
    laptop.save_screenshot(str(artifacts / "console-dashboard-laptop.png"))


def test_the_timeline_of_a_paid_payment_shows_each_step(shop, laptop, artifacts):
    paid = pay(shop, "AA:BB:CC:DD:EE:23", "0712 345 623")
    log_in(laptop, shop, f"/payments/{paid.id}")
    wait_for(lambda: len(laptop.find_elements(By.CSS_SELECTOR, "#timeline li")) >= 6
             and "provisioned" in [li.get_attribute("data-step") for li in laptop.find_elements(By.CSS_SELECTOR, "#timeline li")],
             WAIT, "the timeline")
    steps = [li.get_attribute("data-step") for li in laptop.find_elements(By.CSS_SELECTOR, "#timeline li")]
    assert steps[:6] == ["started", "pushed", "callback", "subscription", "applied", "provisioned"], steps
    assert "Ready at the router" in text(laptop, "timeline")
    assert "not logged in yet" in text(laptop, "diagnosis")
    assert text(laptop, "payment-status-value") == "paid"
    laptop.save_screenshot(str(artifacts / "console-payment-timeline-laptop.png"))


def test_a_voucher_batch_and_its_print_sheet(shop, laptop, artifacts):
    log_in(laptop, shop, "/vouchers")
    wait_for(lambda: len(laptop.find_elements(By.CSS_SELECTOR, "#voucher-package option")) == 2, WAIT, "the packages")
    Select(laptop.find_element(By.ID, "voucher-package")).select_by_visible_text("Day · KES 50")
    count = laptop.find_element(By.ID, "voucher-count")
    count.clear()
    count.send_keys("12")
    laptop.find_element(By.ID, "voucher-make").click()
    wait_for(lambda: "/vouchers/" in laptop.current_url and laptop.find_elements(By.ID, "batch-summary"), WAIT,
             "the new batch")
    wait_for(lambda: "12 codes: 0 used, 12 unused" in text(laptop, "batch-summary"), WAIT, "the batch summary")
    codes = [c.text for c in laptop.find_elements(By.CSS_SELECTOR, "#batch code")]
    assert len(codes) == 12
    laptop.save_screenshot(str(artifacts / "console-voucher-batch-laptop.png"))

    laptop.get(laptop.find_element(By.ID, "print-sheet").get_attribute("href"))
    wait_for(lambda: loaded(laptop) and laptop.find_elements(By.CSS_SELECTOR, ".card svg.qr"), WAIT, "the sheet")
    cards = laptop.find_elements(By.CSS_SELECTOR, ".card")
    assert len(cards) == 12
    first = cards[0].text
    assert codes[0][:5] in first and "Day · KES 50" in first and "Valid 1d · 3GB" in first
    laptop.save_screenshot(str(artifacts / "voucher-sheet-screen.png"))
    # What a phone's camera would read: every QR code opens the portal with its own code filled in. A camera
    # sees the 22 mm printed square in far more pixels than a 96 dpi screen has, so the sheet is captured at
    # three times the screen's resolution (at 1x a code is ~2.5 pixels a module and zbar misses one now and then).
    size = laptop.execute_script("return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    png = laptop.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 3}})["data"]
    (artifacts / "voucher-sheet-3x.png").write_bytes(base64.b64decode(png))
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(artifacts / "voucher-sheet-3x.png")],
                             capture_output=True, text=True, timeout=60).stdout.split()
    assert sorted(decoded) == sorted(f"{shop.portal}/?voucher={code.replace('-', '')}" for code in codes)
    options = PrintOptions()
    options.page_width, options.page_height = 21.0, 29.7  # A4, in cm
    pdf = base64.b64decode(laptop.print_page(options))
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    (artifacts / "voucher-sheet.pdf").write_bytes(pdf)


def test_the_console_at_360_px_has_no_sideways_scroll(shop, phone, artifacts):
    paid = pay(shop, "AA:BB:CC:DD:EE:24", "0712 345 624")
    log_in(phone, shop, "/")
    wait_for(lambda: text(phone, "income-today").startswith("KES"), WAIT, "the dashboard figures")
    wait_for(lambda: phone.find_elements(By.CSS_SELECTOR, "#chart-sessions svg"), WAIT, "the charts")
    assert phone.execute_script("return window.innerWidth") == 360
    assert no_sideways_scroll(phone)
    phone.save_screenshot(str(artifacts / "console-dashboard-360.png"))
    for path, ready in (("/payments", "#payments-list tr"), (f"/payments/{paid.id}", "#timeline li"),
                        ("/customers", "#customers-list tr"), (f"/customers/{paid.customer_id}", "#customer .card"),
                        ("/vouchers", "#batches"), ("/packages", "#packages-list tr"),
                        ("/online", "#online-list"), ("/system", "#queue tr"), ("/settings", "#settings-form input"),
                        ("/routers", "#routers"), ("/audit", "#audit-list tr")):
        phone.get(shop.admin + path)
        wait_for(lambda: loaded(phone) and phone.find_elements(By.CSS_SELECTOR, ready), WAIT, f"{path} at 360 px")
        name = re.sub(r"/\d+$", "-one", path).strip("/").replace("/", "-") or "dashboard"
        full_page(phone, artifacts / f"console-{name}-360.png")
        assert no_sideways_scroll(phone), f"{path} scrolls sideways at 360 px"
        if path == "/routers":  # no router yet: the page says so (test_admin_routers_browser.py has one)
            wait_for(lambda: phone.find_elements(By.CSS_SELECTOR, "#routers .empty, #routers table"), WAIT,
                     "the routers page to say what it has")


def test_the_payments_filters_the_pager_and_the_customer_search(shop, laptop, artifacts):
    """Runs last in this module: the 55 failed payments it adds change no figure the others check."""
    from hotspotd.store.db import utcnow, write_transaction
    from hotspotd.store.models import Package

    paid = pay(shop, "AA:BB:CC:DD:EE:25", "0712 345 625")
    pay(shop, "AA:BB:CC:DD:EE:26", "0712 345 626")  # a second customer the search must leave out
    now = utcnow()
    with write_transaction():
        hour = Package.get(Package.name == "Hour")
        for n in range(55):
            Payment.create(ref=f"pager-{n:02d}", package=hour, phone=f"2547000000{n:02d}", amount=10, status="failed",
                           reason="cancelled by the customer", created_at=now, updated_at=now, resolved_at=now)
    db.close()

    log_in(laptop, shop, "/payments")
    Select(laptop.find_element(By.ID, "payment-status")).select_by_value("failed")
    laptop.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    pager = lambda: laptop.find_elements(By.CSS_SELECTOR, "#payments-list .pager span")  # noqa: E731
    wait_for(lambda: pager() and pager()[0].text == "page 1 of 2 (55)", WAIT, "two pages of failed payments")
    assert len(laptop.find_elements(By.CSS_SELECTOR, "#payments-list tr[data-id]")) == 50
    laptop.find_element(By.XPATH, "//div[@id='payments-list']//button[contains(., 'Older')]").click()
    wait_for(lambda: pager() and pager()[0].text == "page 2 of 2 (55)", WAIT, "the second page")
    assert len(laptop.find_elements(By.CSS_SELECTOR, "#payments-list tr[data-id]")) == 5
    laptop.save_screenshot(str(artifacts / "console-payments-page-2-laptop.png"))

    search = laptop.find_element(By.ID, "payment-q")
    search.send_keys("254700000007")
    laptop.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait_for(lambda: laptop.find_elements(By.CSS_SELECTOR, "#payments-list p.count")
             and len(laptop.find_elements(By.CSS_SELECTOR, "#payments-list tr[data-id]")) == 1, WAIT,
             "the search back on page 1 with the one payment from that phone")
    assert "2547*****007" in laptop.find_element(By.ID, "payments-list").text

    laptop.get(shop.admin + "/customers")
    found = lambda: laptop.find_elements(By.CSS_SELECTOR, "#customers-list tr[data-id]")  # noqa: E731
    wait_for(lambda: loaded(laptop) and len(found()) >= 2, WAIT, "the customers list")
    laptop.find_element(By.CSS_SELECTOR, "form.filters input").send_keys("0712 345 625")
    laptop.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait_for(lambda: len(found()) == 1 and found()[0].get_attribute("data-id") == str(paid.customer_id), WAIT,
             "the one customer with that phone")
