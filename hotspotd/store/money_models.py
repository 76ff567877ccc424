"""The records of issue 17: how far Pull Transactions have read, the periods they could not
read, Daraja's initiator requests (Transaction Status, Reversal), and the SMS outbox.
The schema is `money_schema.py`; the code that writes these rows uses plain SQL on its hot
paths and these models for reading."""

from __future__ import annotations

import peewee

from .base import BaseModel, UTCDateTimeField


class PullState(BaseModel):
    """One row: how far Daraja's Pull Transactions have been read (`pulled_to`), and how
    the last passes went."""

    started_at = UTCDateTimeField(null=True)  # the first pass: nothing before it is asked for
    pulled_to = UTCDateTimeField(null=True)
    last_attempt_at = UTCDateTimeField(null=True)
    last_success_at = UTCDateTimeField(null=True)
    last_error = peewee.TextField(null=True)
    failures = peewee.IntegerField(default=0)
    passes = peewee.IntegerField(default=0)
    seen = peewee.IntegerField(default=0)  # transactions Daraja listed, overlaps included
    recorded = peewee.IntegerField(default=0)  # of those, new to hotspotd (no confirmation had come)

    class Meta:
        table_name = "pull_state"


class PullGap(BaseModel):
    """A period Pull Transactions could not read: it had left Daraja's 48 hours before a
    pass could ask (the box, or Daraja, was down that long)."""

    gap_from = UTCDateTimeField()
    gap_to = UTCDateTimeField()
    found_at = UTCDateTimeField()

    class Meta:
        table_name = "pull_gap"


class InitiatorRequest(BaseModel):
    """A Transaction Status query or a Reversal asked of Daraja, and its result.

    kind: status | reversal. status: requested (recorded, not yet accepted by Daraja) |
    sent (accepted: the result will come to the ResultURL) | done | failed. outcome:
    found | not_found (status); refunded | failed (reversal)."""

    ref = peewee.TextField(unique=True)  # the unguessable id the portal polls (restore_id)
    kind = peewee.TextField()
    receipt = peewee.TextField()
    payment_id = peewee.IntegerField(null=True)  # the payment to refund
    package_id = peewee.IntegerField(null=True)
    phone = peewee.TextField(null=True)
    amount = peewee.TextField(null=True)
    mac = peewee.TextField(null=True)
    ip = peewee.TextField(null=True)
    lang = peewee.TextField(null=True)
    reason = peewee.TextField(null=True)
    requested_by = peewee.TextField(null=True)
    status = peewee.TextField()
    outcome = peewee.TextField(null=True)
    conversation_id = peewee.TextField(null=True, unique=True)
    originator_conversation_id = peewee.TextField(null=True, unique=True)
    attempts = peewee.IntegerField(default=0)
    error = peewee.TextField(null=True)
    result_code = peewee.TextField(null=True)
    result_desc = peewee.TextField(null=True)
    result_body = peewee.TextField(null=True)
    found_payment_id = peewee.IntegerField(null=True)
    created_at = UTCDateTimeField()
    sent_at = UTCDateTimeField(null=True)
    result_at = UTCDateTimeField(null=True)
    updated_at = UTCDateTimeField()

    class Meta:
        table_name = "initiator_request"


class SmsMessage(BaseModel):
    """One text to a customer: a receipt (once per grant: `grant_key`) or a login sent again.

    status: queued (waiting to be sent; without `to_phone`, waiting for a number) | sending
    (being handed to the gateway) | sent | delivered | failed."""

    kind = peewee.TextField()  # receipt | login
    grant_key = peewee.TextField(null=True, unique=True)
    customer_id = peewee.IntegerField(null=True)
    subscription_id = peewee.IntegerField(null=True)
    to_phone = peewee.TextField(null=True)  # 254 + 9 digits
    lang = peewee.TextField(null=True)
    text = peewee.TextField(null=True)  # as handed to the gateway
    status = peewee.TextField()
    gateway_id = peewee.TextField(null=True, unique=True)
    gateway_status = peewee.TextField(null=True)
    cost = peewee.TextField(null=True)  # "KES 0.8000", as the gateway wrote it
    attempts = peewee.IntegerField(default=0)
    next_at = UTCDateTimeField(null=True)
    handed_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField()
    sent_at = UTCDateTimeField(null=True)
    delivered_at = UTCDateTimeField(null=True)
    failed_at = UTCDateTimeField(null=True)
    error = peewee.TextField(null=True)

    class Meta:
        table_name = "sms_message"
