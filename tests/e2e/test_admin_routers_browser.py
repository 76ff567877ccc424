"""The console's Routers page in a real browser, against the real admin and worker processes
and a RouterOS simulator: add a router, probe it, see who is online and kick them, deploy it
step by step, and fetch its .rsc script.

Screenshots go to $HOTSPOTD_ARTIFACTS (default tests/artifacts/)."""

from __future__ import annotations

import pytest

from hotspotd import config as config_mod
from hotspotd.router import add_router
from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.sim.routeros import RouterOSSimulator
from hotspotd.store.db import db, open_database
from hotspotd.store.models import Router

from .site import Site, wait_for
from .test_admin_browser import (PASSWORD, WAIT, artifacts, laptop, loaded, log_in,  # noqa: F401 (fixtures)
                                 no_sideways_scroll, phone)

try:
    from selenium.webdriver.common.by import By
except ImportError:  # the laptop fixture reports it
    By = None

pytestmark = pytest.mark.e2e

API_PASSWORD = "api-pass-123"


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    with DarajaSimulator(callback_delay=0.3) as sim, RouterOSSimulator(password=API_PASSWORD) as routeros:
        site = Site(tmp_path_factory.mktemp("routers-page"), sim.url, routers={"probe_interval": "3600"})
        site.cli("admin", "add", "boss", stdin=PASSWORD + "\n")
        for role in ("worker", "admin"):
            site.start(role)
        site.admin = f"http://127.0.0.1:{site.admin_port}"
        site.routeros = routeros
        open_database(config_mod.load(site.config_path).app_db_path)
        yield site
        site.stop()
        db.close()


def row_text(driver, name: str) -> str:
    rows = [r for r in driver.find_elements(By.CSS_SELECTOR, "#routers tbody tr") if name in r.text]
    return rows[0].text if rows else ""


def click(driver, scope, label: str) -> None:
    """Click the `label` button in `scope` (an element, or its id: a live update may redraw it
    between finding and clicking, so then it is found again)."""
    from selenium.common.exceptions import StaleElementReferenceException

    def press() -> bool:
        try:
            where = driver.find_element(By.ID, scope) if isinstance(scope, str) else scope
            button = next(b for b in where.find_elements(By.CSS_SELECTOR, "button") if b.text == label)
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
            button.click()
            return True
        except (StaleElementReferenceException, StopIteration):
            if not isinstance(scope, str):
                raise
            return False

    wait_for(press, WAIT, f"the {label} button")


def test_an_operator_adds_probes_and_deploys_a_router_and_kicks_a_session(shop, laptop, artifacts):
    log_in(laptop, shop, "/routers")
    wait_for(lambda: laptop.find_elements(By.CSS_SELECTOR, "#routers .empty"), WAIT, "the empty list")
    laptop.find_element(By.CSS_SELECTOR, "#router-add summary").click()
    form = laptop.find_element(By.ID, "router-form")
    for name, value in (("name", "gate"), ("host", "127.0.0.1"), ("api_port", str(shop.routeros.port)),
                        ("api_user", "admin"), ("api_password", API_PASSWORD), ("secret", "radius-secret-123")):
        form.find_element(By.NAME, name).send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: "gate" in row_text(laptop, "gate"), WAIT, "the new router in the list")
    assert "not probed yet" in row_text(laptop, "gate")
    assert "the API password crosses the network in clear" in row_text(laptop, "gate")  # a plain API

    row = laptop.find_element(By.CSS_SELECTOR, "#routers tbody tr")
    click(laptop, row, "Probe")
    wait_for(lambda: "online" in row_text(laptop, "gate") and "RouterOS 7" in row_text(laptop, "gate"), WAIT,
             "the probe's result, live")

    shop.routeros.router.add_active("u7k2m9pq", "AA:BB:CC:DD:EE:51", "10.5.50.51")
    click(laptop, laptop.find_element(By.CSS_SELECTOR, "#routers tbody tr"), "Sessions")
    wait_for(lambda: "u7k2m9pq" in laptop.find_element(By.ID, "router-panel").text, WAIT, "the live session")
    panel = laptop.find_element(By.ID, "router-panel")
    assert "AA:BB:CC:DD:EE:51" in panel.text
    laptop.execute_script("window.confirm = function () { return true; }")
    click(laptop, panel, "Kick")
    wait_for(lambda: shop.routeros.router.table("/ip/hotspot/active") == [], WAIT, "the session gone at the router")

    click(laptop, laptop.find_element(By.CSS_SELECTOR, "#routers tbody tr"), "Deploy")
    wait_for(lambda: laptop.find_elements(By.CSS_SELECTOR, "#deploy-progress li.deploy-completed"), WAIT,
             "the deploy to complete, step by step")
    steps = laptop.find_elements(By.CSS_SELECTOR, "#deploy-progress li.deploy-progress")
    assert len(steps) >= 5 and any("radius" in s.text.lower() for s in steps)
    assert Router.get(Router.name == "gate").deployed_at is not None
    wait_for(lambda: "not yet" not in row_text(laptop, "gate"), WAIT, "the router shown deployed")
    link = laptop.find_element(By.CSS_SELECTOR, "#routers a.button")
    assert link.get_attribute("href").endswith(f"/api/admin/routers/{Router.get().id}/script")
    laptop.save_screenshot(str(artifacts / "console-routers-laptop.png"))


