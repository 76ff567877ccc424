"""Every shilling, every way back, end to end: real portal and back-office processes, the
Daraja and Africa's Talking simulators. A Paybill payment whose confirmation was lost is
found by the worker's Pull Transactions and the waiting page sees it paid; "already paid?"
with a receipt hotspotd never saw is proved by Transaction Status; a refund reverses the
payment, ends the package and disconnects the device, once; and every grant is texted once,
through replays and a killed worker."""

from __future__ import annotations

import json
import signal
from datetime import datetime, timezone

import pytest

from hotspotd.plumbing.processes import BACK_OFFICE
from hotspotd.sessions import AccountingRecord, AcctStatus, apply_accounting
from hotspotd.sim.daraja.wire import c2b_body, masked_msisdn
from hotspotd.sim.sms import SmsSimulator
from hotspotd import config as config_mod
from hotspotd.router import add_router
from hotspotd.store.db import db, open_database
from hotspotd.store.models import C2BTransaction, Event, Payment, Session, SmsMessage, Subscription

from ..money import site_settings
from .site import CALLBACK_TOKEN, Site, admin_login, http, wait_for

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse"
NO_MATCH = "No paid M-Pesa payment matches that code and phone number. Check both and try again."


@pytest.fixture(scope="module")
def sms():
    with SmsSimulator(report_delay=0.2) as sim:
        yield sim


@pytest.fixture(scope="module")
def site(tmp_path_factory, daraja, sms):
    folder = tmp_path_factory.mktemp("money")
    site = Site(folder, daraja.url, **site_settings(folder, daraja, sms))
    sms.report_url = f"{site.portal}/api/sms/report/{CALLBACK_TOKEN}"
    site.cli("package", "add", "--name", "Hour", "--price", "10", "--duration", "1h")
    site.cli("package", "add", "--name", "Day", "--price", "50", "--duration", "1d")
    site.cli("admin", "add", "boss", stdin=PASSWORD + "\n")
    site.cli("admin", "add", "clerk", "--role", "operator", stdin=PASSWORD + "\n")
    site.cli("mpesa", "register-c2b")
    site.cli("mpesa", "register-pull", "--nominated-number", "0722000000")
    site.start("portal")
    site.start(BACK_OFFICE)
    open_database(config_mod.load(site.config_path).app_db_path)
    yield site
    site.stop()
    db.close()


def paid_status(site, ref: str, mac: str, timeout: float = 60) -> dict:
    def check():
        status, body = http("GET", f"{site.portal}/api/portal/payments/{ref}?mac={mac}")
        return body if status == 200 and body["status"] == "paid" else None
    return wait_for(check, timeout, f"payment {ref} paid")


def test_a_paybill_payment_whose_confirmation_was_lost_is_found_by_the_pull(site, daraja):
    mac = "AA:BB:CC:00:17:01"
    status, offer = http("POST", site.portal + "/api/portal/paybill", {"package_id": 1, "mac": mac})
    assert status == 201, offer
    daraja.c2b.drop_confirmations = True  # the money moves; no confirmation ever comes
    paid = daraja.c2b.pay(amount=10, phone="254712345126", account=offer["account"])
    assert paid["done"].wait(15) and paid["confirmations"] == [] and paid["validation"]["status"] == 200
    body = paid_status(site, offer["payment_id"], mac)
    assert body["username"] and body["method"] == "c2b"
    row = C2BTransaction.get(C2BTransaction.trans_id == paid["trans_id"])
    assert (row.source, row.outcome) == ("pull", "matched")
    # The confirmation arrives after all, late: answered, and applied once.
    late = c2b_body(trans_id=paid["trans_id"], when=datetime.now(timezone.utc), amount=10,
                    short_code=daraja.shortcode, bill_ref=offer["account"], msisdn=masked_msisdn("254712345126"),
                    balance="10.00")
    answer = http("POST", f"{site.portal}/api/payments/c2b-confirmation/{CALLBACK_TOKEN}", late)
    assert answer == (200, {"ResultCode": 0, "ResultDesc": "Success"})
    payment = Payment.get(Payment.ref == offer["payment_id"])
    processed = [e for e in Event.select().where(Event.type == "payment.processed") if e.data["payment_id"] == payment.id]
    assert len(processed) == 1 and C2BTransaction.select().where(C2BTransaction.trans_id == paid["trans_id"]).count() == 1
    daraja.c2b.drop_confirmations = False
    login = admin_login(f"http://127.0.0.1:{site.admin_port}", "boss", PASSWORD)[1]
    status, pull = login.get("/api/admin/pull")
    assert status == 200 and pull["enabled"] and pull["recorded"] >= 1 and pull["unchecked"] == []


def restore(site, receipt: str, phone: str, mac: str) -> tuple[int, dict]:
    status, body = http("POST", site.portal + "/api/portal/restore", {"receipt": receipt, "phone": phone, "mac": mac})
    if status != 202:
        return status, body
    return wait_for(lambda: (a := http("GET", f"{site.portal}/api/portal/restore/{body['restore_id']}?mac={mac}"))[0]
                    != 202 and a, 30, "the Transaction Status check")


