"""Sessions: what the routers report over RADIUS accounting, and cutting devices off.

The RADIUS role turns Accounting-Requests into `AccountingRecord`s and hands a batch to
`apply_accounting`, which writes them in one transaction (a group commit) before any
Accounting-Response goes out. Every record is idempotent: counters are cumulative, so a
session's stored counters only move forward and `subscription.bytes_used` grows by the
difference, never twice for a retransmitted packet.

Disconnects (an admin kick, a package that ended, data used up) are requested here in the
store; the RADIUS role delivers them (RFC 5176) and reports back with `disconnect_result`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Iterable

from . import events
from .billing import subscriptions
from .billing.subscriptions import SubscriptionStatus
from .errors import NotFound
from .store.db import write_transaction
from .store.models import Credential, HealthLog, Router, Session, Subscriber, Subscription

log = logging.getLogger(__name__)


class AcctStatus(IntEnum):
    """Acct-Status-Type values (RFC 2866 §5.1)."""

    START = 1
    STOP = 2
    INTERIM_UPDATE = 3
    ACCOUNTING_ON = 7
    ACCOUNTING_OFF = 8


class SessionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


HOTSPOT, PPPOE = "hotspot", "pppoe"  # Session.kind: a home subscriber's PPP session is not the hotspot's


MAX_DISCONNECT_ROUNDS = 5
EXPIRED_REASON = "package expired"
DATA_REASON = "data used up"


@dataclass(frozen=True, slots=True)
class AccountingRecord:
    """One Accounting-Request as plain data (octet counters as sent, gigawords apart)."""

    router_id: int
    status_type: int
    acct_session_id: str | None = None
    username: str | None = None
    mac: str | None = None
    ip: str | None = None
    input_octets: int = 0
    input_gigawords: int = 0
    output_octets: int = 0
    output_gigawords: int = 0
    session_time: int | None = None
    terminate_cause: str | None = None
    kind: str = "hotspot"  # hotspot | pppoe (the request said Framed-Protocol PPP)

    @property
    def input_bytes(self) -> int:
        return (self.input_gigawords << 32) + self.input_octets

    @property
    def output_bytes(self) -> int:
        return (self.output_gigawords << 32) + self.output_octets


@dataclass(frozen=True, slots=True)
class DisconnectJob:
    """A session the RADIUS role must disconnect at its router."""

    session_id: int
    router_id: int
    acct_session_id: str
    username: str
    ip: str | None
    mac: str | None
    reason: str
    attempts: int


def _resolve(username: str | None, mac: str | None, now: datetime) -> Subscription | None:
    """The subscription a login by `username` (a credential or a bound MAC) runs on now."""
    credential = Credential.get_or_none(Credential.username == username) if username else None
    if credential is not None:
        candidates = subscriptions.not_ended(customer_id=credential.customer_id, now=now)
    else:
        candidates = subscriptions.not_ended(mac=(mac or username or "").upper(), now=now)
    return subscriptions.in_use(candidates, now)


def _event_data(session: Session, **extra) -> dict:
    data = {"session_id": session.id, "router_id": session.router_id, "acct_session_id": session.acct_session_id,
            "username": session.username, "mac": session.mac, "ip": session.ip,
            "subscription_id": session.subscription_id, **extra}
    if session.kind == PPPOE:
        data.update(kind=PPPOE, subscriber_id=session.subscriber_id)
    return data


def _start(record: AccountingRecord, now: datetime) -> Session:
    started = now - timedelta(seconds=record.session_time or 0)
    if record.kind == PPPOE:  # a home subscriber's (or a router's own PPP user: no subscriber)
        found = Subscriber.get_or_none(Subscriber.username == (record.username or ""))
        owner = {"kind": PPPOE, "subscriber": found.id if found else None, "subscription": None}
    else:
        owner = {"subscription": _resolve(record.username, record.mac, now)}
    session = Session.create(
        router=record.router_id, acct_session_id=record.acct_session_id, username=record.username or "",
        mac=record.mac, ip=record.ip, status=SessionStatus.OPEN, started_at=started, updated_at=now, **owner)
    events.emit("session.started", _event_data(session), now)
    return session


def _charge(session: Session, delta: int, now: datetime) -> Subscription | None:
    """Add `delta` bytes to the subscription the session runs on (moving it on to the next
    stacked subscription once its own has ended); return that subscription."""
    sub = Subscription.get_or_none(Subscription.id == session.subscription_id) if session.subscription_id else None
    if sub is None or sub.ends_at <= now:
        nxt = _resolve(session.username, session.mac, now)
        if nxt is not None:
            sub = nxt
            Session.update(subscription=sub.id).where(Session.id == session.id).execute()
            session.subscription = sub.id
    if sub is not None and delta:
        Subscription.update(bytes_used=Subscription.bytes_used + delta, updated_at=now).where(
            Subscription.id == sub.id).execute()
        sub.bytes_used += delta
    return sub


def _overdue_reason(sub: Subscription | None, now: datetime) -> str | None:
    if sub is None or sub.status != SubscriptionStatus.ACTIVE or sub.ends_at <= now:
        return EXPIRED_REASON
    if not subscriptions.has_data(sub):
        return DATA_REASON
    return None


def _mark(session_ids: Iterable[int], reason: str, now: datetime) -> list[int]:
    """Request a disconnect for open sessions not already being disconnected."""
    marked = []
    for sid in session_ids:
        done = Session.update(disconnect_requested_at=now, disconnect_reason=reason, disconnect_attempts=0,
                              disconnect_next_at=now).where(
            (Session.id == sid) & (Session.status == SessionStatus.OPEN) & Session.disconnect_requested_at.is_null()).execute()
        if done:
            marked.append(sid)
    return marked


def _update(record: AccountingRecord, now: datetime) -> list[int]:
    session = Session.get_or_none((Session.router == record.router_id)
                                  & (Session.acct_session_id == record.acct_session_id))
    if session is None:  # the Start was lost: the session exists all the same
        session = _start(record, now)
    new_in = max(session.input_bytes, record.input_bytes)
    new_out = max(session.output_bytes, record.output_bytes)
    delta = new_in - session.input_bytes + new_out - session.output_bytes
    changes = {Session.updated_at: now}
    if delta:
        changes.update({Session.input_bytes: new_in, Session.output_bytes: new_out})
    if record.session_time is not None and record.session_time > session.session_time:
        changes[Session.session_time] = record.session_time
    stopping = record.status_type == AcctStatus.STOP and session.status == SessionStatus.OPEN
    if stopping:
        changes.update({Session.status: SessionStatus.CLOSED, Session.stopped_at: now,
                        Session.terminate_cause: record.terminate_cause})
    if session.kind == PPPOE and record.ip and record.ip != session.ip:  # the please-pay page finds them by it
        changes[Session.ip] = record.ip
    if delta or len(changes) > 1:
        Session.update(changes).where(Session.id == session.id).execute()
    # A PPP session has no package or data cap: the month's end is hotspotd.pppoe.month_end's.
    sub = _charge(session, delta, now) if session.kind == HOTSPOT and (session.status == SessionStatus.OPEN
                                                                         or delta) else None
    if stopping:
        session = Session.get_by_id(session.id)
        events.emit("session.stopped", _event_data(
            session, input_bytes=session.input_bytes, output_bytes=session.output_bytes,
            session_time=session.session_time, terminate_cause=session.terminate_cause), now)
        return []
    if session.kind == PPPOE:
        return []
    reason = _overdue_reason(sub, now) if session.status == SessionStatus.OPEN else None
    if reason == DATA_REASON:  # every device on the exhausted subscription goes
        others = Session.select(Session.id).where((Session.subscription == sub.id) & (Session.status == SessionStatus.OPEN))
        return _mark([s.id for s in others], reason, now)
    return _mark([session.id], reason, now) if reason else []


def _close_router(record: AccountingRecord, now: datetime) -> None:
    cause = "NAS-Reboot" if record.status_type == AcctStatus.ACCOUNTING_ON else "NAS-Request"
    for session in Session.select().where((Session.router == record.router_id) & (Session.status == SessionStatus.OPEN)):
        Session.update(status=SessionStatus.CLOSED, stopped_at=now, updated_at=now, terminate_cause=cause).where(
            Session.id == session.id).execute()
        events.emit("session.stopped", _event_data(
            session, input_bytes=session.input_bytes, output_bytes=session.output_bytes,
            session_time=session.session_time, terminate_cause=cause), now)


def apply_one(record: AccountingRecord, now: datetime) -> list[int]:
    """Apply one record (inside a transaction); return sessions newly marked to disconnect."""
    if record.status_type in (AcctStatus.ACCOUNTING_ON, AcctStatus.ACCOUNTING_OFF):
        _close_router(record, now)
        return []
    if not record.acct_session_id:
        raise ValueError("accounting record without Acct-Session-Id")
    if record.status_type == AcctStatus.START:
        exists = Session.select(Session.id).where((Session.router == record.router_id)
                                                  & (Session.acct_session_id == record.acct_session_id)).exists()
        if not exists:
            _start(record, now)
        return []
    if record.status_type in (AcctStatus.STOP, AcctStatus.INTERIM_UPDATE):
        return _update(record, now)
    raise ValueError(f"unsupported Acct-Status-Type {record.status_type}")


def apply_accounting(records: list[AccountingRecord], now: datetime) -> tuple[list[bool], list[int]]:
    """Write a batch of accounting records in one durable transaction.

    Returns (done per record, sessions to disconnect). A record that fails is rolled back
    alone (a savepoint) and reported False, so the router retransmits just that one.
    """
    done, disconnect = [], []
    with write_transaction():
        for record in records:
            try:
                with Session._meta.database.atomic():
                    disconnect += apply_one(record, now)
                done.append(True)
            except Exception:
                log.exception("accounting record for router %s session %s not applied",
                              record.router_id, record.acct_session_id)
                done.append(False)
    return done, disconnect


def disconnect_later(session_ids: Iterable[int], reason: str, now: datetime) -> list[int]:
    """Request a disconnect of these open sessions (the RADIUS role delivers it within a
    second or so); returns those newly marked. Inside a write transaction."""
    return _mark(session_ids, reason, now)


def request_disconnect(session_id: int, reason: str, now: datetime) -> bool:
    """Ask for a session to be cut off (the admin "kick"); the RADIUS role delivers it.

    Returns False when the session is closed or a disconnect is already under way.
    """
    with write_transaction():
        if not Session.select().where(Session.id == session_id).exists():
            raise NotFound(f"no session {session_id}")
        return bool(_mark([session_id], reason, now))


def renew_disconnect(session_id: int, reason: str, now: datetime) -> bool:
    """Ask (again) for a session to be cut off, whatever became of an earlier request: the
    operator's "kick" and "try again" after the router did not answer. False: the session
    is closed already."""
    with write_transaction():
        if not Session.select().where(Session.id == session_id).exists():
            raise NotFound(f"no session {session_id}")
        return bool(Session.update(disconnect_requested_at=now, disconnect_reason=reason, disconnect_attempts=0,
                                   disconnect_next_at=now).where(
            (Session.id == session_id) & (Session.status == SessionStatus.OPEN)).execute())


def mark_overdue(now: datetime) -> list[int]:
    """The sweep: request a disconnect for every open session whose customer has no
    current subscription with data left. Returns the sessions marked now."""
    marked = []
    with write_transaction():
        for session in Session.select().where((Session.status == SessionStatus.OPEN) & (Session.kind == HOTSPOT)
                                              & Session.disconnect_requested_at.is_null()):
            sub = _charge(session, 0, now)
            reason = _overdue_reason(sub, now)
            if reason:
                marked += _mark([session.id], reason, now)
    return marked


def pending_disconnects(now: datetime, limit: int = 200) -> list[DisconnectJob]:
    """Requested disconnects due for (another) delivery round."""
    query = Session.select().where(
        (Session.status == SessionStatus.OPEN) & Session.disconnect_requested_at.is_null(False)
        & (Session.disconnect_next_at <= now)).order_by(Session.disconnect_next_at).limit(limit)
    return [DisconnectJob(s.id, s.router_id, s.acct_session_id, s.username, s.ip, s.mac,
                          s.disconnect_reason or "", s.disconnect_attempts) for s in query]


def disconnect_result(session_id: int, outcome: str, detail: str, now: datetime, retry_after: float) -> None:
    """Record a delivery round: `ack` or `not_found` (the router has no such session: it is
    gone either way) close the session and write `session.disconnected`; `nak` or `timeout`
    write a health-log error and schedule another round after `retry_after` seconds."""
    with write_transaction():
        session = Session.get_or_none(Session.id == session_id)
        if session is None:
            return
        if outcome in ("ack", "not_found"):
            if session.disconnected_at is not None:
                return
            Session.update(status=SessionStatus.CLOSED, disconnected_at=now, disconnect_next_at=None, updated_at=now,
                           stopped_at=session.stopped_at or now,
                           terminate_cause=session.terminate_cause or "Admin-Reset").where(
                Session.id == session_id).execute()
            events.emit("session.disconnected", _event_data(
                session, reason=session.disconnect_reason, result=outcome), now)
            return
        attempts = session.disconnect_attempts + 1
        router = Router.get_or_none(Router.id == session.router_id)
        giving_up = attempts >= MAX_DISCONNECT_ROUNDS
        Session.update(disconnect_attempts=attempts, disconnect_next_at=None if giving_up else
                       now + timedelta(seconds=retry_after)).where(Session.id == session_id).execute()
        HealthLog.create(at=now, component="radius", level="error", message=(
            f"disconnect of session {session.acct_session_id} ({session.disconnect_reason}) at router "
            f"{router.name if router else session.router_id} failed ({outcome}: {detail}); "
            + ("giving up" if giving_up else f"round {attempts} of {MAX_DISCONNECT_ROUNDS}")))
