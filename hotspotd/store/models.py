"""The records hotspotd keeps, named as the operator names them.

Times are timezone-aware UTC datetimes in Python and fixed-width ISO text in SQLite
(`2026-11-23T08:00:00.000000Z`), so they sort and compare correctly as text and read
well in `sqlite-utils`. The schema itself is created by numbered migrations
(`migrations.py`), not by `create_table`.
"""

from __future__ import annotations

import peewee

from .base import BaseModel, JSONField, UTCDateTimeField, from_db_time, iso, to_db_time
from .money_models import InitiatorRequest, PullGap, PullState, SmsMessage
from .upkeep import (Alert, AlertMessage, BlockedDevice, Counter, DailyUsage, FailedTask, HealthLog, RadiusReader,
                     SyncState)

__all__ = ["ALL_MODELS", "AdminSession", "AdminUser", "Alert", "AlertMessage", "BaseModel", "BlockedDevice",
           "C2BTransaction", "Counter", "Credential", "Customer", "DailyUsage", "DeviceBinding", "Event", "FailedTask",
           "HealthLog", "InitiatorRequest", "JSONField", "MpesaCallback", "Package", "Payment", "PaymentDevice",
           "PullGap", "PullState", "RadiusReader", "Router", "RouterSession", "Session", "Setting", "SmsMessage",
           "Subscriber", "SubscriberReminder", "Subscription", "SyncState", "Trial", "UTCDateTimeField", "Voucher",
           "from_db_time", "iso", "to_db_time"]


class Package(BaseModel):
    """What a customer buys: time, speed, optional data cap, number of devices."""

    name = peewee.TextField()
    price = peewee.IntegerField()  # whole Kenyan shillings (Daraja takes whole numbers)
    duration_s = peewee.IntegerField()
    rate_limit = peewee.TextField(default="")  # MikroTik rate-limit string, rx/tx as the router sees it
    data_limit = peewee.BigIntegerField(null=True)  # bytes; None = no cap
    devices = peewee.IntegerField(default=1)
    active = peewee.BooleanField(default=True)
    created_at = UTCDateTimeField()
    central_id = peewee.IntegerField(null=True, unique=True)  # the package as the central server numbers it
    service = peewee.TextField(default="hotspot")  # hotspot (sold on the portal) | pppoe (a home subscriber's plan)


class Customer(BaseModel):
    """An account: what one device (or the devices its package admits) bought, known by the
    phone that paid (M-Pesa; one phone may pay for several accounts, a family's phones each
    get their own) or only by the voucher redeemed."""

    phone = peewee.TextField(null=True, index=True)  # 254 + 9 digits
    created_at = UTCDateTimeField()


class Credential(BaseModel):
    """The username and password a customer's devices log in with (RADIUS, hotspot)."""

    customer = peewee.ForeignKeyField(Customer, unique=True, backref="credentials", on_delete="CASCADE")
    username = peewee.TextField(unique=True)
    # Kept in clear on purpose: CHAP, which every MikroTik hotspot uses by default,
    # needs the server to know the password itself.
    password = peewee.TextField()
    created_at = UTCDateTimeField()


class Subscription(BaseModel):
    """A period of access bought with one or more payments or vouchers."""

    customer = peewee.ForeignKeyField(Customer, backref="subscriptions", on_delete="CASCADE")
    package = peewee.ForeignKeyField(Package, backref="subscriptions")
    status = peewee.TextField(default="active")  # active | expired
    starts_at = UTCDateTimeField()
    ends_at = UTCDateTimeField(index=True)
    data_limit = peewee.BigIntegerField(null=True)
    bytes_used = peewee.BigIntegerField(default=0)
    mac = peewee.TextField(null=True)  # device bound for MAC login, upper-case
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    provisioned_at = UTCDateTimeField(null=True)
    expired_at = UTCDateTimeField(null=True)
    provision_tried_at = UTCDateTimeField(null=True)
    provision_error = peewee.TextField(null=True)