def test_already_paid_with_a_receipt_hotspotd_never_heard_of(site, daraja):
    daraja.ledger.add("QE2E17AB01", kind="c2b", amount=50, phone="254712300001", short_code=daraja.shortcode)
    status, body = restore(site, "QE2E17AB01", "0712300001", "AA:BB:CC:00:17:02")
    assert status == 200 and body["username"] and body["package"] == "Day", body
    assert Payment.get(Payment.receipt == "QE2E17AB01").status == "paid"
    daraja.ledger.add("QE2E17AB02", kind="c2b", amount=50, phone="254712300002", short_code="600111")
    daraja.ledger.add("QE2E17AB03", kind="c2b", amount=50, phone="254712300003", short_code=daraja.shortcode)
    daraja.ledger.add("QE2E17AB04", kind="c2b", amount=5, phone="254712300004", short_code=daraja.shortcode)
    for receipt, phone in (("QE2E17AB02", "0712300002"), ("QE2E17AB03", "0712399999"), ("QE2E17AB04", "0712300004")):
        assert restore(site, receipt, phone, "AA:BB:CC:00:17:03") == (404, {"error": NO_MATCH}), receipt
    assert not Payment.select().where(Payment.receipt.in_(["QE2E17AB02", "QE2E17AB03", "QE2E17AB04"])).exists()


def test_a_refund_reverses_ends_the_package_and_disconnects_once(site, daraja):
    mac = "AA:BB:CC:00:17:04"
    status, started = http("POST", site.portal + "/api/portal/pay", {"package_id": 1, "phone": "0712300010", "mac": mac})
    assert status == 202
    body = paid_status(site, started["payment_id"], mac)
    payment = Payment.get(Payment.ref == started["payment_id"])
    gate = add_router(name="gate", host="127.0.0.2", secret="router-secret-1", nas_ip="127.0.0.2")
    apply_accounting([AccountingRecord(router_id=gate.id, status_type=AcctStatus.START, acct_session_id="e2e-17",
                                       username=body["username"], mac=mac, ip="10.5.50.17")],
                     datetime.now(timezone.utc))  # the router says the device is online
    boss = admin_login(f"http://127.0.0.1:{site.admin_port}", "boss", PASSWORD)[1]
    clerk = admin_login(f"http://127.0.0.1:{site.admin_port}", "clerk", PASSWORD)[1]
    status, detail = boss.get(f"/api/admin/payments/{payment.id}")
    assert status == 200 and detail["refundable"] and detail["usage"]["sessions"] == 1
    assert clerk.post(f"/api/admin/payments/{payment.id}/refund", {"reason": "wrong package"})[0] == 403
    status, asked = boss.post(f"/api/admin/payments/{payment.id}/refund", {"reason": "wrong package"})
    assert status == 202 and asked["refund"]["status"] in ("requested", "sent", "done"), asked
    status, again = boss.post(f"/api/admin/payments/{payment.id}/refund", {"reason": "wrong package"})
    assert status == 409 and ("once" in again["error"] or "refunded" in again["error"])
    wait_for(lambda: Payment.get_by_id(payment.id).status == "refunded", 30, "the refund")
    assert Subscription.get_by_id(payment.subscription_id).status == "expired"
    assert Session.get(Session.acct_session_id == "e2e-17").disconnect_requested_at is not None
    assert boss.post(f"/api/admin/payments/{payment.id}/refund", {"reason": "once more"})[0] == 409
    reversals = [r for r in daraja.initiator.requests if r.get("CommandID") == "TransactionReversal"]
    assert [r["TransactionID"] for r in reversals] == [payment.receipt]
    status, shown = http("GET", f"{site.portal}/api/portal/payments/{started['payment_id']}?mac={mac}")
    assert shown["status"] == "refunded" and "password" not in shown
    types = {s["step"] for s in boss.get(f"/api/admin/payments/{payment.id}")[1]["steps"]}
    assert {"refund_requested", "refunded"} <= types


def test_every_grant_is_texted_once_through_replays_and_a_killed_worker(site, daraja, sms):
    mac = "AA:BB:CC:00:17:05"
    status, started = http("POST", site.portal + "/api/portal/pay", {"package_id": 1, "phone": "0712300020", "mac": mac})
    assert status == 202
    paid_status(site, started["payment_id"], mac)
    payment = Payment.get(Payment.ref == started["payment_id"])
    to = "+254712300020"
    wait_for(lambda: [m for m in sms.messages if m["fields"]["to"] == to], 30, "the receipt text")
    callback = next(c["body"] for c in daraja.callbacks if c["body"]["Body"]["stkCallback"]["CheckoutRequestID"]
                    == payment.checkout_request_id)
    for _ in range(3):  # Daraja sends the callback again
        assert http("POST", site.callback_url, raw=json.dumps(callback).encode())[0] == 200
    site.kill(BACK_OFFICE, signal.SIGKILL)
    site.start(BACK_OFFICE)  # the reconciler catches up at once; the outbox is the record
    wait_for(lambda: SmsMessage.get(SmsMessage.grant_key == f"payment:{payment.id}").status == "delivered", 30,
             "the delivery report")
    # The restarted worker texts the next grant: by then it has passed over the first one again.
    status, later = http("POST", site.portal + "/api/portal/pay", {"package_id": 1, "phone": "0712300021",
                                                                   "mac": "AA:BB:CC:00:17:06"})
    assert status == 202
    wait_for(lambda: [m for m in sms.messages if m["fields"]["to"] == "+254712300021"], 60, "the next receipt")
    assert len([m for m in sms.messages if m["fields"]["to"] == to]) == 1
    text = [m for m in sms.messages if m["fields"]["to"] == to][0]["fields"]["message"]
    assert "Hour" in text and Payment.get_by_id(payment.id).customer.credentials[0].username in text
    boss = admin_login(f"http://127.0.0.1:{site.admin_port}", "boss", PASSWORD)[1]
    status, listed = boss.get("/api/admin/sms")
    assert status == 200 and listed["enabled"] and listed["summary"]["delivered"] >= 1 and listed["summary"]["cost"]
