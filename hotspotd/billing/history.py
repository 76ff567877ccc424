"""What happened to a payment, for the operator answering "I paid but I'm not online".

`search()` finds payments by receipt, phone, reference or Paybill account number and
filters them (status, package, dates, how paid); `timeline()` puts everything the record
knows about one payment in order: started on the portal, the prompt pushed (or, for
Paybill, the account number given), callbacks or Paybill confirmations received, STK
queries, applied, the subscription, provisioned, the device logged in.
`orphan_callbacks()` lists money M-Pesa reported for no payment we know, which the
operator may apply to the payment it belongs to.

How a payment was paid (`method`): `stk`, the prompt on the customer's phone; `c2b`,
Paybill, typed by the customer from the M-Pesa menu with the account number the portal
showed. Vouchers are not payments (they are the customer's `vouchers`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .. import phone as phones
from ..errors import InvalidInput, NotFound
from ..mpesa.callback import parse_stk_callback
from ..store.db import db
from ..store.models import C2BTransaction, MpesaCallback, Package, Payment, iso, to_db_time
from .payments import PaymentStatus

PAYBILL = "c2b"
# The ways a payment is paid, in the operator's words (the console's "How paid").
METHODS = {"stk": "M-Pesa prompt", PAYBILL: "Paybill"}
QUERY_RECEIPT_NOTE = "confirmed by M-Pesa's query; receipt not given"


def _t(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def receipt_note(p: Payment) -> str | None:
    """Why a paid payment has no M-Pesa receipt (None: it has one, or it is not paid).

    An STK query says "paid" but not the receipt number; the statement is matched by
    phone, amount and time then."""
    if p.receipt or p.status not in (PaymentStatus.RECEIVED, PaymentStatus.PAID):
        return None
    if p.queried_at is not None and p.method != PAYBILL:
        return QUERY_RECEIPT_NOTE
    return "receipt not given"


def payment_row(p: Payment, package_name: str | None = None) -> dict[str, Any]:
    return {
        "id": p.id, "ref": p.ref, "created_at": _t(p.created_at), "phone": phones.mask(p.phone),
        "package_id": p.package_id, "package": package_name or p.package.name, "amount": p.amount,
        "amount_paid": None if p.amount_paid is None else float(p.amount_paid), "status": p.status,
        "receipt": p.receipt, "receipt_note": receipt_note(p), "reason": p.reason,
        "subscription_id": p.subscription_id, "customer_id": p.customer_id, "mac": p.mac, "ip": p.ip,
        "method": p.method, "how_paid": METHODS.get(p.method, p.method), "account": p.account,
    }


def _phone_filter(q: str):
    digits = "".join(ch for ch in q if ch.isdigit())
    try:
        return Payment.phone == phones.normalise(q)
    except InvalidInput:
        pass
    if len(digits) >= 3 and len(digits) == len(q.replace(" ", "").lstrip("+")):
        return Payment.phone.endswith(digits)
    return None


def matching(*, q: str = "", status: str = "", package_id: int | None = None, since: datetime | None = None,
             until: datetime | None = None, method: str = ""):
    """The query behind `search` (and the CSV export): payments matching `q` (receipt, phone,
    reference, Paybill account number) and the filters, in no particular order."""
    query = Payment.select(Payment, Package.name).join(Package)
    q = (q or "").strip()
    if q:
        match = ((Payment.receipt == q.upper()) | (Payment.ref == q) | (Payment.checkout_request_id == q)
                 | (Payment.account == q))
        by_phone = _phone_filter(q)
        query = query.where(match | by_phone if by_phone is not None else match)
    if status:
        if status not in tuple(PaymentStatus):
            raise InvalidInput(f"status must be one of {', '.join(PaymentStatus)}")
        query = query.where(Payment.status == status)
    if method:
        if method not in METHODS:
            raise InvalidInput(f"method must be one of {', '.join(METHODS)}")
        query = query.where(Payment.method == method)
    if package_id is not None:
        query = query.where(Payment.package == package_id)
    if since is not None:
        query = query.where(Payment.created_at >= since)
    if until is not None:
        query = query.where(Payment.created_at < until)
    return query


def search(*, q: str = "", status: str = "", package_id: int | None = None, since: datetime | None = None,
           until: datetime | None = None, method: str = "", page: int = 1,
           per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    """Payments newest first, matching `q` (receipt, phone, reference, account) and the filters."""
    query = matching(q=q, status=status, package_id=package_id, since=since, until=until, method=method)
    total = query.count()
    rows = query.order_by(Payment.id.desc()).paginate(page, per_page)
    return with_paybill_phones([payment_row(p, p.package.name) for p in rows]), total


def with_paybill_phones(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Paybill payments have no phone until M-Pesa's confirmation names the payer (masked by
    Daraja): fill it in from there."""
    missing = [row["id"] for row in rows if row["method"] == PAYBILL and not row["phone"]]
    if missing:
        payers = {payment_id: _msisdn(msisdn) for payment_id, msisdn in C2BTransaction.select(
            C2BTransaction.payment, C2BTransaction.msisdn).where(C2BTransaction.payment.in_(missing)).tuples()}
        for row in rows:
            row["phone"] = row["phone"] or payers.get(row["id"], "")
    return rows


