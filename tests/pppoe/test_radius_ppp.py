"""PPP Access-Requests through the RADIUS handler (no sockets): the branch on Framed-Protocol,
PAP, CHAP and MS-CHAPv2 replies, the suspended pool, a view kept current from the store, and
accounting that knows a PPP session from a hotspot one."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from hotspotd.access import AccessView
from hotspotd.access_loader import ViewLoader
from hotspotd.console.audit import COMMAND_LINE
from hotspotd.pppoe.subscribers import suspend, update_subscriber
from hotspotd.pppoe.view_loader import PppLoader
from hotspotd.radius import microsoft as ms
from hotspotd.radius import packet as rp
from hotspotd.radius import ppp
from hotspotd.radius.handler import STALE, Handler
from hotspotd.radius.server import Views, ppp_view
from hotspotd.sessions import mark_overdue
from hotspotd.store.models import Session

from . import vectors as v
from .conftest import SECRET

KEY = SECRET.encode()
AUTH = bytes(range(16))
PPP = rp.integer(ppp.SERVICE_TYPE, 2) + rp.integer(ppp.FRAMED_PROTOCOL, 1) + rp.integer(rp.code_of("NAS-Port-Type"), 15)
CPE = "AA:BB:CC:00:00:01"


@pytest.fixture
def views(config, router):
    hotspot = ViewLoader(AccessView(interim_interval=300))
    subscribers = PppLoader(ppp_view(config, hotspot.view))
    both = Views(hotspot, subscribers)
    both.refresh()
    return both


@pytest.fixture
def handler(views):
    return Handler(views.loaders[0].view, ppp_view=views.loaders[1].view)


def request(user: str, creds: bytes, mac: str | None = CPE, ppp_attrs: bytes = PPP, ident: int = 3) -> bytes:
    attrs = rp.attr(rp.USER_NAME, user.encode()) + creds + ppp_attrs
    if mac:
        attrs += rp.attr(rp.CALLING_STATION_ID, mac.encode())
    return rp.encode_request(rp.ACCESS_REQUEST, ident, KEY, attrs, authenticator=AUTH)


def pap(password: str) -> bytes:
    return rp.attr(rp.USER_PASSWORD, rp.hide_password(password.encode(), KEY, AUTH))


def chap(password: str) -> bytes:
    challenge = bytes(range(50, 66))
    return (rp.attr(rp.CHAP_PASSWORD, b"\x09" + hashlib.md5(b"\x09" + password.encode() + challenge).digest())
            + rp.attr(rp.CHAP_CHALLENGE, challenge))


def mschap2(challenge: bytes = v.AUTHENTICATOR_CHALLENGE, response: bytes = v.RESPONSE) -> bytes:
    return rp.vsa(ms.MICROSOFT, ms.MS_CHAP_CHALLENGE, challenge) + rp.vsa(ms.MICROSOFT, ms.MS_CHAP2_RESPONSE, response)


def answer(handler, data: bytes, now, fresh=True):
    reply = handler.access(data, "127.0.0.1", now, fresh=fresh)
    assert reply is not None and reply is not STALE
    packet = rp.decode(reply)
    assert rp.response_authenticator_ok(packet, AUTH, KEY) and packet.ma_offset == 20
    return packet


@pytest.fixture
def user(subscribe, views):
    sub = subscribe(username="User", password="clientPass")
    views.refresh()
    return sub


@pytest.mark.parametrize("creds", [pap("clientPass"), chap("clientPass")], ids=["pap", "chap"])
def test_pap_and_chap_get_the_plan(handler, user, now, creds):
    reply = answer(handler, request("User", creds), now)
    assert reply.code == rp.ACCESS_ACCEPT
    vendor = reply.vendor_attrs()
    assert vendor[(rp.MIKROTIK, rp.MIKROTIK_RATE_LIMIT)] == b"5M/5M"
    assert vendor[(rp.MIKROTIK, ppp.MIKROTIK_GROUP)] == b"hotspotd-pppoe"
    assert reply.attrs[ppp.FRAMED_POOL] == b"hotspotd-pppoe"
    assert reply.integer(rp.SESSION_TIMEOUT) == 10 * 86400 and reply.integer(rp.ACCT_INTERIM_INTERVAL) == 300
    assert handler.decisions == {"ok": 1}


def test_mschap2_accept_carries_the_success_and_the_mppe_keys(handler, user, now):
    reply = answer(handler, request("User", mschap2()), now)
    assert reply.code == rp.ACCESS_ACCEPT
    vendor = reply.vendor_attrs()
    assert vendor[(ms.MICROSOFT, ms.MS_CHAP2_SUCCESS)] == b"\x01" + v.AUTHENTICATOR_RESPONSE.encode()
    assert rp.salt_decrypt(vendor[(ms.MICROSOFT, ms.MS_MPPE_SEND_KEY)], KEY, AUTH) == v.SEND_KEY
    assert rp.salt_decrypt(vendor[(ms.MICROSOFT, ms.MS_MPPE_RECV_KEY)], KEY, AUTH) == v.RECV_KEY


def test_a_wrong_mschap2_password_gets_an_ms_chap_error(handler, subscribe, views, now):
    subscribe(username="User", password="notClientPass")
    views.refresh()
    reply = answer(handler, request("User", mschap2()), now)
    assert reply.code == rp.ACCESS_REJECT and reply.text(rp.REPLY_MESSAGE) == "Wrong password"
    error = reply.vendor_attrs()[(ms.MICROSOFT, ms.MS_CHAP_ERROR)]
    assert error[:1] == b"\x01" and error[1:].startswith(b"E=691 R=0 C=") and error.endswith(b"M=Wrong password")


def test_a_malformed_mschap2_response_is_dropped(handler, user, now):
    assert handler.access(request("User", mschap2(response=v.RESPONSE[:40])), "127.0.0.1", now) is None
    assert handler.drops.counts["malformed"] == 1


def test_a_static_address_and_a_bound_mac(handler, user, views, now):
    update_subscriber(user.id, {"static_ip": "10.20.7.7", "mac": CPE}, now, by=COMMAND_LINE)
    views.refresh()
    reply = answer(handler, request("User", pap("clientPass")), now)
    assert reply.attrs[rp.FRAMED_IP_ADDRESS] == bytes((10, 20, 7, 7)) and ppp.FRAMED_POOL not in reply.attrs
    other = answer(handler, request("User", pap("clientPass"), mac="AA:BB:CC:00:00:99"), now)
    assert other.code == rp.ACCESS_REJECT and other.text(rp.REPLY_MESSAGE) == "This account is bound to another device"


def test_suspended_lands_in_the_suspended_pool(handler, user, views, now):
    suspend(user.id, "", now, by=COMMAND_LINE)
    views.refresh()
    reply = answer(handler, request("User", pap("clientPass")), now)
    assert reply.code == rp.ACCESS_ACCEPT
    vendor = reply.vendor_attrs()
    assert vendor[(rp.MIKROTIK, ppp.MIKROTIK_GROUP)] == b"hotspotd-expired"
    assert vendor[(rp.MIKROTIK, ppp.MIKROTIK_ADDRESS_LIST)] == b"hotspotd-suspended"
    assert vendor[(rp.MIKROTIK, rp.MIKROTIK_RATE_LIMIT)] == b"256k/256k"
    assert reply.attrs[ppp.FRAMED_POOL] == b"hotspotd-suspended" and reply.integer(rp.SESSION_TIMEOUT) == 300


def test_one_who_paid_a_moment_ago_is_asked_again_not_sent_to_the_suspended_pool(handler, subscribe, views, now):
    from hotspotd.pppoe.billing import credit
    from hotspotd.store.db import write_transaction
    sub = subscribe(username="payer", password="pass-word", days=None)
    views.refresh()
    with write_transaction():
        credit(sub.id, 150000, now, 0.0)
    assert handler.access(request("payer", pap("pass-word")), "127.0.0.1", now, fresh=False) is STALE
    views.refresh()
    assert answer(handler, request("payer", pap("pass-word")), now).vendor_attrs()[
        (rp.MIKROTIK, ppp.MIKROTIK_GROUP)] == b"hotspotd-pppoe"


def test_a_subscriber_added_a_moment_ago_is_stale_not_unknown(handler, subscribe, views, now):
    subscribe(username="newcomer", password="pass-word")
    assert handler.access(request("newcomer", pap("pass-word")), "127.0.0.1", now, fresh=False) is STALE
    views.refresh()
    assert answer(handler, request("newcomer", pap("pass-word")), now).code == rp.ACCESS_ACCEPT


def test_a_hotspot_request_is_not_taken_for_ppp(handler, user, now):
    reply = answer(handler, request("User", pap("clientPass"), ppp_attrs=rp.integer(ppp.SERVICE_TYPE, 1)), now)
    assert reply.code == rp.ACCESS_REJECT and reply.text(rp.REPLY_MESSAGE) == "Unknown user"  # not a hotspot user


def accounting(status: int, session_id: str, user: str, ip: str, ppp_attrs: bytes = PPP, mac: str = CPE) -> bytes:
    attrs = (rp.integer(rp.ACCT_STATUS_TYPE, status) + rp.attr(rp.ACCT_SESSION_ID, session_id.encode())
             + rp.attr(rp.USER_NAME, user.encode()) + rp.attr(rp.CALLING_STATION_ID, mac.encode())
             + rp.attr(rp.FRAMED_IP_ADDRESS, bytes(map(int, ip.split(".")))) + ppp_attrs)
    return rp.encode_request(rp.ACCOUNTING_REQUEST, 9, KEY, attrs)


def test_ppp_accounting_makes_a_pppoe_session_the_sweep_leaves_alone(handler, user, views, now):
    from hotspotd.sessions import apply_accounting
    records = [handler.accounting(accounting(1, "81C00010", "User", "10.20.0.5"), "127.0.0.1")[2],
               handler.accounting(accounting(1, "81C00011", "local-ppp", "10.20.0.6"), "127.0.0.1")[2]]
    assert [r.kind for r in records] == ["pppoe", "pppoe"]
    apply_accounting(records, now)
    sessions = {s.username: s for s in Session.select()}
    assert (sessions["User"].subscriber_id, sessions["local-ppp"].subscriber_id) == (user.id, None)
    assert mark_overdue(now + timedelta(days=1)) == []  # no package: not the hotspot sweep's to cut
    views.refresh()
    other = answer(handler, request("User", pap("clientPass"), mac="AA:BB:CC:00:00:02"), now)
    assert other.text(rp.REPLY_MESSAGE) == "This account is already online from another device"
    interim = handler.accounting(accounting(3, "81C00010", "User", "10.20.0.8"), "127.0.0.1")[2]
    apply_accounting([interim], now)
    assert Session.get(Session.acct_session_id == "81C00010").ip == "10.20.0.8"
