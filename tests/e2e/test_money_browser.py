"""The console's money pages in a real browser (headless Chromium, real processes, the
Daraja and SMS simulators): a refund from the payment's page, with its confirmation step
and reason; the SMS page; the texts on the Settings page; reconciliation on System."""

from __future__ import annotations

import pytest

from hotspotd import config as config_mod
from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.sim.sms import SmsSimulator
from hotspotd.store.db import db, open_database
from hotspotd.store.models import Event, Payment

from ..money import site_settings
from .browser import WAIT
from .site import CALLBACK_TOKEN, Site, http, wait_for
from .test_admin_browser import PASSWORD, laptop, log_in, text  # noqa: F401 (laptop: a fixture)

try:
    from selenium.webdriver.common.by import By
except ImportError:  # reported by `chromium` as a failure, not a skip
    pass

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("money-console")
    with DarajaSimulator(callback_delay=0.3) as daraja, SmsSimulator() as sms:
        site = Site(folder, daraja.url, **site_settings(folder, daraja, sms, pull_interval="5"))
        sms.report_url = f"{site.portal}/api/sms/report/{CALLBACK_TOKEN}"
        site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h")
        site.cli("admin", "add", "boss", stdin=PASSWORD + "\n")
        site.cli("mpesa", "register-pull", "--nominated-number", "0722000000")
        for role in ("portal", "worker", "admin"):
            site.start(role)
        site.admin = f"http://127.0.0.1:{site.admin_port}"
        site.sms = sms
        open_database(config_mod.load(site.config_path).app_db_path)
        yield site
        site.stop()
        db.close()


def test_a_refund_from_the_payments_page(shop, laptop):
    status, started = http("POST", shop.portal + "/api/portal/pay", {"package_id": 1, "phone": "0712 345 631",
                                                                      "mac": "AA:BB:CC:DD:EE:31"})
    assert status == 202
    paid = wait_for(lambda: Payment.get_or_none((Payment.ref == started["payment_id"]) & (Payment.status == "paid")),
                    WAIT, "the payment")
    log_in(laptop, shop, f"/payments/{paid.id}")
    start = wait_for(lambda: laptop.find_elements(By.ID, "refund-start"), WAIT, "the Refund button")[0]
    assert "Used so far" in text(laptop, "refund-usage")
    start.click()
    laptop.find_element(By.ID, "refund-reason").send_keys("sold by mistake")
    confirm = [b for b in laptop.find_elements(By.CSS_SELECTOR, "#refund button") if b.text.startswith("Refund KES")][0]
    confirm.click()
    wait_for(lambda: "refunded" in text(laptop, "refund-state"), WAIT, "the refund to show on the page")
    assert text(laptop, "payment-status-value") == "refunded"
    assert not laptop.find_elements(By.ID, "refund-start")  # never twice
    assert Event.get(Event.type == "payment.refund_requested").data["reason"] == "sold by mistake"
    steps = [li.get_attribute("data-step") for li in laptop.find_elements(By.CSS_SELECTOR, "#timeline li")]
    assert "refunded" in steps


def test_the_sms_page_settings_texts_and_reconciliation(shop, laptop):
    wait_for(lambda: shop.sms.messages, WAIT, "a receipt text")  # the refunded payment's receipt
    log_in(laptop, shop, "/sms")
    wait_for(lambda: laptop.find_elements(By.ID, "sms-cost") and text(laptop, "sms-sent") != "0", WAIT, "the SMS figures")
    assert "KES" in text(laptop, "sms-cost")
    wait_for(lambda: laptop.find_elements(By.CSS_SELECTOR, "#sms-list tr[data-id]"), WAIT, "the list of texts")
    laptop.find_element(By.LINK_TEXT, "Settings").click()
    wait_for(lambda: laptop.find_elements(By.CSS_SELECTOR, "#sms-texts textarea"), WAIT, "the templates")
    english = laptop.find_elements(By.CSS_SELECTOR, "#sms-texts textarea")[0]
    english.clear()
    english.send_keys("{site}: {username} / {password}, until {expires}")
    laptop.find_element(By.CSS_SELECTOR, "#sms-texts button[type=submit]").click()
    wait_for(lambda: any(e.data["action"] == "sms.texts" for e in Event.select().where(Event.type == "admin.action")),
             WAIT, "the texts saved (audited)")
    laptop.find_element(By.LINK_TEXT, "System").click()
    wait_for(lambda: laptop.find_elements(By.ID, "pull-state") and "Read up to" in text(laptop, "pull-state"), WAIT,
             "reconciliation on the System page")
