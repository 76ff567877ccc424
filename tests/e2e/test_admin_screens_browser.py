"""What an operator stumbled on in the console (issue 19, the operator's side), walked through
in headless Chromium at 1280 px and 360 px against real portal, worker and admin processes
and the Daraja simulator: revealed credentials that stay on screen through live updates, a
Paybill payment with its account and how it was paid, a receipt that says why it is
missing, the dashboard's income and readable charts on a phone, the payments export, and
the smaller things (plurals, titles, placeholders, the phone menu, the voucher sheet, the
only admin, the audit log's details).

Screenshots go to $HOTSPOTD_ARTIFACTS/console (default tests/artifacts/console/, not kept in
git), whole pages, for a person to look at.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from pathlib import Path

import pytest

from hotspotd import config as config_mod
from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.store.db import db, open_database
from hotspotd.store.models import Payment

from .browser import WAIT, chromium, full_page
from .site import ROOT, Site, admin_login, http, wait_for

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
except ImportError:  # reported by `chromium` as a failure, not a skip
    pass

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
PAYBILL = "600100"
ARTIFACTS = Path(os.environ.get("HOTSPOTD_ARTIFACTS") or ROOT / "tests" / "artifacts") / "console"

# Every visible input whose placeholder does not fit in it (measured in the input's own font).
PLACEHOLDERS_CUT = """
const ctx = document.createElement('canvas').getContext('2d'), cut = [];
for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]')) {
  if (!el.offsetParent || !el.placeholder) continue;
  const st = getComputedStyle(el);
  ctx.font = `${st.fontStyle} ${st.fontWeight} ${st.fontSize} ${st.fontFamily}`;
  const room = el.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight)
               - (el.type === 'search' ? 16 : 0);
  const need = ctx.measureText(el.placeholder).width;
  if (need > room) cut.push(`${el.placeholder}: ${need.toFixed(0)} px in ${room.toFixed(0)} px`);
}
return cut;
"""

# The size each chart label is drawn at on the screen: its font size times the SVG's scale.
CHART_LABEL_SIZES = """
return Array.from(document.querySelectorAll('svg.chart text')).map(t =>
  parseFloat(getComputedStyle(t).fontSize) * t.ownerSVGElement.getScreenCTM().a);
"""


@pytest.fixture(scope="module")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    with DarajaSimulator(callback_delay=0.3) as sim:
        site = Site(tmp_path_factory.mktemp("screens"), sim.url, site={"name": "Mama Wanjiku Cafe"},
                    mpesa={"paybill": PAYBILL, "query_after": "2"})
        site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h", "--rate", "2M/5M")
        site.cli("package", "add", "--name", "Day", "--price", "50", "--duration", "1d", "--data", "3GB")
        site.cli("admin", "add", "boss", stdin=PASSWORD + "\n")
        for role in ("portal", "worker", "admin"):
            site.start(role)
        assert "Daraja took the URLs" in site.cli("mpesa", "register-c2b").stdout
        site.admin = f"http://127.0.0.1:{site.admin_port}"
        site.sim = sim
        open_database(config_mod.load(site.config_path).app_db_path)  # the test reads what the roles write
        yield site
        site.stop()
        db.close()


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


def text(driver, element_id: str) -> str:
    """The element's shown text, read in one script call: a live redraw cannot come between
    finding the element and reading it (an element not there yet reads as "")."""
    return driver.execute_script(
        "var e = document.getElementById(arguments[0]); return e ? e.innerText.trim() : '';", element_id)


def card(driver, value_id: str) -> str:
    """A dashboard or detail card's whole text (label, value, notes), by its value's id."""
    return driver.find_element(By.ID, value_id).find_element(By.XPATH, "..").text


def log_in(driver, shop, path: str = "/") -> None:
    driver.get(shop.admin + path)
    try:
        wait_for(lambda: "/login" in driver.current_url and loaded(driver), WAIT, "the login page")
    except AssertionError:
        driver.save_screenshot(str(ARTIFACTS / "failed-login.png"))
        raise AssertionError(f"no login page: at {driver.current_url}, {driver.execute_script('return document.readyState')}")
    driver.find_element(By.ID, "username").send_keys("boss")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait_for(lambda: driver.current_url.split("?")[0].rstrip("/").endswith(path.split("?")[0].rstrip("/"))
             and loaded(driver), WAIT, f"the console at {path}")
    wait_for(lambda: "live" == text(driver, "live"), WAIT, "the live feed to connect")


def go(driver, shop, path: str, ready: str) -> None:
    driver.get(shop.admin + path)
    wait_for(lambda: loaded(driver) and driver.find_elements(By.CSS_SELECTOR, ready), WAIT, f"{path}: {ready}")


def button(driver, label: str):
    return driver.find_element(By.XPATH, f"//button[normalize-space(.)='{label}']")


def press(driver, label: str) -> None:
    """Click the `label` button; a live update may redraw it between finding and clicking,
    so then it is found again."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    def once() -> bool:
        try:
            button(driver, label).click()
            return True
        except (StaleElementReferenceException, NoSuchElementException):
            return False

    wait_for(once, WAIT, f"the {label} button")