# -- one payment, in order

_BY_PAYMENT = ('SELECT "id", "type", "at", "data" FROM "event" '
               'WHERE json_extract("data", \'$.payment_id\') = ? ORDER BY "id"')
_BY_SUBSCRIPTION = ('SELECT "id", "type", "at", "data" FROM "event" '
                    'WHERE json_extract("data", \'$.subscription_id\') = ? AND "at" >= ? ORDER BY "id" LIMIT 200')
_CALLBACKS = ('SELECT "id", "received_at", "outcome", "body" FROM "mpesa_callback" '
              'WHERE "checkout_request_id" = ? ORDER BY "id"')
LOGINS_SHOWN = 5
# Steps that happened in the same instant are shown in the order the story goes.
ORDER = {step: rank for rank, step in enumerate((
    "started", "pushed", "account", "callback", "confirmation", "queried", "failed", "subscription", "applied",
    "restored", "provisioned", "provisioning_failed", "logged_in", "operator", "sms", "sms_failed", "refund_requested",
    "refunded", "refund_failed"))}


def _step(at: str, step: str, title: str, **detail: Any) -> dict[str, Any]:
    return {"at": at.replace(".000000Z", "Z") if at.endswith(".000000Z") else at, "step": step, "title": title,
            "detail": detail}


def _event_step(event_id: int, type_: str, at: str, data: dict[str, Any]) -> dict[str, Any] | None:
    titles = {
        "payment.initiated": ("pushed", "M-Pesa prompt sent to the phone"),
        "payment.processed": ("applied", "Payment applied: access granted"),
        "payment.failed": ("failed", "Payment ended without access"),
        "payment.restored": ("restored", "Credentials given again (already paid?)"),
        "subscription.created": ("subscription", "Subscription created"),
        "subscription.extended": ("subscription", "Subscription extended"),
        "user.provisioned": ("provisioned", "Ready at the router"),
        "provisioning.failed": ("provisioning_failed", "Provisioning at the router failed"),
        "session.started": ("logged_in", "Device logged in"),
        "admin.action": ("operator", "Operator action"),
        "payment.refund_requested": ("refund_requested", "Refund asked of M-Pesa (Reversal)"),
        "payment.refunded": ("refunded", "Refunded: M-Pesa gave the money back; the package ended"),
        "payment.refund_failed": ("refund_failed", "Refund failed"),
        "sms.sent": ("sms", "Receipt texted"),
        "sms.failed": ("sms_failed", "Receipt text failed"),
    }
    if type_ not in titles:
        return None
    step, title = titles[type_]
    if type_ == "payment.initiated" and data.get("method") == PAYBILL:
        step, title = "account", "Paybill account number given to the customer"
        data = {k: v for k, v in data.items() if k != "phone"}  # a Paybill offer has no phone yet
    return _step(at, step, title, event_id=event_id, type=type_, **data)


def _msisdn(value: str | None) -> str:
    """The payer as Daraja's C2B confirmation names them: masked by Daraja already, or hashed."""
    value = (value or "").strip()
    if value.isdigit():
        return phones.mask(value)
    return value if "*" in value else ("number hidden by M-Pesa" if value else "")


def _confirmation_steps(payment: Payment) -> list[dict[str, Any]]:
    rows = (C2BTransaction.select().where(C2BTransaction.payment == payment.id).order_by(C2BTransaction.id))
    return [_step(to_db_time(row.received_at), "confirmation", "Paybill payment confirmed by M-Pesa",
                  receipt=row.trans_id, amount=None if row.amount is None else float(row.amount),
                  phone=_msisdn(row.msisdn), account=row.bill_ref) for row in rows]


