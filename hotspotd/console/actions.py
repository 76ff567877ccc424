"""The operator's use cases that set background work going: one `Console` per admin
process, as `Checkout` is the portal's.

Reads that need nothing but the store (payments, customers, vouchers, the audit log) are
plain functions in their own modules and the admin pages call them directly; what is
here needs the runtime: the task queue (its depth, its mode, retrying failed tasks, and
the work an operator's action sets off after its commit), and the dashboard, which shows
the queue's health and is cached for a moment between changes.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable
from zoneinfo import ZoneInfo

from . import audit, customers, dashboard
from ..plumbing import counters, tasks
from .. import sessions
from .audit import Actor
from ..billing import adjustments, callbacks, grants, refunds
from ..billing.subscriptions import credential_for
from ..errors import Conflict, InvalidInput, NotFound
from ..alerts import state as alerts_state
from ..settings import site_settings
from ..store.db import db, utcnow, write_transaction
from ..store.models import FailedTask, HealthLog, Payment, Session, iso

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime

DASHBOARD_TTL = 2.0  # seconds a dashboard is reused while no event was written
DASHBOARD_MIN_AGE = 1.0  # and at least this long however many were (50 open pages in a burst)
SUSPEND_REASON = "suspended by operator"
DISCONNECT_REASON = "disconnected by operator"


class Console:
    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.rt = runtime
        self.clock = clock
        self._dashboard: tuple[tuple[int, str], float, dict[str, Any]] | None = None

    @property
    def config(self):
        return self.rt.config

    def timezone(self) -> ZoneInfo:
        return ZoneInfo(site_settings(self.config).timezone)

    # -- the dashboard

    def dashboard(self) -> dict[str, Any]:
        """The dashboard's figures and the queue's health; reused for DASHBOARD_MIN_AGE
        seconds, and up to DASHBOARD_TTL as long as no event was written meanwhile (its
        `last_event_id` says which events it includes)."""
        last_event = db.execute_sql('SELECT MAX("id") FROM "event"').fetchone()[0] or 0
        settings = site_settings(self.config)
        key = (last_event, settings.timezone)
        cached = self._dashboard
        if cached:
            age = time.monotonic() - cached[1]
            if age < DASHBOARD_MIN_AGE or (cached[0] == key and age < DASHBOARD_TTL):
                return cached[2]
        figures = dashboard.figures(self.clock(), ZoneInfo(settings.timezone))
        figures["last_event_id"] = last_event
        figures["site"] = settings.as_dict()
        figures["queue"] = self.queue_summary()
        figures["alerts_open"] = alerts_state.open_count()
        self._dashboard = (key, time.monotonic(), figures)
        return figures

    # -- the queue

    def queue_summary(self) -> dict[str, Any]:
        status = self.rt.queue.status()
        failed = status.pop("failed", {"queued": 0})["queued"]
        return {"mode": self.rt.queue.mode().value, "queued": sum(c["queued"] for c in status.values()),
                "scheduled": sum(c["scheduled"] for c in status.values()), "failed": failed}

    def queue_health(self) -> dict[str, Any]:
        """Depth per task, outcomes counted by the processes that ran them, the mode."""
        status = self.rt.queue.status()
        status.pop("failed", None)
        outcomes = counters.totals("task")
        running = counters.totals("task_running")
        tasks_ = []
        for name, depth in sorted(status.items()):
            tasks_.append({"id": name, "task": name, **depth, "running": int(running.get(name, 0)),
                           "done": int(outcomes.get(f"{name}:done", 0)),
                           "retried": int(outcomes.get(f"{name}:retried", 0)),
                           "failed": int(outcomes.get(f"{name}:failed", 0))})
        waiting = FailedTask.select().where(FailedTask.retried_at.is_null()).count()
        return {"mode": self.rt.queue.mode().value, "tasks": tasks_, "failed_waiting": waiting}

    def set_queue_mode(self, mode: str, *, by: Actor) -> str:
        if mode not in ("async", "immediate"):
            raise InvalidInput("mode must be async or immediate")
        self.rt.queue.set_mode(mode, by=by.username)
        with write_transaction():
            audit.record(by, "queue.mode", "task queue", self.clock(), mode=mode)
        return self.rt.queue.mode().value

    def retry_failed(self, failed_id: int | None, *, by: Actor) -> list[int]:
        if failed_id is not None and not FailedTask.select().where(FailedTask.id == failed_id).exists():
            raise NotFound(f"no failed task {failed_id}")
        retried = self.rt.queue.retry_failed(failed_id)
        with write_transaction():
            audit.record(by, "queue.retry", "all failed tasks" if failed_id is None else f"failed task {failed_id}",
                         self.clock(), retried=retried)
        return retried

    # -- payments: "I paid but I'm not online"

    def assign_callback(self, callback_id: int, payment_id: int, *, by: Actor) -> None:
        if callbacks.assign_orphan(callback_id, payment_id, self.clock(), by=by):
            self.rt.queue.dispatch(tasks.apply_payments, [payment_id])

    def resend(self, payment_id: int, *, by: Actor) -> dict[str, Any]:
        """Make the router ready for a paid payment again and log the device in again;
        returns the credentials so the operator can read them to the customer."""
        payment = Payment.get_or_none(Payment.id == payment_id)
        if payment is None:
            raise NotFound(f"no payment {payment_id}")
        if payment.status != "paid" or payment.subscription_id is None:
            raise Conflict("only a paid payment has credentials to resend")
        now = self.clock()
        with write_transaction():
            db.execute_sql('UPDATE "subscription" SET "provisioned_at" = NULL WHERE "id" = ?', (payment.subscription_id,))
            audit.record(by, "payment.resend", f"payment {payment.id}", now, payment_id=payment.id,
                         subscription_id=payment.subscription_id)
        device = grants.device_of_payment(payment.mac, payment.ip, payment.verified)
        tasks.after_grant(self.rt, [grants.Granted(payment.subscription_id, device and device.mac,
                                                   device and device.ip, payment.id)])
        username, password = credential_for(payment.customer_id, now)
        return {"username": username, "password": password, "expires_at": iso(payment.subscription.ends_at)}

    def refund(self, payment_id: int, reason: object, *, by: Actor) -> dict[str, Any]:
        """Give the payment's money back (M-Pesa Reversal): recorded and audited now, sent
        by the worker; the result ends the package. Conflict when it cannot be, or was once."""
        if not self.config.initiator_enabled:
            raise Conflict(refunds.NOT_SET_UP)
        request_id = refunds.request_refund(payment_id, reason, by=by, now=self.clock())
        self.rt.queue.dispatch(tasks.send_refund, request_id)
        return self.payment_money(payment_id)

    def payment_money(self, payment_id: int) -> dict[str, Any]:
        """A payment's refund, whether one can be asked, and how much of it was used."""
        payment = Payment.get_or_none(Payment.id == payment_id)
        if payment is None:
            raise NotFound(f"no payment {payment_id}")
        view = refunds.view(payment, self.clock())
        if view["refundable"] and not self.config.initiator_enabled:
            view.update(refundable=False, refund_refused=refunds.NOT_SET_UP)
        return view

    # -- customers

    def extend(self, subscription_id: int, seconds: object, *, by: Actor, reason: str = "",
               payment_id: int | None = None) -> dict[str, Any]:
        result = adjustments.extend(subscription_id, seconds, self.clock(), by=by, reason=reason,
                                    payment_id=payment_id)
        self.rt.queue.dispatch(tasks.provision_subscriptions, [subscription_id])
        return result

    def extend_payment(self, payment_id: int, seconds: object, *, by: Actor, reason: str = "") -> dict[str, Any]:
        """Extend the subscription a payment bought (from the payment's own page)."""
        payment = Payment.get_or_none(Payment.id == payment_id)
        if payment is None:
            raise NotFound(f"no payment {payment_id}")
        if payment.subscription_id is None:
            raise InvalidInput("this payment bought no subscription to extend")
        return self.extend(payment.subscription_id, seconds, by=by, reason=reason, payment_id=payment_id)

    def suspend(self, customer_id: int, *, by: Actor, reason: str = "") -> int:
        open_sessions = adjustments.suspend(customer_id, self.clock(), by=by, reason=reason)
        for session_id in open_sessions:
            sessions.request_disconnect(session_id, SUSPEND_REASON, self.clock())
        return len(open_sessions)

    def disconnect(self, session_id: int, *, by: Actor) -> dict[str, Any]:
        """Cut one session off (a Disconnect-Request to its router, sent by the RADIUS role),
        or ask again when the router did not answer; audited. The answer says where it stands."""
        now = self.clock()
        asked = sessions.renew_disconnect(session_id, DISCONNECT_REASON, now)
        with write_transaction():
            audit.record(by, "session.disconnect", f"session {session_id}", now, session_id=session_id)
        session = Session.get_by_id(session_id)
        return {"id": session_id, "asked": asked, "status": session.status,
                "disconnect": customers.disconnect_state(session, now)}

    def resume(self, customer_id: int, *, by: Actor) -> int:
        return adjustments.resume(customer_id, self.clock(), by=by)

    def credentials(self, customer_id: int, *, by: Actor) -> dict[str, str]:
        """A customer's login, to read out on the phone (audited)."""
        found = customers.credentials(customer_id)
        with write_transaction():
            audit.record(by, "customer.credentials", f"customer {customer_id}", self.clock(), customer_id=customer_id)
        return found

    def reveal_phone(self, customer_id: int, *, by: Actor) -> str:
        number = customers.reveal_phone(customer_id)
        with write_transaction():
            audit.record(by, "customer.phone", f"customer {customer_id}", self.clock(), customer_id=customer_id)
        return number

    # -- system health

    def health_log(self, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
        query = HealthLog.select()
        total = query.count()
        rows = query.order_by(HealthLog.id.desc()).paginate(page, per_page)
        return [{"id": h.id, "at": iso(h.at), "component": h.component, "level": h.level, "message": h.message}
                for h in rows], total
