"""Who is asking: the device behind an address, from the routers' hotspot host tables.

The portal knows a request's own address; the router whose hotspot the device is on knows
its MAC (`/ip/hotspot/host`: `address` -> `mac-address`, docs/protocols.md §2.7).
`HostFinder.lookup(address)` asks every router of the site that has an API login, all at
once, through the pooled connections: `?address=` first, then `?to-address=` (the address
after the hotspot's translation, which a box beside the router may see instead).

Three answers, kept apart because they mean different things to the portal:
- `found`: a router's hotspot sees the device (which router, MAC, addresses, authorized);
- `unknown`: every router was asked and none sees that address (not a hotspot device,
  or one reached through a router's masquerade: `router_address` then names the router);
- `could_not_ask`: no router has an API login, or one that might see it did not answer
  in time (`wait`, the connect timeout): the portal treats the request as unverified.

A found device is remembered `ttl` seconds (a device keeps its address for a while) and an
unknown address `unknown_ttl` (a burst from one stranger asks the routers once); a miss
asks again, and `fresh=True` skips the memory (before telling a customer they are online).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor, wait as wait_for
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Callable, ContextManager

from ..errors import HotspotdError, InvalidInput
from ..mac import normalize_mac
from ..store.models import Router
from .api import RouterApi, Target, same
from .records import target

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

log = logging.getLogger(__name__)

HOSTS = "/ip/hotspot/host"
FIELDS = ("mac-address", "address", "to-address", "server", "authorized", "bypassed")
Session = Callable[[Target], ContextManager[RouterApi]]


class Outcome(StrEnum):
    FOUND = "found"
    UNKNOWN = "unknown"
    COULD_NOT_ASK = "could_not_ask"


@dataclass(frozen=True)
class Device:
    """A device as a router's hotspot sees it."""

    mac: str  # AA:BB:CC:DD:EE:FF
    address: str  # the device's own address (what the login page calls $(ip))
    to_address: str  # after the hotspot's translation; usually the same
    router_id: int
    router: str  # the router's name
    server: str  # the hotspot server on that router
    authorized: bool  # logged in at the hotspot now
    bypassed: bool  # let through by an IP binding, without logging in


@dataclass(frozen=True)
class HostLookup:
    """The answer about one address; `device` is set only when `outcome` is found."""

    address: str
    outcome: Outcome
    device: Device | None = None
    asked: tuple[str, ...] = ()  # routers that answered
    failed: tuple[str, ...] = ()  # "router: why" for each router that could not be asked
    router_address: str | None = None  # the name of the router whose own address this is

    @property
    def found(self) -> bool:
        return self.outcome == Outcome.FOUND


@dataclass(frozen=True)
class SiteRouter:
    """A router as the lookup needs it: how to reach its API (None: no API login) and its
    own addresses (API host, NAS address)."""

    id: int
    name: str
    target: Target | None
    addresses: frozenset[str] = field(default_factory=frozenset)


def site_routers() -> list[SiteRouter]:
    """Every router of the site, from the store (in id order)."""
    return [SiteRouter(r.id, r.name, target(r) if r.api_user else None, frozenset({r.host, r.nas_ip}))
            for r in Router.select().order_by(Router.id)]


def _address(value: str) -> str:
    try:
        parsed = ipaddress.ip_address(str(value).strip().split("%")[0])
    except ValueError:
        raise InvalidInput(f"not an IP address: {value!r}") from None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:  # ::ffff:10.5.50.7 from a dual stack
        parsed = parsed.ipv4_mapped
    return str(parsed)


def _device(row: dict[str, str], router: SiteRouter) -> Device | None:
    mac = normalize_mac(row.get("mac-address"))
    if mac is None:
        return None
    return Device(mac, row.get("address", ""), row.get("to-address") or row.get("address", ""), router.id,
                  router.name, row.get("server", ""), same(row.get("authorized", "false"), True),
                  same(row.get("bypassed", "false"), True))


def ask_router(session: Session, router: SiteRouter, address: str) -> Device | None:
    """Ask one router's host table about `address` (by address, then by translated address)."""
    with session(router.target) as api:
        for key in ("address", "to-address"):
            rows = api.print(HOSTS, where={key: address}, proplist=FIELDS)
            devices = [d for d in (_device(row, router) for row in rows) if d is not None]
            if devices:
                return max(devices, key=lambda d: d.authorized)  # a logged-in host before a stale one
    return None