def pay(shop, mac: str, phone_number: str, package_id: int = 1) -> Payment:
    status, body = http("POST", shop.portal + "/api/portal/pay", {"package_id": package_id, "phone": phone_number,
                                                                   "mac": mac, "ip": "10.5.50.9"})
    assert status == 202, body
    return wait_for(lambda: Payment.get_or_none((Payment.mac == mac) & (Payment.status == "paid")), WAIT,
                    f"the payment from {mac} to be applied")


def boss_api(shop):
    status, login = admin_login(shop.admin, "boss", PASSWORD)
    assert status == 200
    return login


def audited(action: str) -> int:
    return db.execute_sql('SELECT COUNT(*) FROM "event" WHERE "type" = \'admin.action\' '
                          'AND json_extract("data", \'$.action\') = ?', (action,)).fetchone()[0]


# -- 7. revealed credentials stay on screen


def test_a_revealed_login_and_phone_stay_visible_through_live_updates(shop, laptop, artifacts):
    paid = pay(shop, "AA:BB:CC:DD:E1:01", "0712 345 701")
    log_in(laptop, shop, f"/customers/{paid.customer_id}")
    wait_for(lambda: text(laptop, "customer-username").startswith("u"), WAIT, "the customer's page")
    assert text(laptop, "customer-title") == f"Customer {text(laptop, 'customer-username')}"  # not by row number
    before = (audited("customer.credentials"), audited("customer.phone"))
    press(laptop, "Show login")
    wait_for(lambda: "password" in text(laptop, "customer-login"), WAIT, "the login shown")
    press(laptop, "Show phone")
    wait_for(lambda: "254712345701" in text(laptop, "customer-phone"), WAIT, "the phone shown")
    shown = text(laptop, "customer-login")

    other = boss_api(shop)  # another operator gives the customer time: a live update redraws the page
    for minutes in (30, 60):
        laptop.execute_script("window.drawn = document.querySelector('#customer .cards')")
        status, _ = other.post(f"/api/admin/subscriptions/{paid.subscription_id}/extend",
                               {"seconds": minutes * 60, "reason": "goodwill"})
        assert status == 200
        wait_for(lambda: laptop.execute_script("return !document.body.contains(window.drawn)"), WAIT,
                 "the live update to redraw the customer")
        assert text(laptop, "customer-login") == shown, "the login went away with the redraw"
        assert "254712345701" in text(laptop, "customer-phone"), "the phone was masked again by the redraw"
    full_page(laptop, artifacts / "customer-revealed-after-live-update-1280.png")
    # the redraws asked for nothing again: one audited reveal each
    assert (audited("customer.credentials"), audited("customer.phone")) == (before[0] + 1, before[1] + 1)

    laptop.find_element(By.ID, "hide-login").click()
    laptop.find_element(By.ID, "hide-phone").click()
    assert text(laptop, "customer-login") == "" and text(laptop, "customer-phone") == "2547*****701"


