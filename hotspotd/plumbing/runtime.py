"""What one process shares: its config, the open store, the task queue, and the clients built
from the config (Daraja; the routers' API connections).

Every role, the command line and the tests build one `Runtime` and hand it to what needs
it (the checkout, the tasks, the apps), instead of reaching for module globals. Clients are
made on first use, so a role that never talks to Daraja never builds a client.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..config import Config
from ..store import open_store
from ..store.db import db

if TYPE_CHECKING:
    from ..mpesa.client import DarajaClient
    from .clock import SiteClock
    from ..mpesa.initiator import InitiatorClient
    from ..sms.outbox import Gateway
    from .queue import Queue
    from ..router.pool import RouterClients
    from ..sync.client import CentralClient


class Runtime:
    """The shared things of one process. `open()` also opens the store; the constructor
    alone does not (tests open theirs first)."""

    def __init__(self, config: Config, *, daraja: DarajaClient | None = None, queue: Queue | None = None,
                 site_clock: SiteClock | None = None) -> None:
        self.config = config
        self._daraja = daraja
        self._queue = queue
        self._routers: RouterClients | None = None
        self._central: CentralClient | None = None
        self._clock = site_clock
        self._initiator: InitiatorClient | None = None
        self._sms: Gateway | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, config: Config) -> Runtime:
        """Open the app database (refusing one `init` has not migrated) and return the runtime."""
        open_store(config)
        return cls(config)

    @property
    def queue(self) -> Queue:
        """The task queue of this site, with every task bound (made on first use)."""
        with self._lock:
            if self._queue is None:
                from . import tasks
                from .queue import Queue

                config = self.config
                self._queue = Queue(config.queue_db_path, tasks.ALL, self, default_mode=config.queue.mode,
                                    fsync=config.store.synchronous == "full")
            return self._queue

    @property
    def daraja(self) -> DarajaClient:
        """The Daraja client of this process (one token cache per process)."""
        with self._lock:
            if self._daraja is None:
                from ..mpesa.client import DarajaClient

                m = self.config.mpesa
                self._daraja = DarajaClient(m.base_url, m.consumer_key, m.consumer_secret, m.shortcode, m.passkey,
                                            transaction_type=m.transaction_type, party_b=self.config.mpesa_party_b,
                                            timeout=m.timeout, tz=self.config.site.timezone,
                                            on_date=self.site_clock.witness)
            return self._daraja

    @property
    def site_clock(self) -> SiteClock:
        """Whether the clock may be sold on, and its steps noticed (`plumbing.clock`)."""
        if self._clock is None:  # no lock: `daraja` asks for it while holding it
            from .clock import SiteClock

            self._clock = SiteClock(require_ntp=self.config.site.require_ntp)
        return self._clock

    @property
    def initiator(self) -> InitiatorClient:
        """Transaction Status and Reversal as the configured API user (ConfigError when
        `[mpesa] initiator`, `initiator_password` and `certificate` are not all set)."""
        daraja = self.daraja
        with self._lock:
            if self._initiator is None:
                from ..errors import ConfigError
                from ..mpesa.initiator import InitiatorClient

                m = self.config.mpesa
                if not self.config.initiator_enabled:
                    raise ConfigError("[mpesa] initiator, initiator_password and certificate are not set")
                self._initiator = InitiatorClient.from_files(daraja, m.initiator, m.initiator_password, m.certificate,
                                                             short_code=m.paybill or m.shortcode)
            return self._initiator

    @property
    def sms(self) -> Gateway | None:
        """The SMS gateway (`[sms] provider`), or None when texts are off."""
        with self._lock:
            if self._sms is None and self.config.sms.provider:
                from ..sms.outbox import Gateway

                self._sms = Gateway.from_config(self.config)
            return self._sms

    @property
    def routers(self) -> RouterClients:
        """The routers' API connections of this process (librouteros is imported on first use)."""
        with self._lock:
            if self._routers is None:
                from functools import partial

                from ..router.client import connect
                from ..router.pool import RouterClients

                r = self.config.routers
                self._routers = RouterClients(partial(connect, connect_timeout=r.connect_timeout, timeout=r.timeout),
                                              per_router=r.connections)
            return self._routers

    @property
    def central(self) -> CentralClient:
        """The client for the central receiver (`[central] url`), made on first use."""
        with self._lock:
            if self._central is None:
                from ..sync.client import CentralClient

                c = self.config.central
                self._central = CentralClient(c.url, c.site_id, c.site_key, timeout=c.timeout,
                                              allow_insecure=c.allow_insecure)
            return self._central

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the clients and this thread's database connection."""
        with self._lock:
            if self._daraja is not None:
                self._daraja.close()
                self._daraja = None
            if self._routers is not None:
                self._routers.close()
                self._routers = None
            if self._central is not None:
                self._central.close()
                self._central = None
            if self._sms is not None:
                self._sms.close()
                self._sms = None
            self._initiator = None
        if not db.is_closed():
            db.close()
