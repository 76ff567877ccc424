"""Fixtures for home subscribers: a PPPoE plan, a hotspot package beside it, a router."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hotspotd.billing.packages import add_package
from hotspotd.console.audit import COMMAND_LINE
from hotspotd.pppoe.subscribers import add_subscriber
from hotspotd.router import add_router

SECRET = "testing123-secret"


@pytest.fixture
def plan(store, now):
    return add_package(name="Home 5M", price=1500, duration="30d", rate="5M/5M", now=now, service="pppoe")


@pytest.fixture
def hotspot_package(store, now):
    return add_package(name="1 hour", price=20, duration="1h", rate="2M/5M", now=now)


@pytest.fixture
def router(store, now):
    return add_router("gate", "127.0.0.1", SECRET, now=now)


@pytest.fixture
def subscribe(plan, now):
    """Add a subscriber on the plan (paid `days` ahead unless told otherwise)."""
    def make(name="Wanjiku Kamau", *, days: float | None = 10, **kw):
        end = now + timedelta(days=days) if days is not None else None
        kw.setdefault("phone", "0712345678")
        return add_subscriber(name=name, package_id=plan.id, now=now, by=COMMAND_LINE, period_end=end, **kw)
    return make