# -- 8. Paybill in the console; how people paid; receipts


def test_a_paybill_payment_shows_its_account_and_how_it_was_paid(shop, laptop, phone, artifacts):
    status, offer = http("POST", shop.portal + "/api/portal/paybill", {"package_id": 1, "mac": "AA:BB:CC:DD:E1:02"})
    assert status == 201, offer
    account = offer["account"]
    offer["payment_id"] = Payment.get(Payment.ref == offer["payment_id"]).id  # the portal names it by reference
    log_in(laptop, shop, f"/payments/{offer['payment_id']}")
    wait_for(lambda: text(laptop, "diagnosis"), WAIT, "the payment's page")
    assert text(laptop, "payment-title") == f"Paybill payment · account {account}"
    assert text(laptop, "payment-how") == "Paybill" and f"business number {PAYBILL}" in card(laptop, "payment-how")
    assert text(laptop, "payment-account").endswith(account)
    diagnosis = text(laptop, "diagnosis")
    assert f"Waiting for the customer to pay account {account} to business number {PAYBILL}" in diagnosis
    assert "No confirmation yet" in diagnosis and "prompt" not in diagnosis and "automatic query" not in diagnosis
    timeline = text(laptop, "timeline")
    assert "Paybill account number given" in timeline and f"account {account} to business number {PAYBILL}" in timeline
    assert "M-Pesa prompt sent" not in timeline
    full_page(laptop, artifacts / "payment-paybill-waiting-1280.png")

    laptop.execute_script("window.stillTheSamePage = true")
    assert http("POST", shop.sim.url + "/__sim__/paybill", {"amount": 10, "phone": "254712345702",
                                                             "account": account})[0] == 200
    wait_for(lambda: text(laptop, "payment-status-value") == "paid", WAIT, "the page to follow the confirmation")
    wait_for(lambda: "Paybill payment confirmed by M-Pesa" in text(laptop, "timeline"), WAIT, "the confirmation")
    receipt = Payment.get_by_id(offer["payment_id"]).receipt
    assert receipt and text(laptop, "payment-receipt").endswith(receipt)
    assert laptop.execute_script("return window.stillTheSamePage") is True
    full_page(laptop, artifacts / "payment-paybill-paid-1280.png")

    # the list: a How paid column with its filter, the account, and the receipt
    stk = pay(shop, "AA:BB:CC:DD:E1:03", "0712 345 703")
    laptop.get(shop.admin + "/payments")
    rows = lambda: laptop.find_elements(By.CSS_SELECTOR, "#payments-list tr[data-id]")  # noqa: E731
    wait_for(lambda: loaded(laptop) and len(rows()) >= 2, WAIT, "the payments list")
    row = laptop.find_element(By.CSS_SELECTOR, f"#payments-list tr[data-id='{offer['payment_id']}']")
    assert f"Paybill · account {account}" in row.text and receipt in row.text
    assert "M-Pesa prompt" in laptop.find_element(By.CSS_SELECTOR, f"#payments-list tr[data-id='{stk.id}']").text
    Select(laptop.find_element(By.ID, "payment-method")).select_by_visible_text("Paybill")
    laptop.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait_for(lambda: rows() and all("Paybill" in r.text for r in rows()), WAIT, "only Paybill payments")
    assert str(stk.id) not in [r.get_attribute("data-id") for r in rows()]
    full_page(laptop, artifacts / "payments-paybill-filter-1280.png")

    log_in(phone, shop, "/payments?method=c2b")  # a link with a filter keeps it through the login
    wait_for(lambda: phone.find_elements(By.CSS_SELECTOR, f"#payments-list tr[data-id='{offer['payment_id']}']"),
             WAIT, "the Paybill payment at 360 px")
    assert Select(phone.find_element(By.ID, "payment-method")).first_selected_option.text == "Paybill"
    assert not phone.find_elements(By.CSS_SELECTOR, f"#payments-list tr[data-id='{stk.id}']")
    how = phone.find_element(By.CSS_SELECTOR, f"#payments-list tr[data-id='{offer['payment_id']}'] td[data-label='How paid']")
    assert how.text.endswith(f"Paybill · account {account}")  # the cell's label beside it on a phone
    full_page(phone, artifacts / "payments-paybill-360.png")
    go(phone, shop, f"/payments/{offer['payment_id']}", "#timeline li")
    full_page(phone, artifacts / "payment-paybill-paid-360.png")