class Payment(BaseModel):
    """One M-Pesa STK push and what became of it.

    status: pending (push accepted, no result yet) | received (paid, not yet applied) |
    paid (applied: subscription and credentials exist) | failed | cancelled | expired.
    """

    ref = peewee.TextField(unique=True)  # the unguessable id the portal shows
    package = peewee.ForeignKeyField(Package, backref="payments")
    customer = peewee.ForeignKeyField(Customer, null=True, backref="payments")
    subscription = peewee.ForeignKeyField(Subscription, null=True, backref="payments")
    phone = peewee.TextField()
    amount = peewee.IntegerField()  # what was asked
    amount_paid = peewee.DecimalField(max_digits=12, decimal_places=2, null=True)
    status = peewee.TextField(default="pending", index=True)
    reason = peewee.TextField(null=True)
    result_code = peewee.TextField(null=True)
    result_desc = peewee.TextField(null=True)
    merchant_request_id = peewee.TextField(null=True)
    checkout_request_id = peewee.TextField(null=True, unique=True)
    receipt = peewee.TextField(null=True, unique=True)
    mac = peewee.TextField(null=True)
    ip = peewee.TextField(null=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    resolved_at = UTCDateTimeField(null=True)  # when the result became known
    applied_at = UTCDateTimeField(null=True)
    queried_at = UTCDateTimeField(null=True)
    query_count = peewee.IntegerField(default=0)
    verified = peewee.BooleanField(default=False)  # a router confirmed `mac` is the device that paid
    method = peewee.TextField(default="stk")  # stk (the prompt on the phone) | c2b (Paybill, typed by hand)
    account = peewee.TextField(null=True, unique=True)  # the Paybill account number the portal showed (c2b)
    account_released = peewee.TextField(null=True)  # the number, once handed out again (c2b.RECYCLE_AFTER)
    lang = peewee.TextField(null=True)  # the customer's language (en|sw): their texts are in it
    notify_phone = peewee.TextField(null=True)  # a number typed for the receipt SMS (a Paybill payer's is masked)
    refunded_at = UTCDateTimeField(null=True)
    subscriber = peewee.DeferredForeignKey("Subscriber", null=True, backref="payments")  # a home subscriber's payment


class MpesaCallback(BaseModel):
    """Callback bodies as they arrived, for audit and for the operator: every one that
    records a result or money, whole; of the rest (malformed, duplicate, a failed result
    for no payment of ours) a sample (`sampled`, clipped: `truncated`; hotspotd.store.sampling).

    outcome: recorded | duplicate | orphan (no such CheckoutRequestID) | malformed.
    """

    received_at = UTCDateTimeField()
    body = peewee.TextField()
    checkout_request_id = peewee.TextField(null=True, index=True)
    outcome = peewee.TextField()
    error = peewee.TextField(null=True)
    remote_addr = peewee.TextField(null=True)
    sampled = peewee.BooleanField(default=False)
    truncated = peewee.BooleanField(default=False)


class Voucher(BaseModel):
    code = peewee.TextField(unique=True)
    package = peewee.ForeignKeyField(Package, backref="vouchers")
    batch = peewee.TextField()
    created_at = UTCDateTimeField()
    redeemed_at = UTCDateTimeField(null=True)
    customer = peewee.ForeignKeyField(Customer, null=True, backref="vouchers")
    subscription = peewee.ForeignKeyField(Subscription, null=True, backref="vouchers")
    mac = peewee.TextField(null=True)
    voided_at = UTCDateTimeField(null=True)  # an unused code taken out of circulation


class Router(BaseModel):
    """A MikroTik (NAS): its API login and its RADIUS shared secret."""

    name = peewee.TextField(unique=True)
    host = peewee.TextField()
    api_port = peewee.IntegerField(default=8728)
    api_user = peewee.TextField(default="")
    api_password = peewee.TextField(default="")
    secret = peewee.TextField()
    nas_ip = peewee.TextField(unique=True)
    coa_port = peewee.IntegerField(default=3799)
    require_message_authenticator = peewee.BooleanField(null=True)  # None = site default
    status = peewee.TextField(default="unknown")  # unknown | online | offline
    last_seen_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField()
    mode = peewee.TextField(default="radius")  # radius | api (hotspot users on the router)
    api_tls = peewee.BooleanField(default=False)
    api_fingerprint = peewee.TextField(null=True)  # sha256 of the API certificate, to pin
    ros_version = peewee.TextField(null=True)
    board = peewee.TextField(null=True)
    uptime_s = peewee.IntegerField(null=True)
    cpu_load = peewee.IntegerField(null=True)
    free_memory = peewee.BigIntegerField(null=True)
    probed_at = UTCDateTimeField(null=True)
    failures = peewee.IntegerField(default=0)  # consecutive failed probes
    last_error = peewee.TextField(null=True)
    deploy_state = JSONField(null=True)  # {"run", "done": [steps], "failed": step, "error"}
    deployed_at = UTCDateTimeField(null=True)
    sessions_at = UTCDateTimeField(null=True)
    login_hosts = JSONField(null=True)  # where its hotspot's login page is: addresses, DNS name (the probe reads)
    hotspot_allowed = peewee.BooleanField(null=True)  # device-mode's hotspot flag (None: no device-mode, < 7.17)
    services = peewee.TextField(default="")  # deployed: hotspot,pppoe,dhcp (the RADIUS entry serves them all)


class Session(BaseModel):
    """A device's time online as the router reports it over RADIUS accounting."""

    router = peewee.ForeignKeyField(Router, backref="sessions", on_delete="CASCADE")
    acct_session_id = peewee.TextField()
    username = peewee.TextField(index=True)
    subscription = peewee.ForeignKeyField(Subscription, null=True, backref="sessions")
    mac = peewee.TextField(null=True)
    ip = peewee.TextField(null=True)
    status = peewee.TextField(default="open", index=True)  # open | closed
    started_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    stopped_at = UTCDateTimeField(null=True)
    input_bytes = peewee.BigIntegerField(default=0)
    output_bytes = peewee.BigIntegerField(default=0)
    session_time = peewee.IntegerField(default=0)
    terminate_cause = peewee.TextField(null=True)
    # Set by an admin kick or the enforcement sweep; the RADIUS role delivers it (RFC 5176).
    disconnect_requested_at = UTCDateTimeField(null=True)
    disconnect_reason = peewee.TextField(null=True)
    disconnect_attempts = peewee.IntegerField(default=0)
    disconnect_next_at = UTCDateTimeField(null=True)
    disconnected_at = UTCDateTimeField(null=True)
    kind = peewee.TextField(default="hotspot")  # hotspot | pppoe (Framed-Protocol PPP)
    subscriber = peewee.DeferredForeignKey("Subscriber", null=True, backref="sessions")

    class Meta:
        indexes = ((("router", "acct_session_id"), True),)


class RouterSession(BaseModel):
    """A device online at a router as the router lists it (hotspot active, PPPoE active)."""

    router = peewee.ForeignKeyField(Router, backref="live_sessions", on_delete="CASCADE")
    kind = peewee.TextField()  # hotspot | pppoe
    active_id = peewee.TextField()  # the router's .id (changes on reboot)
    user = peewee.TextField()
    mac = peewee.TextField(null=True)
    ip = peewee.TextField(null=True)
    uptime_s = peewee.IntegerField(null=True)
    bytes_in = peewee.BigIntegerField(null=True)
    bytes_out = peewee.BigIntegerField(null=True)
    first_seen_at = UTCDateTimeField()
    seen_at = UTCDateTimeField()


class Event(BaseModel):
    """The outbox: every state change writes one in the same transaction."""

    type = peewee.TextField(index=True)
    at = UTCDateTimeField()
    data = JSONField()
    synced_at = UTCDateTimeField(null=True)


class AdminUser(BaseModel):
    """A console account. role: admin (everything) | operator (sell, look up, kick, vouchers)."""

    username = peewee.TextField(unique=True)
    password_hash = peewee.TextField()
    created_at = UTCDateTimeField()
    role = peewee.TextField(default="admin")
    password_changed_at = UTCDateTimeField(null=True)


class AdminSession(BaseModel):
    """A console login: the cookie's token is kept only as its SHA-256."""

    token_hash = peewee.TextField(primary_key=True)
    admin_user = peewee.ForeignKeyField(AdminUser, backref="sessions", on_delete="CASCADE")
    csrf_token = peewee.TextField()
    created_at = UTCDateTimeField()
    seen_at = UTCDateTimeField()
    remote_addr = peewee.TextField(null=True)
    user_agent = peewee.TextField(null=True)


class Setting(BaseModel):
    """Run-time settings an operator may change without a restart (e.g. queue mode)."""

    key = peewee.TextField(primary_key=True)
    value = JSONField()
    updated_at = UTCDateTimeField()


class C2BTransaction(BaseModel):
    """Every Daraja C2B (Paybill) confirmation, once per TransID, as it arrived.

    outcome: matched (applied to the payment of its account number) | unmatched (kept for
    the operator: unknown account, or one already paid) | duplicate (its receipt was known
    already) | malformed (a sample of them).
    """

    trans_id = peewee.TextField(null=True, unique=True)
    received_at = UTCDateTimeField()
    body = peewee.TextField()
    short_code = peewee.TextField(null=True)
    bill_ref = peewee.TextField(null=True)  # the account number the customer typed
    amount = peewee.TextField(null=True)  # as Daraja sent it ("10.00")
    msisdn = peewee.TextField(null=True)  # masked (2547 ***** 126) or hashed by Daraja: never a full number
    outcome = peewee.TextField()
    error = peewee.TextField(null=True)
    payment = peewee.ForeignKeyField(Payment, null=True, backref="c2b_transactions")
    remote_addr = peewee.TextField(null=True)
    sampled = peewee.BooleanField(default=False)  # malformed: one of the hour's sample (hotspotd.store.sampling)
    truncated = peewee.BooleanField(default=False)
    source = peewee.TextField(default="confirmation")  # confirmation | pull (Pull Transactions found it)

    class Meta:
        table_name = "c2b_transaction"


class PaymentDevice(BaseModel):
    """A device that got a payment's credentials through "already paid?" (counted against
    the package's device limit, with the device that paid)."""

    payment = peewee.ForeignKeyField(Payment, backref="devices")
    device = peewee.TextField()  # the MAC, or the IP when no MAC is known
    mac = peewee.TextField(null=True)
    ip = peewee.TextField(null=True)
    created_at = UTCDateTimeField()

    class Meta:
        indexes = ((("payment", "device"), True),)


class DeviceBinding(BaseModel):
    """A device an account's credentials work on (hotspotd.billing.bindings)."""

    customer = peewee.ForeignKeyField(Customer, backref="bindings", on_delete="CASCADE")
    mac = peewee.TextField()  # AA:BB:CC:DD:EE:FF
    how = peewee.TextField()  # paid | redeemed | restored | first login | trial
    created_at = UTCDateTimeField()

    class Meta:
        table_name = "device_binding"
        indexes = ((("customer", "mac"), True),)


class Trial(BaseModel):
    """A free trial taken by a device (its MAC) on one local day."""

    device = peewee.TextField()
    day = peewee.TextField()  # YYYY-MM-DD in the site's time zone
    ip = peewee.TextField(null=True)
    subscription = peewee.ForeignKeyField(Subscription, null=True, backref="trials")
    created_at = UTCDateTimeField()

    class Meta:
        indexes = ((("device", "day"), True),)


class Subscriber(BaseModel):
    """A home subscriber over PPPoE: a monthly plan paid by Paybill with a permanent account.

    The period [period_start, period_end) is paid for; after it (and the grace) the
    subscriber is suspended: RADIUS puts them in the suspended pool (or refuses them).
    `status` is what the worker last recorded (active | suspended); `held` is a suspension
    by the operator, whatever was paid. `balance_cents` is money paid towards the next period.
    """

    name = peewee.TextField()
    phone = peewee.TextField(null=True)  # 254 + 9 digits
    account = peewee.TextField(unique=True)  # what they type as the Paybill account number
    username = peewee.TextField(unique=True)
    password = peewee.TextField()  # in clear: CHAP and MS-CHAPv2 need it (printable ASCII)
    package = peewee.ForeignKeyField(Package, backref="subscribers")
    static_ip = peewee.TextField(null=True)
    mac = peewee.TextField(null=True)  # the CPE bound to the account, upper-case
    language = peewee.TextField(default="en")  # en | sw, for reminders
    period_start = UTCDateTimeField()
    period_end = UTCDateTimeField(index=True)
    balance_cents = peewee.IntegerField(default=0)
    status = peewee.TextField(default="active")
    held = peewee.BooleanField(default=False)
    hold_reason = peewee.TextField(null=True)
    suspended_at = UTCDateTimeField(null=True)
    last_payment_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()


class SubscriberReminder(BaseModel):
    """A reminder due to a subscriber, recorded once per period and kind (before | due)."""

    subscriber = peewee.ForeignKeyField(Subscriber, backref="reminders", on_delete="CASCADE")
    period_end = UTCDateTimeField()
    kind = peewee.TextField()
    phone = peewee.TextField(null=True)
    language = peewee.TextField()
    text = peewee.TextField()
    created_at = UTCDateTimeField()

    class Meta:
        table_name = "subscriber_reminder"


ALL_MODELS = (
    Package, Customer, Credential, Subscription, Payment, MpesaCallback, Voucher,
    Router, Session, RouterSession, Event, AdminUser, Setting, HealthLog, FailedTask, SyncState, BlockedDevice,
    AdminSession, Counter, Alert, AlertMessage, DailyUsage, RadiusReader, C2BTransaction, PaymentDevice, Trial,
    DeviceBinding, PullState, PullGap, InitiatorRequest, SmsMessage, Subscriber, SubscriberReminder,
)
