"""Router records behind `hotspotd router add/list`."""

from __future__ import annotations

import pytest

from hotspotd.errors import Conflict, InvalidInput
from hotspotd.router import add_router, list_routers


def test_add_and_list(store, now):
    router = add_router("hq", "192.168.88.1", "a-long-secret", api_user="api", api_password="pw", now=now)
    assert (router.nas_ip, router.coa_port, router.require_message_authenticator) == ("192.168.88.1", 3799, None)
    add_router("annex", "annex.lan", "another-secret", nas_ip="10.0.0.2", coa_port=1700,
               require_message_authenticator=False, now=now)
    listed = list_routers()
    assert [r["name"] for r in listed] == ["hq", "annex"]
    assert "secret" not in listed[0] and "api_password" not in listed[0]
    assert listed[1]["require_message_authenticator"] is False


@pytest.mark.parametrize("kwargs", [
    {"name": "x", "host": "annex.lan", "secret": "long-enough"},  # no IP for the NAS address
    {"name": "x", "host": "10.0.0.9", "secret": "short"},
    {"name": "", "host": "10.0.0.9", "secret": "long-enough"},
    {"name": "x", "host": "10.0.0.9", "secret": "long-enough", "coa_port": 0},
])
def test_refuses_bad_input(store, now, kwargs):
    with pytest.raises(InvalidInput):
        add_router(now=now, **kwargs)


def test_refuses_duplicates(store, now):
    add_router("hq", "10.0.0.1", "a-long-secret", now=now)
    with pytest.raises(Conflict):
        add_router("hq", "10.0.0.2", "a-long-secret", now=now)
    with pytest.raises(Conflict):
        add_router("other", "10.0.0.1", "a-long-secret", now=now)
