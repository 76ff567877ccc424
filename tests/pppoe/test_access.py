"""The PPP access decision as a pure function over a view built by hand."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from hotspotd.pppoe.access import (ACTIVE, GRACE, SUSPENDED, PppPolicy, PppRequest, PppView, SubscriberView,
                                   authorize_ppp, standing)

from . import vectors as v


def view(now, *, period_end=timedelta(days=10), held=False, static_ip=None, mac=None, policy=None,
         online: dict | None = None, password="clientPass", username="User") -> PppView:
    sub = SubscriberView(7, username, password, 3, static_ip, mac, (now + period_end).timestamp(), held)
    sessions = online or {}
    return PppView(subscribers={username: sub}, rates={3: "5M/5M"}, policy=policy or PppPolicy(interim_interval=300),
                   open_sessions=lambda name: sessions.get(name, {}))


def pap(password: str = "clientPass", mac: str | None = "AA:BB:CC:00:00:01", user: str = "User") -> PppRequest:
    return PppRequest(user, password=password.encode(), mac=mac)


def test_standing_is_active_then_grace_then_suspended():
    assert standing(100.0, False, 99.0, 50.0) == ACTIVE
    assert standing(100.0, False, 100.0, 50.0) == GRACE
    assert standing(100.0, False, 150.0, 50.0) == SUSPENDED
    assert standing(100.0, False, 100.0, 0.0) == SUSPENDED
    assert standing(100.0, True, 50.0, 50.0) == SUSPENDED


def test_a_paid_subscriber_gets_the_plan(now):
    decision = authorize_ppp(pap(), view(now), now)
    assert decision.accept and decision.reason == "ok" and decision.subscriber_id == 7
    assert (decision.group, decision.pool, decision.framed_ip) == ("hotspotd-pppoe", "hotspotd-pppoe", None)
    assert decision.rate_limit == "5M/5M" and decision.interim_interval == 300
    assert decision.session_timeout == 10 * 86400  # to the period's end
    assert decision.address_list is None and decision.mschap2 is None


def test_a_static_address_replaces_the_pool_and_grace_lengthens_the_session(now):
    decision = authorize_ppp(pap(), view(now, static_ip="10.20.9.9", policy=PppPolicy(grace_s=7200)), now)
    assert (decision.framed_ip, decision.pool) == ("10.20.9.9", None)
    assert decision.session_timeout == 10 * 86400 + 7200


def test_chap_and_mschap2_are_checked_against_the_same_password(now):
    challenge = bytes(range(16))
    chap = b"\x05" + hashlib.md5(b"\x05" + b"clientPass" + challenge).digest()
    assert authorize_ppp(PppRequest("User", chap_password=chap, chap_challenge=challenge), view(now), now).accept
    wrong = b"\x05" + hashlib.md5(b"\x05" + b"clientpass" + challenge).digest()
    assert authorize_ppp(PppRequest("User", chap_password=wrong, chap_challenge=challenge), view(now),
                         now).reason == "wrong_password"
    ms = authorize_ppp(PppRequest("User", mschap2=(v.AUTHENTICATOR_CHALLENGE, v.RESPONSE)), view(now), now)
    assert ms.accept and ms.mschap2.authenticator_response == v.AUTHENTICATOR_RESPONSE
    assert (ms.mschap2.send_key, ms.mschap2.recv_key) == (v.SEND_KEY, v.RECV_KEY)


def test_a_wrong_mschap2_password_is_refused_with_the_ident_to_answer(now):
    decision = authorize_ppp(PppRequest("User", mschap2=(v.AUTHENTICATOR_CHALLENGE, v.RESPONSE)),
                             view(now, password="clientPasS"), now)
    assert (decision.accept, decision.reason, decision.mschap2_ident) == (False, "wrong_password", 1)


def test_a_domain_prefix_finds_the_subscriber(now):
    decision = authorize_ppp(PppRequest("example\\john", mschap2=(v.DOMAIN_CHALLENGE, v.DOMAIN_RESPONSE)),
                             view(now, username="john", password="secret"), now)
    assert decision.accept and decision.mschap2.success == v.DOMAIN_SUCCESS


def test_unknown_and_wrong_password(now):
    assert authorize_ppp(pap(user="nobody"), view(now), now).reason == "unknown_user"
    assert authorize_ppp(pap("nope"), view(now), now).reason == "wrong_password"


def test_a_bound_cpe_mac_is_enforced(now):
    bound = view(now, mac="AA:BB:CC:00:00:01")
    assert authorize_ppp(pap(mac="AA:BB:CC:00:00:01"), bound, now).accept
    for mac in ("AA:BB:CC:00:00:02", None):
        assert authorize_ppp(pap(mac=mac), bound, now).reason == "other_device"


def test_one_session_per_subscriber_but_the_same_cpe_may_dial_again(now):
    online = {"User": {41: "AA:BB:CC:00:00:01"}}
    assert authorize_ppp(pap(mac="AA:BB:CC:00:00:01"), view(now, online=online), now).accept
    decision = authorize_ppp(pap(mac="AA:BB:CC:00:00:02"), view(now, online=online), now)
    assert (decision.accept, decision.reason) == (False, "already_online")


@pytest.mark.parametrize("period_end, held", [(timedelta(seconds=-1), False), (timedelta(days=5), True)])
def test_a_suspended_subscriber_lands_in_the_suspended_pool(now, period_end, held):
    policy = PppPolicy(suspended_rate="128k/128k", suspended_session_timeout=120, interim_interval=60)
    decision = authorize_ppp(PppRequest("User", mschap2=(v.AUTHENTICATOR_CHALLENGE, v.RESPONSE)),
                             view(now, period_end=period_end, held=held, static_ip="10.20.9.9", policy=policy), now)
    assert decision.accept and decision.reason == "suspended"
    assert (decision.group, decision.pool, decision.address_list) == (
        "hotspotd-expired", "hotspotd-suspended", "hotspotd-suspended")
    assert decision.framed_ip is None  # never the static address: it is not in the suspended pool
    assert (decision.rate_limit, decision.session_timeout, decision.interim_interval) == ("128k/128k", 120, 60)
    assert decision.mschap2 is not None  # MikroTik drops the link without MS-CHAP2-Success


def test_grace_keeps_the_plan_and_cut_off_refuses(now):
    grace = PppPolicy(grace_s=3600)
    assert authorize_ppp(pap(), view(now, period_end=timedelta(minutes=-30), policy=grace), now).reason == "ok"
    cut = authorize_ppp(pap(), view(now, period_end=timedelta(minutes=-90), policy=PppPolicy(grace_s=3600,
                                                                                            cut_off=True)), now)
    assert (cut.accept, cut.reason) == (False, "cut_off")


def test_a_blocked_cpe_is_refused(now):
    blocked = view(now)
    blocked.blocked = lambda: {"AA:BB:CC:00:00:01"}
    assert authorize_ppp(pap(), blocked, now).reason == "blocked"