def test_a_payment_confirmed_by_the_query_says_why_it_has_no_receipt(shop, laptop, artifacts):
    assert http("POST", shop.sim.url + "/__sim__/outcome", {"outcome": "no_callback", "times": 1})[0] == 200
    paid = pay(shop, "AA:BB:CC:DD:E1:04", "0712 345 704")  # no callback: the STK query finds it paid
    assert paid.receipt is None and paid.queried_at is not None
    log_in(laptop, shop, "/payments")
    cell = lambda: laptop.find_elements(  # noqa: E731
        By.CSS_SELECTOR, f"#payments-list tr[data-id='{paid.id}'] td[data-label='Receipt']")
    wait_for(lambda: cell() and cell()[0].text, WAIT, "the payment in the list")
    assert cell()[0].text == "confirmed by M-Pesa's query; receipt not given"
    laptop.get(shop.admin + f"/payments/{paid.id}")
    wait_for(lambda: text(laptop, "payment-receipt"), WAIT, "the payment's page")
    assert text(laptop, "payment-receipt") == "not given"
    assert card(laptop, "payment-receipt").endswith("confirmed by M-Pesa's query; receipt not given")
    assert "Asked M-Pesa about it (STK query)" in text(laptop, "timeline")
    assert not re.search(r"\d time\(s\)|\b1 times\b", text(laptop, "timeline"))
    title = text(laptop, "payment-title")
    assert title == "Payment from 2547*****704" and not re.fullmatch(r"Payment \d+", title)
    full_page(laptop, artifacts / "payment-confirmed-by-query-1280.png")


# -- 10. the dashboard: income, readable charts, the month by month, the export


