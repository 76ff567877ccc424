"""For the tests of issue 17: a config whose M-Pesa API user (initiator) is the Daraja
simulator's, the portal app served over real HTTP on loopback (so that the simulator's
asynchronous results reach it as they would reach a site), and a real site's settings for
all of it (Pull, the initiator, SMS)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any, Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from hotspotd.customer.checkout import Checkout
from hotspotd.mpesa.client import DarajaClient
from hotspotd.plumbing.runtime import Runtime
from hotspotd.web.portal import make_app

from .loopback import Served


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class ServedApp(Served):
    """A WSGI app on 127.0.0.1 in a thread; `url` reaches it."""

    def __init__(self, app) -> None:
        super().__init__(_Quiet, server_class=_Threading)
        self.server.set_app(app)


def with_initiator(config, sim, folder: Path) -> None:
    """Point `config` at the simulator, with its API user and certificate."""
    config.mpesa.base_url = sim.url
    config.mpesa.initiator = sim.initiator.initiator
    config.mpesa.initiator_password = sim.initiator.password
    config.mpesa.certificate = str(sim.initiator.write_certificate(folder / "daraja.cer"))


@contextmanager
def served_portal(config, sim, folder: Path) -> Iterator[tuple[Runtime, ServedApp]]:
    """The portal app over `config` (with the simulator's API user), served; Daraja's results
    come back to it (`[mpesa] callback_url`)."""
    with_initiator(config, sim, folder)
    client = DarajaClient(sim.url, "sim-key", "sim-secret", config.mpesa.shortcode, config.mpesa.passkey, timeout=5)
    runtime = Runtime(config, daraja=client)
    checkout = Checkout(runtime)
    app = make_app(config, checkout)
    served = ServedApp(app)
    config.mpesa.callback_url = served.url
    try:
        yield runtime, served
    finally:
        served.close()
        app.config["hotspotd.portal"].cases.close()
        checkout.close()
        runtime.close()


def site_settings(folder: Path, daraja, sms, pull_interval: str = "1") -> dict[str, dict[str, Any]]:
    """The sections of a real site (tests.e2e.site.Site) with Pull, the API user and texts,
    all pointed at the simulators."""
    certificate = daraja.initiator.write_certificate(folder / "daraja.cer")
    return {"mpesa": {"paybill": daraja.shortcode, "pull_interval": pull_interval,
                      "initiator": daraja.initiator.initiator, "initiator_password": daraja.initiator.password,
                      "certificate": str(certificate)},
            "sms": {"provider": "africastalking", "base_url": sms.url, "username": sms.username, "api_key": sms.api_key}}
