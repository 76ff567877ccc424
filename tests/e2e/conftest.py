import pytest

from hotspotd import config as config_mod
from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.plumbing.processes import BACK_OFFICE
from hotspotd.store.db import db, open_database

from .site import Site


@pytest.fixture(scope="module")
def daraja():
    """One simulator for the module's site; `_fresh_daraja` resets its settings after each test."""
    with DarajaSimulator(callback_delay=0.3) as sim:
        yield sim


@pytest.fixture(autouse=True)
def _fresh_daraja(request):
    """A test that changes the module's simulator (an outcome, duplicate_count, a queued
    failure, a stall) leaves it as it was made, so no test depends on the order they run in."""
    if "daraja" not in request.fixturenames:
        yield
        return
    sim = request.getfixturevalue("daraja")
    yield
    sim.reset()


@pytest.fixture(scope="module")
def site(tmp_path_factory, daraja):
    site = Site(tmp_path_factory.mktemp("site"), daraja.url)
    site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h", "--rate", "2M/5M")
    site.start("portal")
    site.start(BACK_OFFICE)  # the console and the worker in one process, as a site runs them
    config = config_mod.load(site.config_path)
    open_database(config.app_db_path)  # the test reads the same database the roles write
    yield site
    site.stop()
    db.close()
