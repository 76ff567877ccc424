"""M-Pesa payments end to end: real portal and worker processes, the Daraja simulator."""

import json
import signal
from datetime import timedelta

import pytest

from hotspotd.store.models import Customer, Event, MpesaCallback, Payment, Subscription
from hotspotd.plumbing.processes import BACK_OFFICE

from .site import http, wait_for

pytestmark = pytest.mark.e2e

MAC = "AA:BB:CC:00:00:{:02X}"


def pay(site, phone, n, package_id=1):
    status, body = http("POST", site.portal + "/api/portal/pay",
                        {"package_id": package_id, "phone": phone, "mac": MAC.format(n), "ip": f"10.5.50.{n}"})
    assert status == 202, body
    assert body["status"] == "pending"
    return body["payment_id"]


def poll(site, ref, n, until, timeout=30):
    def check():
        status, body = http("GET", f"{site.portal}/api/portal/payments/{ref}?mac={MAC.format(n)}")
        return body if status == 200 and body["status"] in until else None
    return wait_for(check, timeout, f"payment {ref} to become {until}")


GRANTS = ("payment.processed", "subscription.created", "subscription.extended")


def grants_for(payment) -> dict[str, int]:
    """How many events that grant access (each type apart) name this payment."""
    counts: dict[str, int] = {}
    for event in Event.select().where(Event.type.in_(GRANTS)):
        if event.data.get("payment_id") == payment.id:
            counts[event.type] = counts.get(event.type, 0) + 1
    return counts


def test_paid_stk_push_becomes_an_active_subscription_with_credentials(site, daraja):
    ref = pay(site, "0712000001", 1)
    body = poll(site, ref, 1, ("paid",))
    assert body["username"] and len(body["password"]) == 8 and body["expires_at"].endswith("Z")
    payment = Payment.get(Payment.ref == ref)
    assert payment.receipt and payment.status == "paid"
    sub = Subscription.get_by_id(payment.subscription_id)
    # no router here to confirm the device: its claimed MAC binds nothing (the page that paid,
    # holding the payment id, has the login; a confirmed other device gets none: test_who_is_asking)
    assert sub.status == "active" and sub.mac is None and not payment.verified
    push = next(p for p in daraja.pushes if p["checkout_request_id"] == payment.checkout_request_id)
    assert push["phone"] == "254712000001" and push["amount"] == 10
    assert push["callback_url"] == site.callback_url


def test_cancelled_push_becomes_cancelled(site, daraja):
    daraja.set_outcome("cancelled", phone="254712000002")
    ref = pay(site, "0712000002", 2)
    body = poll(site, ref, 2, ("cancelled", "failed", "expired", "paid"))
    assert body["status"] == "cancelled" and "cancelled" in body["reason"].lower()
    assert "password" not in body
    assert Payment.get(Payment.ref == ref).subscription_id is None


def test_no_callback_is_resolved_by_the_reconcilers_query(site, daraja):
    daraja.set_outcome("no_callback", phone="254712000003")
    ref = pay(site, "0712000003", 3)
    body = poll(site, ref, 3, ("paid",), timeout=60)
    payment = Payment.get(Payment.ref == ref)
    assert body["username"] and payment.query_count >= 1
    assert not MpesaCallback.select().where(MpesaCallback.checkout_request_id == payment.checkout_request_id).exists()


def test_the_same_callback_five_times_yields_one_subscription(site, daraja):
    daraja.duplicate_count = 5
    daraja.set_outcome("duplicate", phone="254712000004")
    before = len(daraja.callbacks)
    ref = pay(site, "0712000004", 4)
    daraja.wait_for_callbacks(before + 5, timeout=30)
    poll(site, ref, 4, ("paid",))
    payment = Payment.get(Payment.ref == ref)
    answers = [c for c in daraja.callbacks if c["body"]["Body"]["stkCallback"]["CheckoutRequestID"] == payment.checkout_request_id]
    assert len(answers) == 5 and all(c["status"] == 200 for c in answers)
    [sub] = Subscription.select().where(Subscription.customer == payment.customer_id)
    assert sub.ends_at - sub.starts_at == timedelta(hours=1)  # one hour bought, one hour given
    outcomes = sorted(c.outcome for c in MpesaCallback.select().where(
        MpesaCallback.checkout_request_id == payment.checkout_request_id))
    assert outcomes == ["duplicate"] * 4 + ["recorded"]
    assert grants_for(payment) == {"payment.processed": 1, "subscription.created": 1}
    assert Event.select().where(Event.type == "payment.processed").count() == \
        Payment.select().where(Payment.status == "paid").count()


