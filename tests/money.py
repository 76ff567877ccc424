"""For the tests of issue 17 in-process: a config whose M-Pesa API user (initiator) is the
Daraja simulator's, and the portal app served over real HTTP on loopback, so that the
simulator's asynchronous results reach it as they would reach a site."""

from __future__ import annotations

import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from hotspotd.mpesa.client import DarajaClient
from hotspotd.plumbing.runtime import Runtime


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class ServedApp:
    """A WSGI app on 127.0.0.1 in a thread; `url` reaches it."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, server_class=_Threading, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


def with_initiator(config, sim, folder: Path) -> None:
    """Point `config` at the simulator, with its API user and certificate."""
    config.mpesa.base_url = sim.url
    config.mpesa.initiator = sim.initiator.initiator
    config.mpesa.initiator_password = sim.initiator.password
    config.mpesa.certificate = str(sim.initiator.write_certificate(folder / "daraja.cer"))


def runtime_for(config, sim) -> Runtime:
    client = DarajaClient(sim.url, "sim-key", "sim-secret", config.mpesa.shortcode, config.mpesa.passkey, timeout=5)
    return Runtime(config, daraja=client)
