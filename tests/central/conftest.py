"""The receiver's store, on SQLite and on a real PostgreSQL server (`receiver_url`, tests/conftest.py)."""

from __future__ import annotations

import pytest

from hotspotd.central.receiver import Receiver
from hotspotd.central.store import open_central_store


@pytest.fixture
def central_store(receiver_url):
    store = open_central_store(receiver_url)
    yield store
    store.close()


@pytest.fixture
def receiver(central_store, config):
    return Receiver(central_store, config)
