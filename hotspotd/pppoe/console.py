"""Home subscribers as the operator's console uses them: the list (status, period, balance,
last payment, online now), one subscriber with their payments, sessions and reminders, and
the actions: add, edit, suspend, resume, kick (their session ends: Disconnect-Request, and
the router's own kick where it lists the session) and charge (an M-Pesa prompt).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..console import audit
from ..console.audit import Actor
from ..errors import InvalidInput
from ..plumbing import tasks
from ..store.db import storage_errors, utcnow, write_transaction
from ..store.models import Payment, RouterSession, Session, SubscriberReminder, iso
from . import billing, subscribers

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

FIELDS = {"name", "phone", "package_id", "username", "password", "static_ip", "mac", "language", "paid_until"}


def _payment(p: Payment) -> dict[str, Any]:
    return {"id": p.id, "created_at": iso(p.created_at), "method": p.method, "status": p.status, "amount": p.amount,
            "amount_paid": None if p.amount_paid is None else float(p.amount_paid), "receipt": p.receipt,
            "reason": p.reason}


def _session(s: Session) -> dict[str, Any]:
    return {"id": s.id, "router_id": s.router_id, "acct_session_id": s.acct_session_id, "mac": s.mac, "ip": s.ip,
            "status": s.status, "started_at": iso(s.started_at), "stopped_at": iso(s.stopped_at) if s.stopped_at else None,
            "input_bytes": s.input_bytes, "output_bytes": s.output_bytes, "terminate_cause": s.terminate_cause,
            "disconnect_requested": s.disconnect_requested_at is not None}


class SubscriberConsole:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    @property
    def grace_s(self) -> float:
        return self.rt.config.pppoe.grace_hours * 3600.0

    def list(self, q: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        if status not in (None, "", "active", "grace", "suspended"):
            raise InvalidInput("status must be active, grace or suspended")
        with storage_errors("subscribers"):
            return subscribers.list_subscribers(utcnow(), self.grace_s, q=q or None, status=status or None)

    def detail(self, ref: object) -> dict[str, Any]:
        with storage_errors("subscriber"):
            sub = subscribers.get_subscriber(ref)
            payments = Payment.select().where(Payment.subscriber == sub.id).order_by(Payment.id.desc()).limit(50)
            sessions = Session.select().where(Session.subscriber == sub.id).order_by(Session.id.desc()).limit(20)
            reminders = (SubscriberReminder.select().where(SubscriberReminder.subscriber == sub.id)
                         .order_by(SubscriberReminder.id.desc()).limit(20))
            return {**subscribers.subscriber_dict(sub, utcnow(), self.grace_s),
                    "payments": [_payment(p) for p in payments], "sessions": [_session(s) for s in sessions],
                    "reminders": [{"kind": r.kind, "period_end": iso(r.period_end), "text": r.text,
                                   "created_at": iso(r.created_at)} for r in reminders]}

    def add(self, body: dict[str, Any], by: Actor) -> dict[str, Any]:
        """A new subscriber; the answer carries the PPPoE password once (for the installer)."""
        unknown = set(body) - FIELDS
        if unknown:
            raise InvalidInput(f"unknown field(s): {', '.join(sorted(unknown))}")
        now = utcnow()
        end = (subscribers.paid_until(body["paid_until"], ZoneInfo(self.rt.config.site.timezone))
               if body.get("paid_until") else None)
        with storage_errors("add subscriber"):
            sub = subscribers.add_subscriber(
                name=body.get("name"), phone=body.get("phone") or None, package_id=body.get("package_id"), now=now,
                by=by, username=body.get("username") or None, password=body.get("password") or None,
                static_ip=body.get("static_ip") or None, mac=body.get("mac") or None,
                language=body.get("language") or "en", period_end=end)
            return {**subscribers.subscriber_dict(sub, now, self.grace_s), "password": sub.password}

    def edit(self, ref: object, body: dict[str, Any], by: Actor) -> dict[str, Any]:
        with storage_errors("edit subscriber"):
            sub = subscribers.update_subscriber(ref, body, utcnow(), by=by)
            return self.detail(sub.id)

    def suspend(self, ref: object, reason: str, by: Actor) -> dict[str, Any]:
        with storage_errors("suspend subscriber"):
            sub = subscribers.suspend(ref, reason, utcnow(), by=by)
        return self.detail(sub.id)

    def resume(self, ref: object, by: Actor) -> dict[str, Any]:
        with storage_errors("resume subscriber"):
            sub = subscribers.resume(ref, utcnow(), self.grace_s, by=by)
        return self.detail(sub.id)

    def kick(self, ref: object, by: Actor) -> dict[str, Any]:
        """End the subscriber's sessions: a Disconnect-Request for each open RADIUS session, and
        the router's own kick for each PPPoE session it listed. The CPE dials again."""
        now = utcnow()
        with storage_errors("kick subscriber"):
            sub = subscribers.get_subscriber(ref)
            with write_transaction():
                marked = subscribers.redial(sub.id, "kicked by the operator", now)
                audit.record(by, "subscriber.kick", f"subscriber {sub.id} ({sub.name})", now, sessions=len(marked))
            listed = [s.id for s in RouterSession.select(RouterSession.id).where(
                (RouterSession.kind == "pppoe") & (RouterSession.user == sub.username))]
        for live_id in listed:
            self.rt.queue.dispatch(tasks.kick_session, live_id)
        return {"id": sub.id, "disconnecting": len(marked), "kicked_at_router": len(listed)}

    def charge(self, ref: object, phone: str | None, amount: int | None, by: Actor) -> dict[str, Any]:
        """An M-Pesa prompt for what the subscriber owes (or `amount`) to their phone (or `phone`)."""
        now = utcnow()
        with storage_errors("charge subscriber"):
            payment = billing.charge(self.rt.daraja, ref, phone=phone, callback_url=self.rt.config.callback_url,
                                     now=now, amount=amount)
            with write_transaction():
                audit.record(by, "subscriber.charge", f"subscriber {payment.subscriber_id}", now,
                             payment_id=payment.id, amount=payment.amount)
        return {"payment_id": payment.id, "amount": payment.amount, "status": payment.status}
