"""Fixtures for the router tests: the RouterOS simulator, and a site that knows it."""

from __future__ import annotations

import pytest

from hotspotd.router import add_router
from hotspotd.sim.routeros import RouterOSSimulator
from hotspotd.store.models import Package

PASSWORD = "api-pass"


@pytest.fixture
def routeros():
    """One simulated router (RouterOS 7) on loopback; stopped afterwards."""
    with RouterOSSimulator(password=PASSWORD) as sim:
        yield sim


@pytest.fixture
def make_routeros():
    started = []

    def make(**kwargs) -> RouterOSSimulator:
        kwargs.setdefault("password", PASSWORD)
        sim = RouterOSSimulator(**kwargs).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


def register(sim: RouterOSSimulator, name: str = "gate", mode: str = "api", nas_ip: str = "127.0.0.1", now=None):
    return add_router(name, "127.0.0.1", "radius-secret-123", nas_ip, api_port=sim.port, api_user="admin",
                      api_password=PASSWORD, mode=mode, now=now)


@pytest.fixture
def hour(store, now):
    return Package.create(name="1 hour", price=10, duration_s=3600, rate_limit="2M/5M", devices=2, created_at=now)


@pytest.fixture
def capped(store, now):
    return Package.create(name="1 GB day", price=50, duration_s=86400, rate_limit="3M/6M", data_limit=10**9,
                          devices=1, created_at=now)
