"""The SMS outbox against the Africa's Talking simulator (real HTTP on loopback): one
receipt per grant whatever is replayed, texts in the customer's language with the login,
retries with backoff when the gateway said no, never twice when it may have taken one,
delivery reports recorded, "text me my login" limited per number, and the alert."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from hotspotd.devices import claimed
from hotspotd.alerts import conditions
from hotspotd.billing import payments, vouchers
from hotspotd.billing.packages import add_package, get_package
from hotspotd.console.audit import Actor
from hotspotd.errors import Conflict, InvalidInput, RateLimited
from hotspotd.plumbing import tasks
from hotspotd.sms import figures, outbox, receipts, texts
from hotspotd.sms.africastalking import AfricasTalkingClient
from hotspotd.sms.outbox import Gateway, HandoverSession
from hotspotd.store.db import utcnow, write_transaction
from hotspotd.store.models import Event, Payment, SmsMessage, Subscription

from ..loopback import free_port, wait_for
from ..sales import paid_payment, pending_payment

PHONE = "254712345678"


@pytest.fixture
def sms(make_sms):
    return make_sms(report_url="")


@pytest.fixture
def gateway(sms):
    session = HandoverSession()
    gateway = Gateway(AfricasTalkingClient(sms.url, "sim-user", "sim-api-key", "HOTSPOT", timeout=2, session=session),
                      session)
    yield gateway
    gateway.close()


@pytest.fixture
def hour(store, config, sms):
    # Texts on, and never to the real gateway: the worker's own client goes to the simulator too.
    config.sms.provider, config.sms.base_url = "africastalking", sms.url
    config.sms.username, config.sms.api_key = "sim-user", "sim-api-key"
    config.portal.public_url = "http://wifi.example.test"
    return add_package(name="Hour", price=10, duration="1h", now=utcnow())


def sent_texts(sms) -> list[str]:
    return [m["fields"]["message"] for m in sms.messages]


def test_a_paid_payment_gets_one_receipt_whatever_is_replayed(runtime, hour, sms, gateway):
    payment = pending_payment(hour.id, utcnow())
    with write_transaction():
        payments.mark_received(payment.id, receipt="RKL51ZDR4F", amount_paid=10, result_desc="ok", now=utcnow())
    for _ in range(3):  # the worker applies it again after a restart, the reconciler again...
        tasks.apply_payments.func(runtime, [payment.id])
    payment = Payment.get_by_id(payment.id)
    # (the queue runs inline here: the grant queued the receipt, applying sent it at once)
    [row] = SmsMessage.select()
    assert (row.kind, row.grant_key, row.to_phone, row.status) == ("receipt", f"payment:{payment.id}", PHONE, "sent")
    assert outbox.send_due(gateway, runtime.config, utcnow()).sent == []
    [text] = sent_texts(sms)
    username = Subscription.get_by_id(payment.subscription_id).customer.credentials[0].username
    assert "Hour" in text and username in text and "http://wifi.example.test/" in text
    row = SmsMessage.get_by_id(row.id)
    assert row.status == "sent" and row.gateway_id and row.cost == "KES 0.8000"
    [event] = Event.select().where(Event.type == "sms.sent")
    assert event.data["phone"] == "2547*****678" and event.data["sms_id"] == row.id


def test_the_text_is_in_the_customers_language_with_the_local_expiry(runtime, hour, sms, gateway):
    payment = pending_payment(hour.id, utcnow())
    Payment.update(lang="sw").where(Payment.id == payment.id).execute()  # as the portal records it
    with write_transaction():
        payments.mark_received(payment.id, receipt="RKL51ZDR4G", amount_paid=10, result_desc="ok", now=utcnow())
    tasks.apply_payments.func(runtime, [payment.id])
    [text] = sent_texts(sms)
    ends = Subscription.get_by_id(Payment.get_by_id(payment.id).subscription_id).ends_at
    assert "hadi" in text and ends.astimezone(ZoneInfo("Africa/Nairobi")).strftime("%d/%m %H:%M") in text


def test_the_operator_edits_the_templates_and_bad_ones_are_refused(runtime, hour, sms, gateway):
    boss = Actor("alice", "admin")
    with pytest.raises(InvalidInput, match="password"):
        texts.update({"template_en": "Hi {username}"}, utcnow(), by=boss)
    with pytest.raises(InvalidInput, match="unknown"):
        texts.update({"template_en": "{username} {password} {balance}"}, utcnow(), by=boss)
    with pytest.raises(InvalidInput, match="en or sw"):
        texts.update({"language": "fr"}, utcnow(), by=boss)
    texts.update({"template_en": "Karibu {site}! {username}/{password} until {expires}", "language": "en"},
                 utcnow(), by=boss)
    sold = [paid_payment(hour.id, utcnow(), provision=False),
            paid_payment(hour.id, utcnow(), phone="254712000111", provision=False)]
    outbox.send_due(gateway, runtime.config, utcnow())
    assert all(text.startswith("Karibu Hotspot! u") for text in sent_texts(sms)) and len(sms.messages) == 2
    assert Event.get(Event.type == "admin.action").data["action"] == "sms.texts"


def test_a_refusal_that_may_pass_is_tried_again_later_one_that_will_not_fails(runtime, hour, sms, gateway):
    payment = paid_payment(hour.id, utcnow(), provision=False)
    now = utcnow()
    sms.set_failure("server_error", times=1)
    assert outbox.send_due(gateway, runtime.config, now).retrying
    row = SmsMessage.get()
    assert row.status == "queued" and row.next_at == now + timedelta(seconds=outbox.BACKOFF[0]) and row.attempts == 1
    assert outbox.send_due(gateway, runtime.config, now + timedelta(seconds=5)).sent == []  # not yet due
    assert outbox.send_due(gateway, runtime.config, now + timedelta(seconds=31)).sent == [row.id]
    other = paid_payment(hour.id, utcnow(), phone="254712000222", provision=False)
    sms.set_failure("unauthorized", times=1)
    assert outbox.send_due(gateway, runtime.config, utcnow()).failed
    failed = Event.get(Event.type == "sms.failed").data
    assert failed["phone"] == "2547*****222" and "api_key" in failed["reason"]


def test_a_gateway_that_cannot_be_reached_is_tried_again(runtime, hour, sms):
    session = HandoverSession()
    nowhere = Gateway(AfricasTalkingClient(f"http://127.0.0.1:{free_port()}", "u", "k", session=session), session)
    payment = paid_payment(hour.id, utcnow(), provision=False)
    assert outbox.send_due(nowhere, runtime.config, utcnow()).retrying
    assert SmsMessage.get().status == "queued"


def test_no_answer_after_the_handover_is_never_sent_again_and_its_report_still_counts(runtime, hour, sms, gateway):
    payment = paid_payment(hour.id, utcnow(), provision=False)
    sms.set_failure("slow", times=1, seconds=4)  # the gateway takes it, and answers after our time-out
    assert outbox.send_due(gateway, runtime.config, utcnow()).failed
    row = SmsMessage.get()
    assert row.status == "failed" and "may have been sent" in row.error
    assert outbox.send_due(gateway, runtime.config, utcnow() + timedelta(hours=1)).sent == []
    wait_for(lambda: sms.messages, 10, "the slow gateway to take it")
    recipient = sms.messages[0]["recipients"][0]
    report = urlencode({"id": recipient["messageId"], "status": "Success", "phoneNumber": "+" + PHONE,
                        "networkCode": "63902"}).encode()
    assert outbox.record_report(report, "127.0.0.1", utcnow()) == "recorded"
    row = SmsMessage.get()
    assert (row.status, row.gateway_id) == ("delivered", recipient["messageId"])
    assert len(sms.messages) == 1


def test_a_worker_that_stopped_mid_handover_never_sends_it_again(runtime, hour, sms, gateway):
    payment = paid_payment(hour.id, utcnow(), provision=False)
    then = utcnow() - timedelta(minutes=10)
    SmsMessage.update(status="sending", handed_at=then, attempts=1).execute()  # killed while it waited
    outbox.send_due(gateway, runtime.config, utcnow())
    row = SmsMessage.get()
    assert row.status == "failed" and "at most once" in row.error and sms.messages == []


def test_delivery_reports_move_texts_on_and_strangers_are_counted(runtime, hour, sms, gateway):
    payment = paid_payment(hour.id, utcnow(), provision=False)
    outbox.send_due(gateway, runtime.config, utcnow())
    row = SmsMessage.get()
    failed = urlencode({"id": row.gateway_id, "status": "Failed", "phoneNumber": "+" + PHONE,
                        "failureReason": "AbsentSubscriber"}).encode()
    assert outbox.record_report(failed, "127.0.0.1", utcnow()) == "recorded"
    assert SmsMessage.get().status == "failed" and "AbsentSubscriber" in SmsMessage.get().error
    assert outbox.record_report(b"id=ATXid_nobody&status=Success&phoneNumber=%2B254700000000", "10.0.0.1",
                                utcnow()) == "unknown"
    assert outbox.record_report(b"nothing here", "10.0.0.1", utcnow()) == "malformed"
    summary = figures.summary(utcnow() - timedelta(days=1))
    assert summary["failed"] == 1 and summary["cost"] == {"KES": 0.8}


def test_a_receipt_without_a_number_waits_for_one_typed(runtime, hour, sms, gateway):
    code = vouchers.make(get_package(hour.id), 1, utcnow())[0]
    redeemed = vouchers.redeem(code, device=claimed("AA:BB:CC:00:00:01"), now=utcnow())
    row = SmsMessage.get()
    voucher_id = vouchers.Voucher.get(vouchers.Voucher.code == code).id
    assert (row.grant_key, row.to_phone, row.status) == (f"voucher:{voucher_id}", None, "queued")
    assert outbox.send_due(gateway, runtime.config, utcnow()).sent == []
    assert receipts.note_phone(customer_id=redeemed.customer_id, phone="0712 345 678", now=utcnow(), lang="sw") == 1
    assert outbox.send_due(gateway, runtime.config, utcnow()).sent == [row.id]
    assert sms.messages[0]["fields"]["to"] == "+" + PHONE and "hadi" in sent_texts(sms)[0]


def test_a_paybill_payers_masked_number_is_never_texted(runtime, hour):
    payment = pending_payment(hour.id, utcnow(), phone="")
    with write_transaction():
        payments.mark_received(payment.id, receipt="RKL51ZDR4F", amount_paid=10, result_desc="ok", now=utcnow())
    payments.apply(payment.id, utcnow())
    assert SmsMessage.get().to_phone is None


def test_a_number_typed_while_waiting_for_a_paybill_payment_gets_its_receipt(runtime, hour, sms, gateway):
    payment = pending_payment(hour.id, utcnow(), phone="")
    receipts.note_payment_phone(payment.ref, "0712 345 678", utcnow(), lang="sw")
    with write_transaction():
        payments.mark_received(payment.id, receipt="RKL51ZDR4H", amount_paid=10, result_desc="ok", now=utcnow())
    tasks.apply_payments.func(runtime, [payment.id])
    [message] = sms.messages
    assert message["fields"]["to"] == "+" + PHONE and "hadi" in message["fields"]["message"]
    with pytest.raises(InvalidInput):
        receipts.note_payment_phone(payment.ref, "2547 ***** 678", utcnow())


def test_text_me_my_login_is_limited_per_number(runtime, hour, sms, gateway):
    payment = paid_payment(hour.id, utcnow(), provision=False)
    customer = payment.customer_id
    now = utcnow()
    receipts.resend_login(customer, "0712345678", "en", now)
    with pytest.raises(RateLimited) as again:
        receipts.resend_login(customer, "0712345678", "en", now + timedelta(minutes=1))
    assert 230 <= again.value.retry_after <= 240
    receipts.resend_login(customer, "0712345678", "en", now + timedelta(minutes=6))
    receipts.resend_login(customer, "0712345678", "en", now + timedelta(minutes=12))
    with pytest.raises(RateLimited):
        receipts.resend_login(customer, "0712345678", "en", now + timedelta(minutes=18))
    assert outbox.send_due(gateway, runtime.config, now + timedelta(minutes=13)).sent
    assert "password" in sent_texts(sms)[0]
    Subscription.update(ends_at=now - timedelta(seconds=1)).execute()
    with pytest.raises(Conflict):
        receipts.resend_login(customer, "0722000333", "en", now)


def test_the_alert_holds_while_texts_fail_and_clears_once_one_goes(runtime, hour, sms, gateway):
    payment = paid_payment(hour.id, utcnow(), provision=False)
    start = utcnow()
    sms.set_failure("server_error")
    outbox.send_due(gateway, runtime.config, start)
    assert conditions.sms_failing(start + timedelta(minutes=10), 30) == []
    [held] = conditions.sms_failing(start + timedelta(minutes=31), 30)
    assert held.key == "sms" and "500" in held.message
    sms.set_failure("none")
    outbox.send_due(gateway, runtime.config, start + timedelta(minutes=32))
    assert conditions.sms_failing(start + timedelta(minutes=40), 30) == []


def test_with_texts_off_receipts_wait_a_day_then_go_quietly(runtime, hour):
    runtime.config.sms.provider = ""
    payment = paid_payment(hour.id, utcnow(), provision=False)
    assert outbox.send_due(None, runtime.config, utcnow()).sent == [] and SmsMessage.get().status == "queued"
    outbox.send_due(None, runtime.config, utcnow() + timedelta(days=1, minutes=1))
    assert SmsMessage.get().status == "failed" and not Event.select().where(Event.type == "sms.failed").exists()