def test_the_dashboard_counts_income_and_its_charts_read_at_360_px(shop, phone, laptop, artifacts):
    login = boss_api(shop)
    status, batch = login.post("/api/admin/vouchers", {"package_id": 2, "count": 1})
    assert status == 201
    code = login.get(f"/api/admin/vouchers/{batch['batch']}")[1]["items"][0]["code"]
    assert http("POST", shop.portal + "/api/portal/voucher", {"code": code, "mac": "AA:BB:CC:DD:E1:05",
                                                              "ip": "10.5.50.15"})[0] == 200
    figures = wait_for(lambda: (lambda d: d if d["income"]["today"]["vouchers"]["count"] else None)(
        login.get("/api/admin/dashboard")[1]), WAIT, "the voucher counted")
    today = figures["income"]["today"]
    assert today["total"] == today["mpesa"]["amount"] + 50 and today["vouchers"]["amount"] == 50

    log_in(phone, shop, "/")
    wait_for(lambda: text(phone, "income-today") == f"KES {today['total']}", WAIT, "today's income")
    income = card(phone, "income-today")
    assert f"M-Pesa KES {today['mpesa']['amount']}" in income and "Vouchers KES 50 · 1 voucher" in income
    assert card(phone, "payments-today-paid").upper().startswith("PAID PAYMENTS TODAY")
    wait_for(lambda: len(phone.find_elements(By.CSS_SELECTOR, "svg.chart")) == 2, WAIT, "the charts")
    sizes = phone.execute_script(CHART_LABEL_SIZES)
    assert sizes and min(sizes) >= 11, f"chart labels drawn at {min(sizes):.1f} px on a 360 px phone"
    # the revenue axis says its currency and counts in round steps
    units = [t.text for t in phone.find_elements(By.CSS_SELECTOR, "#chart-revenue svg text.unit")]
    assert units == ["KES"]
    ticks = [float(t.text.replace(",", "").replace("k", "e3"))
             for t in phone.find_elements(By.CSS_SELECTOR, "#chart-revenue svg text.tick.y")]
    steps = {round(b - a, 6) for a, b in zip(ticks, ticks[1:])}
    assert ticks[0] == 0 and len(steps) == 1, ticks
    step = steps.pop()
    assert step / 10 ** math.floor(math.log10(step)) in (1, 2, 5), ticks
    months = phone.find_elements(By.CSS_SELECTOR, "#income-months tr[data-id]")
    assert len(months) == 12 and f"KES {figures['income']['month']['total']}" in months[0].text
    assert not phone.find_elements(By.ID, "sync-status")  # no central server: nothing about sync
    assert "configuration version" not in phone.find_element(By.ID, "main").text.lower()
    assert phone.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    full_page(phone, artifacts / "dashboard-360.png")

    log_in(laptop, shop, "/")
    wait_for(lambda: len(laptop.find_elements(By.CSS_SELECTOR, "svg.chart")) == 2, WAIT, "the charts")
    assert min(laptop.execute_script(CHART_LABEL_SIZES)) >= 11
    full_page(laptop, artifacts / "dashboard-1280.png")


def test_the_payments_export_has_the_filters_of_the_list(shop, laptop, artifacts):
    status, offer = http("POST", shop.portal + "/api/portal/paybill", {"package_id": 1, "mac": "AA:BB:CC:DD:E1:06"})
    assert status == 201
    offer["payment_id"] = Payment.get(Payment.ref == offer["payment_id"]).id  # the portal names it by reference
    assert http("POST", shop.sim.url + "/__sim__/paybill", {"amount": 10, "phone": "254712345706",
                                                             "account": offer["account"]})[0] == 200
    wait_for(lambda: Payment.get_by_id(offer["payment_id"]).status == "paid", WAIT, "the Paybill payment applied")
    log_in(laptop, shop, "/payments")
    Select(laptop.find_element(By.ID, "payment-method")).select_by_visible_text("Paybill")
    Select(laptop.find_element(By.ID, "payment-status")).select_by_value("paid")
    laptop.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    link = laptop.find_element(By.ID, "export-payments")
    wait_for(lambda: "method=c2b" in link.get_attribute("href") and "status=paid" in link.get_attribute("href"),
             WAIT, "the export link to carry the filters")
    body = laptop.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(done);", link.get_attribute("href"))
    rows = list(csv.DictReader(io.StringIO(body)))
    (artifacts / "payments-export-paybill-paid.csv").write_text(body)
    expected = Payment.select().where((Payment.method == "c2b") & (Payment.status == "paid")).count()
    assert len(rows) == expected >= 1
    assert {r["how_paid"] for r in rows} == {"Paybill"} and {r["status"] for r in rows} == {"paid"}
    mine = next(r for r in rows if r["account"] == offer["account"])
    assert mine["receipt"] == Payment.get_by_id(offer["payment_id"]).receipt and mine["paid_kes"] == "10"
    assert mine["phone"] == "2547 ***** 706"  # as M-Pesa named the payer, never a full number


# -- 11. the smaller things


