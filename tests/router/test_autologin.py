"""Auto-login after a voucher, and which router: the one whose hotspot sees the device."""

from __future__ import annotations

from hotspotd.devices import claimed, verified
from hotspotd.billing import vouchers
from hotspotd.customer.checkout import Checkout

from .conftest import register

MAC, IP = "AA:BB:CC:40:00:01", "10.5.50.41"


def redeem(runtime, package, now, mac=MAC, ip=IP):
    [code] = vouchers.make(package, 1, now)
    checkout = Checkout(runtime)  # the queue is immediate: provisioning and auto-login run inline
    try:
        return checkout.redeem_voucher(code, device=verified(mac, ip))
    finally:
        checkout.close()


def test_a_voucher_logs_the_device_in_on_an_api_mode_router(runtime, routeros, hour, now):
    register(routeros, mode="api", now=now)
    login = redeem(runtime, hour, now)
    [active] = routeros.router.table("/ip/hotspot/active")
    assert (active["user"], active["mac-address"], active["address"]) == (login["username"], MAC, IP)
    assert routeros.router.table("/ip/hotspot/user")[0]["name"] == login["username"]


def test_with_several_routers_the_one_that_sees_the_device_logs_it_in(runtime, make_routeros, hour, now):
    gateway, ap = make_routeros(), make_routeros()
    register(gateway, name="gateway", mode="api", nas_ip="127.0.0.2", now=now)
    register(ap, name="ap-1", mode="api", nas_ip="127.0.0.3", now=now)
    ap.router.connect_device(MAC, IP)
    login = redeem(runtime, hour, now)
    assert [a["user"] for a in ap.router.table("/ip/hotspot/active")] == [login["username"]]
    assert gateway.router.table("/ip/hotspot/active") == []


def test_no_router_sees_the_device_leaves_the_login_to_the_portal(runtime, make_routeros, hour, now):
    first, second = make_routeros(), make_routeros()
    register(first, name="a", mode="api", nas_ip="127.0.0.2", now=now)
    register(second, name="b", mode="api", nas_ip="127.0.0.3", now=now)
    login = redeem(runtime, hour, now)
    assert login["username"]  # the voucher works all the same
    assert first.router.table("/ip/hotspot/active") == second.router.table("/ip/hotspot/active") == []