def timeline(payment_id: int, business_number: str = "") -> dict[str, Any]:
    """One payment with every step the record knows, in time order, and what is missing.
    `business_number`: the Paybill the site is paid to (`[mpesa] paybill`), for Paybill payments."""
    payment = Payment.get_or_none(Payment.id == payment_id)
    if payment is None:
        raise NotFound(f"no payment {payment_id}")
    steps = [_step(to_db_time(payment.created_at), "started", "Payment started on the portal",
                   mac=payment.mac, ip=payment.ip, amount=payment.amount, package=payment.package.name)]
    for event_id, type_, at, data in db.execute_sql(_BY_PAYMENT, (payment.id,)).fetchall():
        step = _event_step(event_id, type_, at, json.loads(data))
        if step:
            if step["step"] == "account":
                step["detail"]["business_number"] = business_number
            steps.append(step)
    row = payment_row(payment)
    if payment.method == PAYBILL:
        confirmations = _confirmation_steps(payment)
        steps += confirmations
        if not row["phone"] and confirmations:  # a Paybill payment's phone is known from M-Pesa's confirmation
            row["phone"] = confirmations[-1]["detail"]["phone"]
    if payment.checkout_request_id:
        for cb_id, received_at, outcome, body in db.execute_sql(_CALLBACKS, (payment.checkout_request_id,)).fetchall():
            detail = _callback_detail(body)
            steps.append(_step(received_at, "callback", "M-Pesa callback received", callback_id=cb_id,
                               outcome=outcome, **detail))
    for at, receipt in db.execute_sql('SELECT "result_at", "receipt" FROM "initiator_request" WHERE "kind" = \'status\' '
                                      'AND "found_payment_id" = ? AND "result_at" IS NOT NULL', (payment.id,)).fetchall():
        steps.append(_step(at, "queried", "Found by M-Pesa Transaction Status (already paid?)", receipt=receipt))
    if payment.queried_at is not None:
        steps.append(_step(to_db_time(payment.queried_at), "queried", "Asked M-Pesa about it (STK query)",
                           times=payment.query_count))
    if payment.subscription_id and payment.applied_at:
        logins = 0
        for event_id, type_, at, data in db.execute_sql(
                _BY_SUBSCRIPTION, (payment.subscription_id, to_db_time(payment.applied_at))).fetchall():
            data = json.loads(data)
            if type_.startswith("subscription.") or type_.startswith("payment."):
                continue  # those carrying this payment's id are in already; another payment's are not this one's
            if type_ == "session.started":
                logins += 1
                if logins > LOGINS_SHOWN:
                    continue
            step = _event_step(event_id, type_, at, data)
            if step:
                steps.append(step)
    steps = _unique(steps)
    steps.sort(key=lambda s: (s["at"], ORDER.get(s["step"], len(ORDER)), s["detail"].get("event_id", 0)))
    return {"payment": row, "steps": steps, "business_number": business_number,
            "diagnosis": diagnose(payment, steps, business_number)}


def _unique(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event once (an operator action may name both the payment and its subscription)."""
    seen: set[int] = set()
    kept = []
    for step in steps:
        event_id = step["detail"].get("event_id")
        if event_id is not None:
            if event_id in seen:
                continue
            seen.add(event_id)
        kept.append(step)
    return kept


def _paybill_pending(payment: Payment, business_number: str) -> str:
    to = f" to business number {business_number}" if business_number else ""
    # Said so that it holds however M-Pesa reports the money: its confirmation, or hotspotd
    # finding the payment later in what M-Pesa lists for the Paybill.
    return (f"Waiting for the customer to pay account {payment.account}{to}. No confirmation yet: "
            "hotspotd applies the payment as soon as M-Pesa reports it. If the customer says they paid, "
            "ask for the code in their M-Pesa message and search for it.")


def diagnose(payment: Payment, steps: list[dict[str, Any]], business_number: str = "") -> str:
    """One sentence for the operator on the phone with the customer."""
    seen = {s["step"] for s in steps}
    status = payment.status
    if status == PaymentStatus.PENDING and payment.method == PAYBILL:
        return _paybill_pending(payment, business_number)
    if status == PaymentStatus.EXPIRED and payment.method == PAYBILL:
        return (f"No money was taken: nobody paid account {payment.account} in time. If the customer pays it "
                "now, the payment is still applied.")
    if status == PaymentStatus.PENDING:
        if "callback" not in seen and "pushed" in seen:
            return ("Waiting for M-Pesa: no answer yet. If the customer paid, look for an unmatched callback "
                    "below, or wait for the automatic query.")
        return "The prompt was not confirmed by M-Pesa yet."
    if status == PaymentStatus.RECEIVED:
        return "M-Pesa says paid; hotspotd is applying it now (seconds). If it stays here, check System health."
    if status == PaymentStatus.REFUNDED:
        return "Refunded: M-Pesa gave the money back, and what it bought has ended."
    if status in (PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.EXPIRED):
        return f"No money was taken by this payment ({status}: {payment.reason or 'no reason given'})."
    if "logged_in" in seen:
        return "Paid, ready, and the device logged in. If it is offline now, look at the customer's sessions."
    if "provisioned" in seen:
        return ("Paid and ready at the router; the device has not logged in yet. Give the customer the "
                "credentials, or resend them to the router.")
    return "Paid; not yet ready at the router. Resend to the router, or check System health for failed tasks."


# -- money for no payment we know

def _callback_detail(body: str) -> dict[str, Any]:
    try:
        cb = parse_stk_callback(body.encode())
    except Exception as exc:  # malformed bodies are kept for inspection too
        return {"error": str(exc)[:200]}
    return {"result_code": cb.result_code, "result_desc": cb.result_desc,
            "amount": None if cb.amount is None else float(cb.amount), "receipt": cb.receipt,
            "phone": phones.mask(cb.phone), "checkout_request_id": cb.checkout_request_id}


def orphan_callbacks(page: int = 1, per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    """Callbacks that matched no payment (kept, never applied), newest first."""
    query = MpesaCallback.select().where(MpesaCallback.outcome == "orphan")
    total = query.count()
    rows = query.order_by(MpesaCallback.id.desc()).paginate(page, per_page)
    return [{"id": c.id, "received_at": _t(c.received_at), **_callback_detail(c.body)} for c in rows], total
