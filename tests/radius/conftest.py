"""Fixtures for the RADIUS tests: a site with one router, packages and customers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hotspotd.router import add_router

from ..loopback import free_port
from ..loopback import wait_for  # noqa: F401 (the radius tests import it from here)
from hotspotd.store.models import Credential, Customer, Package, Subscription

SECRET = "testing123-secret"


def make_customer(now: datetime, username: str, password: str, *, package: Package, phone: str | None = None,
                  starts: timedelta = timedelta(hours=-1), ends: timedelta = timedelta(hours=1),
                  data_limit: int | None = None, bytes_used: int = 0, mac: str | None = None,
                  status: str = "active") -> Subscription:
    customer = Customer.create(phone=phone, created_at=now)
    Credential.create(customer=customer, username=username, password=password, created_at=now)
    return Subscription.create(customer=customer, package=package, status=status, starts_at=now + starts,
                               ends_at=now + ends, data_limit=data_limit, bytes_used=bytes_used, mac=mac,
                               created_at=now, updated_at=now)


@pytest.fixture
def site(store, now):
    """One router at 127.0.0.1, a 1-hour package, and customers in every state."""
    router = add_router("hq", "127.0.0.1", SECRET, now=now)
    hour = Package.create(name="1 hour", price=20, duration_s=3600, rate_limit="2M/5M", devices=1, created_at=now)
    capped = Package.create(name="1 GB", price=50, duration_s=86400, rate_limit="", data_limit=5 << 30, devices=2,
                            created_at=now)
    subs = {
        "alice": make_customer(now, "alice", "alice-pw", package=hour, mac="AA:BB:CC:00:00:01"),
        "bob": make_customer(now, "bob", "bob-pw", package=hour, ends=timedelta(minutes=-5)),
        "carol": make_customer(now, "carol", "carol-pw", package=capped, data_limit=5 << 30, bytes_used=1 << 30,
                               ends=timedelta(days=1)),
        "dave": make_customer(now, "dave", "dave-pw", package=capped, data_limit=1000, bytes_used=1000),
    }
    return {"router": router, "hour": hour, "capped": capped, "subs": subs}


def write_config(config, path: Path, **radius) -> Path:
    udp = socket.SOCK_DGRAM
    values = {"listen": "127.0.0.1", "auth_port": free_port(udp), "acct_port": free_port(udp), "processes": 1,
              "sweep_interval": 1, **radius}
    mpesa = {key: getattr(config.mpesa, key) for key in ("base_url", "consumer_key", "consumer_secret", "passkey",
                                                         "callback_token")}  # a site `run --role` accepts
    lines = (["[site]", f"state_dir = {config.state_dir}", "[radius]"] + [f"{k} = {v}" for k, v in values.items()]
             + ["[mpesa]"] + [f"{k} = {v}" for k, v in mpesa.items()])
    path.write_text("\n".join(lines) + "\n")
    return path


class RadiusProcess:
    """The radius role as a real subprocess (hotspotd run --role radius)."""

    def __init__(self, config_path: Path, auth_port: int, acct_port: int, log_path: Path) -> None:
        self.auth_port, self.acct_port, self.log_path = auth_port, acct_port, log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "hotspotd", "--config", str(config_path), "run", "--role",
                                      "radius"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ})
        wait_for(lambda: b"radius serving" in log_path.read_bytes() or self.proc.poll() is not None,
                 what="radius role to start")
        assert self.proc.poll() is None, log_path.read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.log.close()


@pytest.fixture
def radius_role(config, site, tmp_path):
    """Start the role against the `site` store; yields the RadiusProcess."""
    from hotspotd.store.db import db
    db.close()  # the role opens the database itself; the test reopens lazily when it reads
    import configparser
    path = write_config(config, tmp_path / "hotspotd.ini")
    parser = configparser.ConfigParser()
    parser.read(path)
    role = RadiusProcess(path, int(parser["radius"]["auth_port"]), int(parser["radius"]["acct_port"]),
                         tmp_path / "radius.log")
    yield role
    code = role.stop()
    assert code == 0, role.log_path.read_text()
