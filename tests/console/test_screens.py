"""What the console's screens say (issue 19, the operator's side), in the core: how a payment
was paid and why it has no receipt, a Paybill payment's timeline, income with vouchers and
month by month, round chart ticks, failed tasks and alerts in words, where a disconnect
stands, and the payments export."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from hotspotd.devices import verified
from hotspotd.billing import c2b, history, payments, vouchers
from hotspotd.billing.callbacks import Incoming
from hotspotd.billing.packages import add_package
from hotspotd.console import attention, customers, dashboard, exports, income
from hotspotd.sessions import renew_disconnect
from hotspotd.sim.daraja.wire import c2b_body, masked_msisdn
from hotspotd.store.db import write_transaction
from hotspotd.store.models import Payment, Session
from hotspotd.web.admin.charts import nice_ticks, revenue_svg

from ..sales import paid_payment, pending_payment, router, session_start

NAIROBI = ZoneInfo("Africa/Nairobi")
MONDAY_NOON = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # 12:00 in Nairobi


@pytest.fixture
def hour(store, now):
    return add_package(name="Hour", price=10, duration="1h", rate="2M/5M", now=now)


def paybill_offer(package, at: datetime, mac: str = "AA:BB:CC:00:00:09") -> Payment:
    return c2b.make_offer(package, mac=mac, ip="10.5.50.9", now=at, customer_id=None)


def confirm(offer: Payment, at: datetime, receipt: str = "TK1ABC2DEF", phone: str = "254712345702") -> None:
    body = json.dumps(c2b_body(trans_id=receipt, when=at, amount=offer.amount, short_code="600100",
                               bill_ref=offer.account, msisdn=masked_msisdn(phone))).encode()
    assert c2b.record_confirmations([Incoming(body, "127.0.0.1", at)])[0].outcome == "matched"


def confirmed_by_query(package_id: int, at: datetime) -> Payment:
    """An STK payment with no callback that M-Pesa's query said was paid (no receipt in that answer)."""
    payment = pending_payment(package_id, at)
    with write_transaction():
        Payment.update(queried_at=at, query_count=1).where(Payment.id == payment.id).execute()
        payments.mark_received(payment.id, receipt=None, amount_paid=Decimal(payment.amount),
                               result_desc="The service request is processed successfully.", now=at)
    payments.apply(payment.id, at)
    return Payment.get_by_id(payment.id)


# -- how paid, receipts, the Paybill timeline

def test_a_payment_says_how_it_was_paid_and_why_it_has_no_receipt(hour):
    stk = paid_payment(hour.id, MONDAY_NOON)
    offer = paybill_offer(hour, MONDAY_NOON)
    queried = confirmed_by_query(hour.id, MONDAY_NOON)
    rows = {row["id"]: row for row in history.search()[0]}
    assert (rows[stk.id]["method"], rows[stk.id]["how_paid"], rows[stk.id]["receipt_note"]) == ("stk", "M-Pesa prompt", None)
    assert (rows[offer.id]["how_paid"], rows[offer.id]["account"]) == ("Paybill", offer.account)
    assert rows[offer.id]["receipt_note"] is None  # not paid: nothing to explain
    assert rows[queried.id]["receipt"] is None
    assert rows[queried.id]["receipt_note"] == "confirmed by M-Pesa's query; receipt not given"
    assert [r["id"] for r in history.search(method="c2b")[0]] == [offer.id]
    assert {r["id"] for r in history.search(method="stk")[0]} == {stk.id, queried.id}
    assert [r["id"] for r in history.search(q=offer.account)[0]] == [offer.id]  # found by its account number
    with pytest.raises(Exception, match="method must be one of"):
        history.search(method="cash")


