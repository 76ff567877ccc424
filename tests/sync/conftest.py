"""A real receiver (the central role's waitress server) on loopback, on SQLite and on
PostgreSQL, and a box (the test's site store) registered with it."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from hotspotd import config as config_mod
from hotspotd.central.sites import add_site
from hotspotd.store.db import utcnow
from hotspotd.sync.client import CentralClient
from hotspotd.web.central import CentralRole

from ..loopback import free_port


@dataclass
class Running:
    role: CentralRole
    thread: threading.Thread
    url: str
    stopped: bool = False

    @property
    def store(self):
        return self.role.store

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            stop_receiver(self.role, self.thread)


def start_receiver(tmp_path, database: str, port: int | None = None) -> tuple[CentralRole, threading.Thread]:
    port = port or free_port()
    config = config_mod.load(None, overrides={"site": {"state_dir": str(tmp_path / "central-state")},
                                              "receiver": {"listen": f"127.0.0.1:{port}", "database": database}})
    role = CentralRole(config)
    role.start()
    thread = threading.Thread(target=role.serve, name="receiver", daemon=True)
    thread.start()
    return role, thread


def stop_receiver(role: CentralRole, thread: threading.Thread) -> None:
    role.stop()
    thread.join(15)
    role.close()


@pytest.fixture
def central(receiver_url, tmp_path):
    role, thread = start_receiver(tmp_path, receiver_url)
    running = Running(role, thread, f"http://127.0.0.1:{role.server.effective_port}")
    yield running
    running.stop()


@pytest.fixture
def box(central, config, store):
    """The test's site, registered at the receiver; `box.client` talks to it."""
    registration = add_site(central.store, "Test Site", utcnow())
    config.central.url = central.url
    config.central.site_id = registration.site_id
    config.central.site_key = registration.site_key
    config.central.timeout = 5
    config.central.allow_insecure = True  # the receiver on loopback speaks plain HTTP
    client = CentralClient(central.url, registration.site_id, registration.site_key, timeout=5, allow_insecure=True)
    yield Box(config, client, registration.site_id)
    client.close()


@dataclass
class Box:
    config: object
    client: CentralClient
    site_id: str
