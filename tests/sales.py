"""Making sales in-process for the console's tests: a payment taken through the real state
machine (pushed, callback recorded, applied, provisioned), a router and a device's session."""

from __future__ import annotations

import json
from datetime import datetime
from itertools import count

from hotspotd.router import provisioning
from hotspotd.billing import payments
from hotspotd.billing.callbacks import record_callback
from hotspotd.billing.packages import get_package
from hotspotd.router import add_router
from hotspotd.sessions import AccountingRecord, AcctStatus, apply_accounting
from hotspotd.store.models import Payment

_numbers = count(1)


def callback_body(checkout: str, amount: float, receipt: str, phone: str = "254712345678", code: int = 0) -> bytes:
    stk = {"MerchantRequestID": "m-1", "CheckoutRequestID": checkout, "ResultCode": code,
           "ResultDesc": "The service request is processed successfully." if code == 0 else "Request cancelled by user"}
    if code == 0:
        stk["CallbackMetadata"] = {"Item": [{"Name": "Amount", "Value": float(amount)},
                                            {"Name": "MpesaReceiptNumber", "Value": receipt}, {"Name": "Balance"},
                                            {"Name": "TransactionDate", "Value": 20261123120000},
                                            {"Name": "PhoneNumber", "Value": int(phone)}]}
    return json.dumps({"Body": {"stkCallback": stk}}).encode()


def pending_payment(package_id: int, at: datetime, phone: str = "254712345678", mac: str | None = None,
                    customer_id: int | None = None) -> Payment:
    """A pushed STK payment; `mac`: from a device a router confirmed; `customer_id`: "buy more"."""
    n = next(_numbers)
    payment = payments.start(get_package(package_id), phone, mac=mac, ip="10.5.50.7", now=at, verified=bool(mac),
                             customer_id=customer_id)
    payments.pushed(payment, checkout_request_id=f"ws_CO_{n:06d}", merchant_request_id=f"m-{n}", now=at)
    return Payment.get_by_id(payment.id)


def paid_payment(package_id: int, at: datetime, phone: str = "254712345678", mac: str | None = None,
                 provision: bool = True, customer_id: int | None = None) -> Payment:
    payment = pending_payment(package_id, at, phone, mac, customer_id)
    record_callback(callback_body(payment.checkout_request_id, payment.amount, f"RC{payment.id:08d}", phone),
                    remote_addr="127.0.0.1", now=at)
    applied = payments.apply(payment.id, at)
    if provision:
        # The console's tests have no api-mode routers, so provisioning never needs the runtime.
        provisioning.provision(None, [applied.subscription_id], at)
    return Payment.get_by_id(payment.id)


def router(name: str = "gate", nas_ip: str = "127.0.0.1"):
    return add_router(name=name, host=nas_ip, secret="router-secret-1", nas_ip=nas_ip)


def session_start(router_id: int, username: str, at: datetime, session_id: str, mac: str = "AA:BB:CC:00:00:01"):
    apply_accounting([AccountingRecord(router_id=router_id, status_type=AcctStatus.START, acct_session_id=session_id,
                                       username=username, mac=mac, ip="10.5.50.7")], at)


def session_stop(router_id: int, username: str, at: datetime, session_id: str):
    apply_accounting([AccountingRecord(router_id=router_id, status_type=AcctStatus.STOP, acct_session_id=session_id,
                                       username=username, input_octets=1000, output_octets=5000)], at)
