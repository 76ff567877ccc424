"""Devices: who is asking (a device as the network knows it, or only as it claims to be),
and blocked devices (a MAC that may not pay, redeem a voucher or log in at this site).

Who is asking: the portal resolves every request, once, at its edge, into an `Asker`
(`hotspotd.customer.identity`): the request's own address, and the MAC a router says is
behind it (its hotspot host table, or the open RADIUS session at that address). The `mac`
and `ip` a request carries are MikroTik's login-page variables, which the browser can
edit: they are hints, kept only when nothing better is known, and never believed for
anything that shows, extends or logs out an account.

Blocked devices:
The central operator blocks and unblocks devices (`devices.block` in docs/sync.md); the
portal's use cases refuse a blocked device, and the RADIUS view holds the set, so a
blocked device is rejected at the router whichever way it got its credentials. Blocking
also asks for the device's open sessions to be disconnected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from . import sessions
from .errors import Conflict, Forbidden, InvalidInput
from .mac import normalize_mac
from .store.db import write_transaction
from .store.models import BlockedDevice, Session

BLOCKED_MESSAGE = "This device is blocked at this hotspot; please ask the attendant"
BLOCKED_REASON = "device blocked"
UNVERIFIED = "We could not confirm this device; please ask the attendant"
CLAIM_REFUSED = "This page was opened for another device; reconnect to the WiFi and open it again"


@dataclass(frozen=True)
class Asker:
    """Who is asking: what the network says of the device behind a request.

    `verified`: a router named the MAC (`how`: "host table" or "accounting"); otherwise
    `mac`/`ip` are the request's claims, kept as hints (`how` is ""). `via_router`: the
    request arrived from a router's own address (its masquerade or web proxy), so the
    address says nothing about which device sent it.
    """

    address: str | None  # the request's own address
    mac: str | None = None  # AA:BB:CC:DD:EE:FF
    ip: str | None = None  # the device's address on the hotspot (the login page's $(ip))
    verified: bool = False
    how: str = ""
    router: str | None = None  # the router that said so
    via_router: str | None = None  # the router whose own address the request came from

    @property
    def key(self) -> str | None:
        """What this device is known by when no MAC is known: its address."""
        return self.mac or self.ip or self.address

    def confirmed(self) -> Asker:
        """This asker, when a router confirmed it; Forbidden (in the customer's words) otherwise."""
        if not self.verified:
            raise Forbidden(UNVERIFIED)
        return self

    def is_(self, mac: str | None) -> bool:
        """A verified device with this MAC."""
        return self.verified and bool(mac) and self.mac == normalize_mac(mac)


def claimed(mac: str | None = None, ip: str | None = None, address: str | None = None) -> Asker:
    """A device known only by what its request says (tests, and a portal no router can
    vouch for); an ill-formed MAC is refused."""
    return Asker(address=address or ip, mac=_mac(mac), ip=ip or address)


def verified(mac: str, ip: str | None = None, *, address: str | None = None, how: str = "host table",
             router: str | None = None) -> Asker:
    """A device a router confirmed."""
    return Asker(address=address or ip, mac=_mac(mac), ip=ip or address, verified=True, how=how, router=router)


def _mac(value: str | None) -> str | None:
    if not value:
        return None
    mac = normalize_mac(value)
    if mac is None:
        raise InvalidInput("mac is not a device address")
    return mac


def refuse_blocked(mac: str | None) -> None:
    """Raise Conflict when `mac` is blocked (nothing to check without a MAC)."""
    mac = normalize_mac(mac)
    if mac and BlockedDevice.select().where(BlockedDevice.mac == mac).exists():
        raise Conflict(BLOCKED_MESSAGE)


def blocked_macs() -> set[str]:
    return {row.mac for row in BlockedDevice.select(BlockedDevice.mac)}


def block(macs: Iterable[str], reason: str, now: datetime, *, source: str = "local") -> list[int]:
    """Block devices (again: the reason is updated) and ask for their open sessions to be
    cut off; returns those sessions."""
    clean = sorted({m for m in (normalize_mac(mac) for mac in macs) if m})
    with write_transaction():
        for mac in clean:
            BlockedDevice.insert(mac=mac, reason=reason, source=source, blocked_at=now).on_conflict(
                conflict_target=[BlockedDevice.mac],
                update={BlockedDevice.reason: reason, BlockedDevice.source: source}).execute()
        open_sessions = [s.id for s in Session.select(Session.id).where(
            (Session.mac.in_(clean)) & (Session.status == sessions.SessionStatus.OPEN))]
        return [sid for sid in open_sessions if sessions.request_disconnect(sid, BLOCKED_REASON, now)]


def unblock(macs: Iterable[str]) -> int:
    clean = [m for m in (normalize_mac(mac) for mac in macs) if m]
    with write_transaction():
        return BlockedDevice.delete().where(BlockedDevice.mac.in_(clean)).execute()
