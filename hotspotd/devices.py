"""Blocked devices: a MAC that may not pay, redeem a voucher or log in at this site.

The central operator blocks and unblocks devices (`devices.block` in docs/sync.md); the
portal's use cases refuse a blocked device, and the RADIUS view holds the set, so a
blocked device is rejected at the router whichever way it got its credentials. Blocking
also asks for the device's open sessions to be disconnected.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from . import sessions
from .errors import Conflict
from .mac import normalize_mac
from .store.db import write_transaction
from .store.models import BlockedDevice, Session

BLOCKED_MESSAGE = "This device is blocked at this hotspot; please ask the attendant"
BLOCKED_REASON = "device blocked"


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
