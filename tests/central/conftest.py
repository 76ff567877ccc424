"""The receiver's store on SQLite and on a real PostgreSQL server: every test that asks for
`receiver_url` runs on both."""

from __future__ import annotations

import pytest

from hotspotd.central.receiver import Receiver
from hotspotd.central.store import open_central_store

from ..pgserver import PostgresServer


@pytest.fixture(scope="session")
def postgres():
    server = PostgresServer().start()  # raises (the test fails) when PostgreSQL cannot start
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def receiver_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central' / 'central.db'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def central_store(receiver_url):
    store = open_central_store(receiver_url)
    yield store
    store.close()


@pytest.fixture
def receiver(central_store, config):
    return Receiver(central_store, config)