class HostFinder:
    """Finds the device behind an address at the site's routers; one per process (it keeps
    the answers and the threads that ask). Thread-safe."""

    def __init__(self, session: Session, routers: Callable[[], list[SiteRouter]] = site_routers, *, wait: float,
                 ttl: float = 5.0, unknown_ttl: float = 1.0, per_router: int = 4, workers: int = 32,
                 remember: int = 4096, clock: Callable[[], float] = time.monotonic) -> None:
        self._session = session
        self._routers = routers
        self.wait = wait
        self.ttl = ttl
        self.unknown_ttl = unknown_ttl
        self.per_router = per_router  # questions waiting at one router before it counts as busy
        self._clock = clock
        self._remember = remember
        self._known: OrderedDict[str, tuple[float, HostLookup]] = OrderedDict()
        self._waiting: dict[int, int] = {}
        self._site: tuple[float, list[SiteRouter]] = (float("-inf"), [])
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="host-lookup")
        self.asked = 0  # questions sent to routers, for tests and benchmarks

    @classmethod
    def for_runtime(cls, rt: Runtime, **kwargs) -> HostFinder:
        """Over the runtime's pooled connections, waiting at most the connect timeout."""
        kwargs.setdefault("wait", rt.config.routers.connect_timeout)
        kwargs.setdefault("per_router", rt.config.routers.connections)
        return cls(rt.routers.session, **kwargs)

    def lookup(self, address: str, *, fresh: bool = False) -> HostLookup:
        """Which device is at `address` (the request's own), as the routers see it now."""
        address = _address(address)
        now = self._clock()
        if not fresh:
            with self._lock:
                kept = self._known.get(address)
                if kept is not None and kept[0] > now:
                    return kept[1]
        answer = self._ask_all(address)
        keep = {Outcome.FOUND: self.ttl, Outcome.UNKNOWN: self.unknown_ttl}.get(answer.outcome, 0.0)
        with self._lock:
            self._known.pop(address, None)
            if keep > 0:
                self._known[address] = (self._clock() + keep, answer)
                while len(self._known) > self._remember:
                    self._known.popitem(last=False)
        return answer

    def forget(self, address: str | None = None) -> None:
        """Drop what is remembered about one address (or every one, and the router list)."""
        with self._lock:
            if address is None:
                self._known.clear()
                self._site = (float("-inf"), [])
            else:
                self._known.pop(_address(address), None)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _site_routers(self) -> list[SiteRouter]:
        """The routers, read again every `ttl` seconds (an edited router counts soon)."""
        now = self._clock()
        with self._lock:
            until, routers = self._site
        if until <= now:
            routers = self._routers()
            with self._lock:
                self._site = (now + self.ttl, routers)
        return routers

    def _ask_all(self, address: str) -> HostLookup:
        routers = self._site_routers()
        own = next((r.name for r in routers if address in r.addresses), None)
        with_api = [r for r in routers if r.target is not None]
        if not with_api:
            why = "no router has an API login" if routers else "no router recorded"
            return HostLookup(address, Outcome.COULD_NOT_ASK, failed=(why,), router_address=own)
        futures: dict[Future, SiteRouter] = {}
        failed: list[str] = []
        for router in with_api:
            future = self._submit(router, address)
            if future is None:
                failed.append(f"{router.name}: {self.per_router} questions already waiting for it")
            else:
                futures[future] = router
        done, late = wait_for(futures, timeout=self.wait)
        found: list[Device] = []
        asked: list[str] = []
        for future in late:
            future.cancel()  # not started yet: never sent; started: ends with its own timeout
            failed.append(f"{futures[future].name}: no answer within {self.wait:g} s")
        for future in done:
            router = futures[future]
            try:
                device = future.result()
            except HotspotdError as exc:
                failed.append(f"{router.name}: {exc}")
                continue
            asked.append(router.name)
            if device is not None:
                found.append(device)
        order = [r.name for r in with_api]
        asked.sort(key=order.index)
        if found:
            found.sort(key=lambda d: (not d.authorized, order.index(d.router)))
            if len(found) > 1:
                log.warning("%d routers see %s (%s); taking %s", len(found), address,
                            ", ".join(d.router for d in found), found[0].router)
            return HostLookup(address, Outcome.FOUND, found[0], tuple(asked), tuple(failed), own)
        if failed:
            log.info("could not ask every router about %s: %s", address, "; ".join(failed))
            return HostLookup(address, Outcome.COULD_NOT_ASK, None, tuple(asked), tuple(failed), own)
        return HostLookup(address, Outcome.UNKNOWN, None, tuple(asked), (), own)

    def _submit(self, router: SiteRouter, address: str) -> Future | None:
        with self._lock:
            if self._waiting.get(router.id, 0) >= self.per_router:
                return None  # a silent router holds its questions: do not queue more behind them
            self._waiting[router.id] = self._waiting.get(router.id, 0) + 1
            self.asked += 1

        def ask() -> Device | None:
            try:
                return ask_router(self._session, router, address)
            finally:
                with self._lock:
                    self._waiting[router.id] -= 1

        def cancelled(future: Future) -> None:
            if future.cancelled():  # it never ran `ask`, so it never counted itself out
                with self._lock:
                    self._waiting[router.id] -= 1

        future = self._pool.submit(ask)
        future.add_done_callback(cancelled)
        return future
