"""Configuration central owns reaches the box once and in order, and works there when
central is gone: packages and prices, vouchers, blocked devices, settings."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hotspotd.devices import claimed, verified

from hotspotd import access
from hotspotd.access_loader import ViewLoader
from hotspotd.billing import packages as box_packages
from hotspotd.central import configlog
from hotspotd.customer.checkout import Checkout
from hotspotd.errors import Conflict
from hotspotd.settings import site_settings
from hotspotd.store.db import utcnow
from hotspotd.store.models import BlockedDevice, Package, SyncState, Voucher
from hotspotd.sync.passes import run_pass

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def test_a_price_change_and_central_vouchers_reach_the_box_once_in_order(box, central, config, runtime):
    store = central.store
    day = configlog.add_package(store, name="1 day", price=50, duration="1d", rate="3M/6M", now=NOW)
    configlog.set_package(store, day.id, price=60, now=NOW)
    codes = configlog.issue_vouchers(store, box.site_id, day.id, 5, NOW)
    configlog.set_package(store, day.id, price=70, now=NOW)

    first = run_pass(config, box.client)
    assert first.ok and first.applied == 4
    package = Package.get(Package.central_id == day.id)
    assert (package.name, package.price, package.duration_s, package.rate_limit) == ("1 day", 70, 86400, "3M/6M")
    assert sorted(v.code for v in Voucher.select().where(Voucher.package == package.id)) == sorted(codes)
    assert SyncState.get_by_id(1).config_version == configlog.changes_for(box.site_id, 0)["version"]
    assert box_packages.get_package(package.id).price == 70  # what the portal sells now

    second = run_pass(config, box.client)
    assert second.ok and second.applied == 0  # each change once
    assert Package.select().count() == 1 and Voucher.select().count() == 5

    central.stop()  # central is gone; the box goes on selling what it got
    checkout = Checkout(runtime)
    try:
        login = checkout.redeem_voucher(codes[0], device=verified("AA:BB:CC:DD:EE:01", "10.5.50.2"))
    finally:
        checkout.close()
    assert login["username"] and login["password"]
    assert Voucher.get(Voucher.code == codes[0]).redeemed_at is not None
    assert not run_pass(config, box.client).ok


def test_a_package_from_central_reaches_a_running_radius_view(box, central, config):
    loader = ViewLoader()
    loader.refresh()  # RADIUS is up before the package arrives
    day = configlog.add_package(central.store, name="1 day", price=50, duration="1d", rate="3M/6M", devices=2,
                                now=NOW)
    assert run_pass(config, box.client).ok
    loader.refresh()
    package = Package.get(Package.central_id == day.id)
    assert loader.view.packages[package.id] == access.PackageView(package.id, "3M/6M", 2)


def test_changes_for_other_sites_do_not_reach_this_box(box, central, config):
    from hotspotd.central.sites import add_site

    other = add_site(central.store, "Elsewhere", NOW)
    day = configlog.add_package(central.store, name="1 day", price=50, duration="1d", now=NOW)
    configlog.issue_vouchers(central.store, other.site_id, day.id, 3, NOW)
    configlog.set_package(central.store, day.id, price=99, site_id=other.site_id, now=NOW)
    assert run_pass(config, box.client).ok
    assert Voucher.select().count() == 0 and Package.get(Package.central_id == day.id).price == 50


def test_settings_from_central(box, central, config):
    configlog.set_settings(central.store, {"notice": "Open 7am-10pm", "help_phone": "+254 700 000 000"}, None, NOW)
    assert run_pass(config, box.client).ok
    current = site_settings(config)
    assert (current.notice, current.help_phone) == ("Open 7am-10pm", "+254 700 000 000")


def test_a_blocked_device_may_not_pay_redeem_or_log_in(box, central, config, runtime):
    day = configlog.add_package(central.store, name="1 day", price=50, duration="1d", now=NOW)
    codes = configlog.issue_vouchers(central.store, box.site_id, day.id, 2, NOW)
    mac = "AA:BB:CC:DD:EE:02"
    checkout = Checkout(runtime)
    try:
        assert run_pass(config, box.client).ok
        login = checkout.redeem_voucher(codes[0], device=verified(mac, "10.5.50.3"))
        loader = ViewLoader()
        loader.refresh()
        request = access.AuthRequest(username=login["username"], password=login["password"].encode(), mac=mac)
        assert access.authorize(request, loader.view, utcnow()).accept

        configlog.block_devices(central.store, [mac.lower()], "stolen phone", None, NOW)
        assert run_pass(config, box.client).ok
        assert BlockedDevice.get(BlockedDevice.mac == mac).source == "central"
        loader.refresh()
        decision = access.authorize(request, loader.view, utcnow())
        assert (decision.accept, decision.reason, decision.message) == (False, "blocked", access.BLOCKED)
        with pytest.raises(Conflict, match="blocked"):
            checkout.redeem_voucher(codes[1], device=verified(mac, "10.5.50.3"))
        with pytest.raises(Conflict, match="blocked"):
            checkout.pay(package_id=Package.get(Package.central_id == day.id).id, phone="0712345678",
                         device=verified(mac, "10.5.50.3"))

        configlog.unblock_devices(central.store, [mac], None, NOW)
        assert run_pass(config, box.client).ok
        loader.refresh()
        assert access.authorize(request, loader.view, utcnow()).accept
    finally:
        checkout.close()


def test_a_change_the_box_cannot_apply_stops_there_and_is_tried_again(box, central, config):
    from hotspotd.central.store import ConfigChange

    bad = ConfigChange.create(site=None, kind="vouchers.issue", data={"package": 999, "batch": "x", "codes": ["A"]},
                              created_at=NOW)
    configlog.set_settings(central.store, {"notice": "later"}, None, NOW)
    result = run_pass(config, box.client)
    assert not result.ok and f"change {bad.id}" in result.error and "central package 999" in result.error
    assert SyncState.get_by_id(1).config_version == 0  # the bad change is the first
    assert site_settings(config).notice == ""  # nothing after it was applied
    assert result.batches >= 1  # events still went out
    ConfigChange.delete().where(ConfigChange.id == bad.id).execute()  # the operator's fix
    assert run_pass(config, box.client).ok and site_settings(config).notice == "later"
