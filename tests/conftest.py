"""Small composable fixtures: a config in a temporary folder, a migrated store, a clock.

`--quick` (what `./scripts/test --quick` passes) keeps only the tests that need no real
processes or browser (`e2e`), no PostgreSQL server and no system tool: the fast tier.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hotspotd import config as config_mod
from hotspotd.plumbing.runtime import Runtime
from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.sim.sms import SmsSimulator
from hotspotd.store import init_store
from hotspotd.store.db import db

CALLBACK_TOKEN = "test-token-0123456789abcdef"


def pytest_addoption(parser):
    parser.addoption("--quick", action="store_true",
                     help="the fast tier: no e2e (real processes, browser, system tools), no PostgreSQL")


def _needs_more_than_python(item) -> bool:
    if item.get_closest_marker("e2e") or item.get_closest_marker("tools"):
        return True
    params = getattr(getattr(item, "callspec", None), "params", {})
    return "postgres" in item.fixturenames or params.get("receiver_url") == "postgresql"


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--quick"):
        return
    slow = [item for item in items if _needs_more_than_python(item)]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not _needs_more_than_python(item)]


@pytest.fixture
def config(tmp_path):
    return config_mod.load(None, overrides={
        # The clock is believed when it is not behind the last known-good time: a test box
        # need not run NTP (tests/plumbing/test_clock.py covers the rest).
        "site": {"state_dir": str(tmp_path / "state"), "require_ntp": "no"},
        "mpesa": {
            "base_url": "http://127.0.0.1:9",  # never the real Daraja: nothing listens here
            "callback_url": "http://127.0.0.1:9",  # simulated callbacks go nowhere unless a test says
            "consumer_key": "sim-key", "consumer_secret": "sim-secret",
            "passkey": "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919",
            "callback_token": CALLBACK_TOKEN,
        },
        "queue": {"mode": "immediate"},
    })


@pytest.fixture
def store(config):
    init_store(config)
    yield db
    db.close()


@pytest.fixture
def runtime(store, config):
    """The shared things of a process over the test's store (queue in immediate mode)."""
    rt = Runtime(config)
    yield rt
    rt.close()


@pytest.fixture
def checkout(runtime):
    """The customer use cases over the test's store (its callback writer is stopped after)."""
    from hotspotd.customer.checkout import Checkout

    checkout = Checkout(runtime)
    yield checkout
    checkout.close()


@pytest.fixture
def now():
    return datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def make_sim():
    """Start Daraja simulators with the given settings; all are stopped afterwards."""
    started = []

    def make(**kwargs) -> DarajaSimulator:
        sim = DarajaSimulator(**kwargs).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def make_sms():
    """Start Africa's Talking simulators with the given settings; all are stopped afterwards."""
    started = []

    def make(**kwargs) -> SmsSimulator:
        sim = SmsSimulator(**kwargs).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (tests/pgserver.py); a test that needs it
    fails, not skips, when it cannot start."""
    from .pgserver import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def receiver_url(request, tmp_path):
    """The central receiver's database: every test that asks for it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central' / 'central.db'}"
    return request.getfixturevalue("postgres").new_database()
