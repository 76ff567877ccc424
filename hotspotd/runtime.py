"""What a running role holds: its config and the clients built from it, made once.

Tasks run in the worker, far from the code that loaded the config; they find it here.
Tests and roles call `configure(config)` first.
"""

from __future__ import annotations

import threading

from .config import Config
from .errors import HotspotdError

_config: Config | None = None
_daraja = None
_lock = threading.Lock()


def configure(config: Config) -> None:
    global _config, _daraja
    _config, _daraja = config, None


def config() -> Config:
    if _config is None:
        raise HotspotdError("runtime not configured: call hotspotd.runtime.configure(config) first")
    return _config


def daraja():
    """The Daraja client for this process (one token cache per process)."""
    global _daraja
    with _lock:
        if _daraja is None:
            from .mpesa.client import DarajaClient

            m = config().mpesa
            _daraja = DarajaClient(m.base_url, m.consumer_key, m.consumer_secret, m.shortcode, m.passkey,
                                   transaction_type=m.transaction_type, party_b=config().mpesa_party_b,
                                   timeout=m.timeout, tz=config().site.timezone)
        return _daraja
