import pytest

from hotspotd import config as config_mod
from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.store.db import db, open_database

from .site import Site


@pytest.fixture(scope="module")
def daraja():
    with DarajaSimulator(callback_delay=0.3) as sim:
        yield sim


@pytest.fixture(scope="module")
def site(tmp_path_factory, daraja):
    site = Site(tmp_path_factory.mktemp("site"), daraja.url)
    site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h", "--rate", "2M/5M")
    site.start("portal")
    site.start("worker")
    config = config_mod.load(site.config_path)
    open_database(config.app_db_path)  # the test reads the same database the roles write
    yield site
    site.stop()
    db.close()