def test_the_routers_page_at_360_px(shop, phone, artifacts):
    if not Router.select().exists():
        add_router("gate", "127.0.0.1", "radius-secret-123", api_port=shop.routeros.port, api_user="admin",
                   api_password=API_PASSWORD)
    log_in(phone, shop, "/routers")
    wait_for(lambda: loaded(phone) and phone.find_elements(By.CSS_SELECTOR, "#routers tbody tr"), WAIT, "the list")
    phone.save_screenshot(str(artifacts / "console-routers-360.png"))
    assert no_sideways_scroll(phone)


def test_an_admin_deploys_pppoe_and_adds_suspends_and_resumes_a_subscriber(shop, laptop, artifacts):
    """The Routers page deploys PPPoE (the service chosen above the table); the Subscribers
    page adds a subscriber on a plan, shows the account and PPPoE login once, suspends and
    resumes them, live."""
    from selenium.webdriver.support.ui import Select

    if not Router.select().exists():
        add_router("gate", "127.0.0.1", "radius-secret-123", api_port=shop.routeros.port, api_user="admin",
                   api_password=API_PASSWORD)
    shop.cli("package", "add", "--service", "pppoe", "--name", "Home 5M", "--duration", "30d", "--price", "1500",
             "--rate", "5M/5M")
    log_in(laptop, shop, "/routers")
    wait_for(lambda: row_text(laptop, "gate"), WAIT, "the router")
    Select(laptop.find_element(By.ID, "deploy-service")).select_by_value("pppoe")
    laptop.find_element(By.ID, "deploy-interface").send_keys("ether2")
    laptop.execute_script("window.confirm = function () { return true; }")
    click(laptop, laptop.find_element(By.CSS_SELECTOR, "#routers tbody tr"), "Deploy")
    wait_for(lambda: any("pppoe-server" in li.text for li in laptop.find_elements(
        By.CSS_SELECTOR, "#deploy-progress li.deploy-progress")), WAIT, "the PPPoE server step")
    wait_for(lambda: "pppoe" in row_text(laptop, "gate"), WAIT, "the router shown with pppoe deployed")
    assert shop.routeros.router.table("/interface/pppoe-server/server")[0]["interface"] == "ether2"

    laptop.get(shop.admin + "/subscribers")
    wait_for(lambda: laptop.find_elements(By.CSS_SELECTOR, "#subscriber-add summary"), WAIT, "the page")
    laptop.find_element(By.CSS_SELECTOR, "#subscriber-add summary").click()
    form = laptop.find_element(By.ID, "subscriber-form")
    form.find_element(By.NAME, "name").send_keys("Wanjiku Kamau")
    form.find_element(By.NAME, "phone").send_keys("0712345678")
    wait_for(lambda: Select(form.find_element(By.NAME, "package_id")).options[0].text.startswith("Home 5M"), WAIT,
             "the plans")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    made = wait_for(lambda: laptop.find_element(By.ID, "subscriber-credentials").text, WAIT, "the new login")
    assert made.startswith("Account ") and "PPPoE" in made
    wait_for(lambda: "Wanjiku Kamau" in laptop.find_element(By.ID, "subscribers-list").text, WAIT, "the list")
    assert "suspended" in laptop.find_element(By.ID, "subscribers-list").text  # owes the first month
    laptop.find_element(By.CSS_SELECTOR, "#subscribers-list a").click()
    wait_for(lambda: laptop.find_elements(By.ID, "subscriber-actions"), WAIT, "the subscriber's page")
    assert "owes KES 1,500" in laptop.find_element(By.ID, "subscriber").text
    laptop.execute_script("window.prompt = function () { return 'pause'; }")
    click(laptop, "subscriber-actions", "Suspend")
    wait_for(lambda: [b for b in laptop.find_elements(By.CSS_SELECTOR, "#subscriber-actions button")
                      if b.text == "Resume"], WAIT, "the Resume button")
    click(laptop, "subscriber-actions", "Resume")
    wait_for(lambda: [b for b in laptop.find_elements(By.CSS_SELECTOR, "#subscriber-actions button")
                      if b.text == "Suspend"], WAIT, "the Suspend button again")
    laptop.save_screenshot(str(artifacts / "subscriber.png"))