def test_a_paybill_payments_timeline_speaks_of_paybill_not_of_a_prompt(hour):
    offer = paybill_offer(hour, MONDAY_NOON)
    waiting = history.timeline(offer.id, "600100")
    assert [s["step"] for s in waiting["steps"]] == ["started", "account"]
    assert waiting["steps"][1]["title"] == "Paybill account number given to the customer"
    assert waiting["steps"][1]["detail"]["account"] == offer.account
    assert waiting["steps"][1]["detail"]["business_number"] == "600100" and "phone" not in waiting["steps"][1]["detail"]
    said = waiting["diagnosis"]
    assert said.startswith(f"Waiting for the customer to pay account {offer.account} to business number 600100.")
    assert "No confirmation yet" in said and "prompt" not in said and "query" not in said

    confirm(offer, MONDAY_NOON + timedelta(minutes=2))
    payments.apply(offer.id, MONDAY_NOON + timedelta(minutes=2))
    paid = history.timeline(offer.id, "600100")
    confirmation = next(s for s in paid["steps"] if s["step"] == "confirmation")
    assert confirmation["title"] == "Paybill payment confirmed by M-Pesa"
    assert confirmation["detail"]["receipt"] == "TK1ABC2DEF" and confirmation["detail"]["amount"] == 10
    assert paid["payment"]["receipt"] == "TK1ABC2DEF" and paid["payment"]["phone"] == "2547 ***** 702"
    assert not any("prompt" in s["title"] for s in paid["steps"])
    assert history.search(method="c2b")[0][0]["phone"] == "2547 ***** 702"  # the list names the payer too


def test_an_expired_paybill_offer_says_no_money_was_taken_and_a_late_payment_still_counts(hour):
    offer = paybill_offer(hour, MONDAY_NOON)
    with write_transaction():
        c2b.expire_offers(MONDAY_NOON + timedelta(hours=2), 3600)
    said = history.timeline(offer.id, "600100")["diagnosis"]
    assert said.startswith(f"No money was taken: nobody paid account {offer.account} in time.")


# -- income

def test_income_adds_vouchers_to_m_pesa_today_this_month_and_month_by_month(hour, now):
    day = add_package(name="Day", price=50, duration="1d", rate="2M/5M", now=now)
    paid_payment(hour.id, MONDAY_NOON - timedelta(hours=1))
    late_october = datetime(2026, 10, 31, 21, 30, tzinfo=timezone.utc)  # 00:30 on 1 November in Nairobi
    paid_payment(hour.id, late_october, phone="254712000009")
    code = vouchers.make(day, 1, now)[0]
    vouchers.redeem(code, device=verified("AA:BB:CC:00:00:05", "10.5.50.5"), now=MONDAY_NOON - timedelta(minutes=5))
    figures = dashboard.figures(MONDAY_NOON, NAIROBI)
    assert figures["income"]["today"] == {"mpesa": {"amount": 10, "payments": 1},
                                          "vouchers": {"amount": 50, "count": 1}, "total": 60}
    assert figures["income"]["month"]["total"] == 70  # the late-October payment is November's in Nairobi
    assert figures["revenue"]["today"] == {"amount": 10, "payments": 1}  # M-Pesa alone, as before
    today = figures["revenue_30d"][-1]
    assert (today["amount"], today["vouchers"], today["redeemed"], today["total"]) == (10, 50, 1, 60)

    months = income.by_month(MONDAY_NOON, NAIROBI)
    assert [m["month"] for m in months][:2] == ["2025-12", "2026-01"] and months[-1]["month"] == "2026-11"
    assert len(months) == 12 and months[-1]["total"] == 70 and months[-2]["total"] == 0
    assert months[-1]["mpesa"] == {"amount": 20, "payments": 2} and months[-1]["vouchers"]["count"] == 1


def test_month_starts_cross_the_new_year():
    assert [f"{d:%Y-%m}" for d in income.month_starts(datetime(2026, 2, 10).date(), 4)] == [
        "2025-11", "2025-12", "2026-01", "2026-02"]


@pytest.mark.parametrize("peak, ticks", [
    (0, [0, 1]), (4, [0, 1, 2, 3, 4]), (50, [0, 10, 20, 30, 40, 50]), (37, [0, 10, 20, 30, 40]),
    (120, [0, 50, 100, 150]), (1234, [0, 500, 1000, 1500]), (9000, [0, 2000, 4000, 6000, 8000, 10000]),
])
def test_chart_ticks_are_round(peak, ticks):
    assert nice_ticks(peak) == ticks


def test_the_revenue_chart_is_drawn_at_the_width_asked_and_says_its_currency():
    series = [{"date": "2026-11-23", "amount": 50, "payments": 1, "vouchers": 0, "redeemed": 0}]
    svg = revenue_svg(series, "KES", 340)
    assert 'viewBox="0 0 340 240"' in svg and 'width="340"' in svg and '<text class="unit" x="4" y="18">KES</text>' in svg
    assert "(M-Pesa KES 50, 1 payment; vouchers KES 0, 0 vouchers)" in svg  # the tooltip: singular and plural