def test_an_underpaid_push_fails_and_gives_no_access(site, daraja):
    daraja.set_outcome("success", phone="254712000005", paid_amount=5)  # the package costs 10
    ref = pay(site, "0712000005", 5)
    body = poll(site, ref, 5, ("paid", "failed", "cancelled", "expired"))
    assert body["status"] == "failed" and "underpaid" in body["reason"]
    assert "password" not in body and "username" not in body
    payment = Payment.get(Payment.ref == ref)
    assert (payment.status, payment.amount_paid, payment.subscription_id) == ("failed", 5, None)
    assert payment.receipt  # the money was taken: the operator can find the receipt
    assert not Subscription.select().join(Customer).where(Customer.phone == "254712000005").exists()
    assert grants_for(payment) == {}
    failed = [e for e in Event.select().where(Event.type == "payment.failed") if e.data["payment_id"] == payment.id]
    assert len(failed) == 1 and "underpaid" in failed[0].data["reason"]


def test_killing_the_worker_between_callback_and_processing_loses_nothing(site, daraja):
    site.kill(BACK_OFFICE, signal.SIGKILL)
    refs = [pay(site, f"07120001{n:02d}", 10 + n) for n in range(3)]
    wait_for(lambda: all(Payment.get(Payment.ref == r).status == "received" for r in refs), 30,
             "callbacks recorded while the worker is down")
    # the queue loses its copy too (as if the crash came between commit and enqueue)
    from hotspotd import config as config_mod
    from hotspotd.plumbing import tasks
    from hotspotd.plumbing.queue import Queue
    queue = Queue(config_mod.load(site.config_path).queue_db_path, tasks.ALL, None)
    assert queue.huey.pending_count() >= 3
    queue.huey.flush()
    site.start(BACK_OFFICE)
    for n, ref in enumerate(refs):
        assert poll(site, ref, 10 + n, ("paid",), timeout=60)["username"]


def test_callback_with_wrong_token_is_404_and_changes_nothing(site):
    status, body = http("POST", site.portal + "/api/payments/stk-callback/wrong-token", raw=b"{}")
    assert status == 404
    assert not MpesaCallback.select().where(MpesaCallback.body == "{}").exists()


def test_malformed_callback_is_400_and_kept(site):
    status, body = http("POST", site.callback_url, raw=b'{"Body": {"stkCallback": "garbage-e2e"}}')
    assert status == 400 and body["ResultCode"] == 1
    kept = MpesaCallback.get(MpesaCallback.body.contains("garbage-e2e"))
    assert kept.outcome == "malformed"


def test_oversized_callback_is_refused(site):
    status, _ = http("POST", site.callback_url, raw=b'{"pad": "' + b"x" * (70 * 1024) + b'"}')
    assert status == 413


def test_orphan_callback_is_accepted_and_kept_for_the_operator(site):
    body = {"Body": {"stkCallback": {"MerchantRequestID": "m", "CheckoutRequestID": "ws_CO_unknown_e2e",
                                     "ResultCode": "0", "ResultDesc": "ok", "CallbackMetadata": {"Item": [
                                         {"Name": "Amount", "Value": 10}, {"Name": "MpesaReceiptNumber", "Value": "ORPHAN0001"}]}}}}
    status, answer = http("POST", site.callback_url, raw=json.dumps(body).encode())
    assert status == 200 and answer == {"ResultCode": 0, "ResultDesc": "Accepted"}
    assert MpesaCallback.get(MpesaCallback.checkout_request_id == "ws_CO_unknown_e2e").outcome == "orphan"


def test_portal_refuses_bad_requests_clearly(site, daraja):
    assert http("POST", site.portal + "/api/portal/pay", {"package_id": 1, "phone": "12345"})[0] == 400
    assert http("POST", site.portal + "/api/portal/pay", {"package_id": 999, "phone": "0712000009"})[0] == 404
    assert http("POST", site.portal + "/api/portal/pay", raw=b"not json")[0] == 400
    assert http("GET", site.portal + "/api/portal/payments/nope")[0] == 404
    daraja.fail_next_push("500.003.02", "System is busy")
    status, body = http("POST", site.portal + "/api/portal/pay", {"package_id": 1, "phone": "0712000009"})
    assert status == 502 and "busy" in body["error"].lower()


def test_voucher_redeemed_once_through_the_portal(site):
    code = site.cli("voucher", "make", "--package", "1", "--count", "2").stdout.split()[0]
    status, body = http("POST", site.portal + "/api/portal/voucher", {"code": code, "mac": "AA:00:00:00:00:01"})
    assert status == 200 and body["username"] and body["password"]
    status, body = http("POST", site.portal + "/api/portal/voucher", {"code": code, "mac": "AA:00:00:00:00:02"})
    assert status == 409 and "already" in body["error"]
    assert http("POST", site.portal + "/api/portal/voucher", {"code": "ZZZZZZZZZZ"})[0] == 404
