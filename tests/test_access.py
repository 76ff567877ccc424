"""The access decision over a hand-built view: no store, no sockets."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from hotspotd import access
from hotspotd.access import AccessView, AuthRequest, CredentialView, PackageView, SubscriptionView, authorize
from hotspotd.mac import normalize_mac

PHONE = "AA:BB:CC:00:00:09"  # the device a test logs in from (the router's Calling-Station-Id)


@pytest.fixture
def view(now):
    at = now.timestamp()
    v = AccessView(interim_interval=300)
    v.packages = {1: PackageView(1, "2M/5M", 1), 2: PackageView(2, "", 2)}

    def add(cid, username, password, sid, package, start, end, limit=None, used=0, mac=None, status="active"):
        v.credentials[username] = CredentialView(cid, cid, username, password)
        v.usernames[cid] = username
        v.subscriptions[sid] = SubscriptionView(sid, cid, package, status, at + start, at + end, limit, used, mac)
        v.by_customer.setdefault(cid, set()).add(sid)
        if mac:
            v.by_mac.setdefault(mac, set()).add(sid)

    add(1, "alice", b"alice-pw", 11, 1, -60, 3600, mac="AA:BB:CC:00:00:01")
    add(2, "bob", b"bob-pw", 12, 1, -7200, -1)
    add(3, "carol", b"carol-pw", 13, 2, -60, 86400, limit=5 << 30, used=1 << 30)
    add(4, "dave", b"dave-pw", 14, 2, -60, 86400, limit=1000, used=1000)
    add(5, "erin", b"erin-pw", 15, 1, -60, 3600, status="expired")
    add(6, "frank", b"frank-pw", 16, 1, 60, 3600)  # stacked: starts in a minute
    return v


def test_pap_accept_carries_the_package(view, now):
    decision = authorize(AuthRequest("alice", password=b"alice-pw", mac=PHONE), view, now)
    assert decision.accept and decision.reason == "ok"
    assert decision.session_timeout == 3600
    assert decision.rate_limit == "2M/5M"
    assert decision.data_left is None
    assert decision.interim_interval == 300
    assert decision.subscription_id == 11


def test_data_cap_gives_data_left(view, now):
    decision = authorize(AuthRequest("carol", password=b"carol-pw", mac=PHONE), view, now)
    assert decision.accept and decision.data_left == 4 << 30 and decision.rate_limit is None


def test_chap(view, now):
    challenge = bytes(range(16))
    good = b"\x07" + hashlib.md5(b"\x07" + b"alice-pw" + challenge).digest()
    assert authorize(AuthRequest("alice", chap_password=good, chap_challenge=challenge, mac=PHONE), view, now).accept
    bad = b"\x07" + hashlib.md5(b"\x07" + b"nope" + challenge).digest()
    assert authorize(AuthRequest("alice", chap_password=bad, chap_challenge=challenge), view, now).reason == \
        "wrong_password"
    assert authorize(AuthRequest("alice", chap_password=good[:5], chap_challenge=challenge), view, now).reason == \
        "wrong_password"


@pytest.mark.parametrize("username, password, reason, message", [
    ("nobody", b"x", "unknown_user", access.UNKNOWN_USER),
    ("alice", b"wrong", "wrong_password", access.WRONG_PASSWORD),
    ("alice", None, "wrong_password", access.WRONG_PASSWORD),
    ("bob", b"bob-pw", "expired", access.EXPIRED),
    ("erin", b"erin-pw", "expired", access.EXPIRED),
    ("frank", b"frank-pw", "expired", access.EXPIRED),
    ("dave", b"dave-pw", "data_used_up", access.DATA_USED_UP),
])
def test_rejects_say_why(view, now, username, password, reason, message):
    decision = authorize(AuthRequest(username, password=password, mac=PHONE), view, now)
    assert not decision.accept
    assert (decision.reason, decision.message) == (reason, message)


def test_expiry_is_judged_from_time_not_status(view, now):
    assert authorize(AuthRequest("alice", password=b"alice-pw", mac=PHONE), view, now + timedelta(minutes=59)).accept
    late = authorize(AuthRequest("alice", password=b"alice-pw", mac=PHONE), view, now + timedelta(hours=1))
    assert late.reason == "expired"


def test_stacked_subscription_takes_over(view, now):
    assert authorize(AuthRequest("frank", password=b"frank-pw", mac=PHONE), view, now + timedelta(minutes=2)).accept


def test_a_password_works_on_the_devices_its_package_admits(view, now):
    """The first device takes the free slot (the decision says to bind it); another device is
    refused even while the first is offline; the bound one logs in again; two slots, two devices."""
    first = authorize(AuthRequest("alice", password=b"alice-pw", mac=PHONE), view, now)
    assert first.accept and first.bind == (1, 1)
    view.bound(1, PHONE)
    assert view.open_devices("alice", None) == 0  # nobody is online
    other = authorize(AuthRequest("alice", password=b"alice-pw", mac="AA:BB:CC:00:00:02"), view, now)
    assert (other.accept, other.reason, other.message) == (False, "too_many_devices", access.TOO_MANY_DEVICES)
    again = authorize(AuthRequest("alice", password=b"alice-pw", mac=PHONE), view, now)
    assert again.accept and again.bind is None
    view.bound(3, PHONE)  # carol's package admits two devices
    second = authorize(AuthRequest("carol", password=b"carol-pw", mac="AA:BB:CC:00:00:02"), view, now)
    assert second.accept and second.bind == (3, 2)
    view.bound(3, "AA:BB:CC:00:00:02")
    assert authorize(AuthRequest("carol", password=b"carol-pw", mac="AA:BB:CC:00:00:03"), view, now).reason == \
        "too_many_devices"


def test_a_password_without_the_device_is_refused(view, now):
    """No Calling-Station-Id: which device it is cannot be told, so the password is not enough."""
    decision = authorize(AuthRequest("alice", password=b"alice-pw"), view, now)
    assert (decision.accept, decision.reason, decision.message) == (False, "no_device", access.NO_DEVICE)


def test_mac_login(view, now):
    decision = authorize(AuthRequest("aa-bb-cc-00-00-01", password=b"", mac="AA:BB:CC:00:00:01"), view, now)
    assert decision.accept and decision.subscription_id == 11
    spoof = authorize(AuthRequest("AA:BB:CC:00:00:01", password=b"", mac="AA:BB:CC:00:00:02"), view, now)
    assert spoof.reason == "unknown_user"
    assert authorize(AuthRequest("AA:BB:CC:00:00:03", mac="AA:BB:CC:00:00:03"), view, now).reason == "unknown_user"
    unnamed = authorize(AuthRequest("AA:BB:CC:00:00:01", password=b""), view, now)  # no Calling-Station-Id
    assert not unnamed.accept and unnamed.reason == "unknown_user"
    later = authorize(AuthRequest("AA:BB:CC:00:00:01", mac="AA:BB:CC:00:00:01"), view, now + timedelta(hours=2))
    assert later.reason == "expired"


@pytest.mark.parametrize("raw, expected", [
    ("bc:24:11:eb:56:4d", "BC:24:11:EB:56:4D"), ("BC-24-11-EB-56-4D", "BC:24:11:EB:56:4D"),
    ("BC2411EB564D", "BC:24:11:EB:56:4D"), ("alice", None), ("", None), (None, None),
    ("BC:24:11:EB:56:4D:00", None),
])
def test_normalize_mac(raw, expected):
    assert normalize_mac(raw) == expected