# -- failed tasks and alerts, in words

@pytest.mark.parametrize("error, said", [
    ("RouterCommandRefused: /ip/hotspot/active/login: invalid user name or password",
     "The router would not log the device in: the router does not know this customer's username or password (yet)."),
    ("RouterCommandRefused: /ip/hotspot/active/login: no more sessions are allowed for user",
     "The router would not log the device in: the customer already has as many devices online as the package allows."),
    ("RouterCommandRefused: /ip/hotspot/user/add: something new", "The router would not change the customer's login "
     "there; it said “something new”."),
    ("RouterUnreachable: gate (10.5.50.1:8728) unreachable: timed out",
     "The router did not answer: it may be switched off or unplugged, or its API service is off."),
    ("RouterLoginRefused: gate: invalid user name or password",
     "The router refused hotspotd's API user name or password: check them on the Routers page."),
    ("UpstreamError: Daraja answered 500", "M-Pesa (Daraja) did not answer, or refused the request."),
    ("ZeroDivisionError: division by zero", "Something unexpected went wrong; the details below say what."),
])
def test_known_errors_become_sentences(error, said):
    assert attention.explain_error(error) == said


def test_a_failed_task_names_whom_it_concerns(hour):
    gate = router()
    paid = paid_payment(hour.id, MONDAY_NOON, phone="254712345801", mac="AA:BB:CC:00:00:07")
    login = attention.subjects("auto_login", [[paid.id]])
    assert {s["kind"] for s in login} == {"payment", "customer", "device"}
    payment = next(s for s in login if s["kind"] == "payment")
    assert payment["label"] == f"payment {paid.receipt}, KES 10" and payment["payment_id"] == paid.id
    customer = next(s for s in login if s["kind"] == "customer")
    assert customer["customer_id"] == paid.customer_id and "2547*****801" in customer["label"]
    assert next(s for s in login if s["kind"] == "device")["label"].startswith("AA:BB:CC:00:00:07")
    provision = attention.subjects("provision_subscriptions", [[paid.subscription_id]])
    assert provision[0]["kind"] == "customer" and provision[0]["label"].endswith("· Hour")
    assert attention.subjects("probe_router", [gate.id]) == [{"kind": "router", "label": "router gate",
                                                              "router_id": gate.id}]
    assert attention.subjects("auto_login_device", [paid.subscription_id, "AA:BB:CC:00:00:08", "10.5.50.8"])[-1] == {
        "kind": "device", "label": "AA:BB:CC:00:00:08 · 10.5.50.8"}
    assert attention.subjects("apply_payments", [[999999]])[0]["label"] == "payment 999999 (no longer recorded)"
    assert attention.subjects("reconcile", []) == []
    explained = attention.explain_failed({"id": 1, "task": "auto_login", "args": [[paid.id]], "attempts": 5,
                                          "failed_at": "2026-11-23T09:00:00Z", "error": "RouterUnreachable: x"})
    assert explained["work"] == "Logging a device in at the router after its payment"
    assert explained["problem"].startswith("The router did not answer")


def alert(kind: str, message: str, statuses: list[str], is_open: bool = True) -> dict:
    return {"id": 1, "kind": kind, "message": message, "open": is_open, "raised_at": "2026-11-23T09:00:00Z",
            "messages": [{"action": "raised", "status": s, "channels": ["telegram"] if s == "sent" else [],
                          "attempts": 0, "last_error": None} for s in statuses]}


def test_alerts_in_words_with_what_the_console_can_do():
    tasks = attention.explain_alert(alert("tasks.failed", "2 tasks failed for good (x): ...", ["skipped"]),
                                    channels_configured=False, failed_waiting=2)
    assert tasks["headline"] == "Background work gave up after all its retries: 2 tasks wait for you below."
    assert tasks["action"]["kind"] == "retry_all"
    assert tasks["delivery"].startswith("The alert was not sent: no alert channel is set up")
    assert "skipped" not in tasks["delivery"]
    offline = attention.explain_alert(alert("router.offline", "router gate offline for more than 10 min "
                                                              "(last seen 2026-11-23 08:00 UTC)", ["sent"]),
                                      channels_configured=True)
    assert offline["headline"] == "Router gate offline for more than 10 min."
    assert offline["action"] == {"kind": "open", "href": "/routers", "label": "Open Routers"}
    assert offline["delivery"] == "The alert was sent (telegram)."
    over = attention.explain_alert(alert("disk.low", "the state folder's disk has 5% free (under 10%)", ["skipped"],
                                         is_open=False), channels_configured=True)
    assert over["action"] is None and over["delivery"] == "The alert was not sent: it was over before it went out."