def test_the_smaller_things_on_a_phone(shop, phone, artifacts):
    paid = pay(shop, "AA:BB:CC:DD:E1:07", "0712 345 707")
    log_in(phone, shop, "/")
    nav = phone.find_element(By.ID, "nav")
    assert nav.size["height"] <= 56, f"the menu takes {nav.size['height']} px at 360 px"
    links = phone.find_elements(By.CSS_SELECTOR, "#nav a")
    assert [a.text for a in links if a.is_displayed()] == ["Dashboard"]
    phone.find_element(By.ID, "menu-toggle").click()
    wait_for(lambda: all(a.is_displayed() for a in links), WAIT, "the menu to open")
    full_page(phone, artifacts / "menu-open-360.png")
    phone.find_element(By.LINK_TEXT, "Payments").click()
    wait_for(lambda: "/payments" in phone.current_url and loaded(phone), WAIT, "the payments page")

    for path, ready in (("/payments", "#payments-list tr"), (f"/payments/{paid.id}", "#timeline li"),
                        ("/customers", "#customers-list tr"), ("/packages", "#packages-list tr"),
                        ("/vouchers", "#voucher-form")):
        go(phone, shop, path, ready)
        assert phone.execute_script(PLACEHOLDERS_CUT) == [], f"cut-off placeholders on {path}"
    go(phone, shop, f"/payments/{paid.id}", "#timeline li")
    options = [o.text for o in phone.find_elements(By.CSS_SELECTOR, "#payment select option")]
    assert "1 hour" in options and "1 hours" not in options
    go(phone, shop, "/customers", "#customers-list tr")
    assert "(s)" not in phone.find_element(By.ID, "customers-list").text

    boss = boss_api(shop)  # an audited change with details, and a WiFi name for the sheet
    assert boss.post("/api/admin/settings", {"wifi_name": "MamaWanjiku-WiFi"})[0] == 200
    go(phone, shop, "/audit", "#audit-list tr[data-id]")
    details = phone.find_element(By.CSS_SELECTOR, "#audit-list tr[data-id] td[data-label='Details']").text
    assert "wifi name: MamaWanjiku-WiFi" in details and "{" not in details
    full_page(phone, artifacts / "audit-360.png")

    go(phone, shop, "/settings", "#accounts tr[data-id]")
    row = phone.find_element(By.CSS_SELECTOR, "#accounts tr[data-id]")
    assert "The only admin" in row.text and "Make operator" not in row.text
    full_page(phone, artifacts / "settings-360.png")


def test_the_voucher_sheet_has_a_print_button_the_wifi_name_and_the_codes_as_the_batch_shows_them(
        shop, laptop, artifacts):
    boss = boss_api(shop)
    assert boss.post("/api/admin/settings", {"wifi_name": "MamaWanjiku-WiFi"})[0] == 200
    status, batch = boss.post("/api/admin/vouchers", {"package_id": 1, "count": 3})
    assert status == 201
    log_in(laptop, shop, f"/vouchers/{batch['batch']}")
    wait_for(lambda: len(laptop.find_elements(By.CSS_SELECTOR, "#batch code")) == 3, WAIT, "the batch's codes")
    listed = [c.text for c in laptop.find_elements(By.CSS_SELECTOR, "#batch code")]
    assert all(re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", c) for c in listed), listed
    full_page(laptop, artifacts / "voucher-batch-1280.png")
    laptop.get(laptop.find_element(By.ID, "print-sheet").get_attribute("href"))
    wait_for(lambda: loaded(laptop) and laptop.find_elements(By.CSS_SELECTOR, ".card svg.qr"), WAIT, "the sheet")
    printed = [c.text for c in laptop.find_elements(By.CSS_SELECTOR, ".card .code")]
    assert printed == listed  # one format on the screen and on paper
    assert all("WiFi: MamaWanjiku-WiFi" in c.text for c in laptop.find_elements(By.CSS_SELECTOR, ".card"))
    laptop.execute_script("window.printed = 0; window.print = function () { window.printed += 1; }")
    laptop.find_element(By.ID, "print").click()
    assert laptop.execute_script("return window.printed") == 1
    full_page(laptop, artifacts / "voucher-sheet-1280.png")