# -- a disconnect the router does not answer

def test_where_a_disconnect_stands(hour):
    gate = router()
    paid_payment(hour.id, MONDAY_NOON)
    username = Session._meta.database.execute_sql('SELECT "username" FROM "credential"').fetchone()[0]
    session_start(gate.id, username, MONDAY_NOON, "s1")
    session = Session.get(Session.acct_session_id == "s1")
    assert customers.disconnect_state(session, MONDAY_NOON) is None
    assert renew_disconnect(session.id, "disconnected by operator", MONDAY_NOON) is True
    session = Session.get_by_id(session.id)
    assert customers.disconnect_state(session, MONDAY_NOON + timedelta(seconds=5))["state"] == "waiting"
    assert customers.disconnect_state(session, MONDAY_NOON + timedelta(seconds=5))["wait_s"] == 10.0
    assert customers.disconnect_state(session, MONDAY_NOON + timedelta(seconds=16))["state"] == "no_answer"
    Session.update(disconnect_attempts=1).where(Session.id == session.id).execute()  # a round timed out
    assert customers.disconnect_state(Session.get_by_id(session.id), MONDAY_NOON + timedelta(seconds=8))["state"] == "no_answer"
    later = MONDAY_NOON + timedelta(minutes=1)
    assert renew_disconnect(session.id, "disconnected by operator", later) is True  # try again: a new request
    again = Session.get_by_id(session.id)
    assert again.disconnect_attempts == 0 and customers.disconnect_state(again, later)["state"] == "waiting"


# -- the payments export

def test_the_payments_export_lists_what_the_filters_pick_oldest_first(hour):
    first = paid_payment(hour.id, MONDAY_NOON - timedelta(hours=2), phone="254712000101")
    offer = paybill_offer(hour, MONDAY_NOON - timedelta(hours=1))
    confirm(offer, MONDAY_NOON - timedelta(minutes=50), receipt="TK9PAYBILL")
    payments.apply(offer.id, MONDAY_NOON - timedelta(minutes=50))
    queried = confirmed_by_query(hour.id, MONDAY_NOON)
    pending_payment(hour.id, MONDAY_NOON)
    rows = list(csv.DictReader(io.StringIO("".join(exports.payments_csv(NAIROBI, status="paid")))))
    assert [r["reference"] for r in rows] == [first.ref, offer.ref, queried.ref]
    assert rows[0] == {"created_local": "2026-11-23 10:00:00", "reference": first.ref, "how_paid": "M-Pesa prompt",
                       "account": "", "phone": "2547*****101", "package": "Hour", "amount_kes": "10",
                       "paid_kes": "10", "status": "paid", "receipt": first.receipt, "receipt_note": "", "reason": ""}
    assert (rows[1]["how_paid"], rows[1]["account"], rows[1]["receipt"]) == ("Paybill", offer.account, "TK9PAYBILL")
    assert rows[1]["phone"] == "2547 ***** 702"
    assert rows[2]["receipt"] == "" and rows[2]["receipt_note"] == "confirmed by M-Pesa's query; receipt not given"
    only = list(csv.DictReader(io.StringIO("".join(exports.payments_csv(NAIROBI, method="c2b")))))
    assert [r["reference"] for r in only] == [offer.ref]
    empty = "".join(exports.payments_csv(NAIROBI, q="nothing-like-this"))
    assert empty.splitlines() == [",".join(exports.COLUMNS)]


def test_exports_go_in_batches_without_losing_or_doubling_a_row(hour, monkeypatch):
    made = [paid_payment(hour.id, MONDAY_NOON + timedelta(seconds=i), phone=f"2547120002{i:02d}") for i in range(7)]
    monkeypatch.setattr(exports, "BATCH", 3)
    rows = list(csv.DictReader(io.StringIO("".join(exports.payments_csv(NAIROBI)))))
    assert [r["reference"] for r in rows] == [p.ref for p in made]
