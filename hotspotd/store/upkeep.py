"""The records of keeping the box running, apart from what it sells: counters other
processes publish, the health log, failed tasks, central sync's state, blocked devices,
alerts and their messages, daily usage roll-ups, how far each RADIUS process has read."""

from __future__ import annotations

import peewee

from .base import BaseModel, JSONField, UTCDateTimeField


class Counter(BaseModel):
    """Counters a process publishes for the others to read (RADIUS decisions and drops,
    task outcomes): one row per (process, name, label), rewritten every few seconds."""

    source = peewee.TextField()
    name = peewee.TextField()
    label = peewee.TextField()
    value = peewee.FloatField()
    updated_at = UTCDateTimeField()

    class Meta:
        primary_key = peewee.CompositeKey("source", "name", "label")


class HealthLog(BaseModel):
    at = UTCDateTimeField(index=True)
    component = peewee.TextField()
    level = peewee.TextField()  # info | warning | error | critical
    message = peewee.TextField()


class FailedTask(BaseModel):
    """A task that used up its retries; `queue retry` sends it again."""

    task = peewee.TextField()
    args = JSONField()
    error = peewee.TextField()
    attempts = peewee.IntegerField()
    failed_at = UTCDateTimeField()
    retried_at = UTCDateTimeField(null=True)


class SyncState(BaseModel):
    """Central sync on this box (one row): the outbox cursor (the highest event id central
    acknowledged), the configuration version applied, and how the last passes went."""

    outbox = peewee.TextField()
    cursor = peewee.IntegerField(default=0)
    config_version = peewee.IntegerField(default=0)
    last_attempt_at = UTCDateTimeField(null=True)
    last_success_at = UTCDateTimeField(null=True)
    last_error = peewee.TextField(null=True)
    last_error_at = UTCDateTimeField(null=True)
    failures = peewee.IntegerField(default=0)  # passes failed in a row (the backoff)
    next_attempt_at = UTCDateTimeField(null=True)
    events_sent = peewee.IntegerField(default=0)
    bytes_sent = peewee.IntegerField(default=0)


class BlockedDevice(BaseModel):
    """A device (MAC) that may not pay or log in here; `source` is central or local."""

    mac = peewee.TextField(unique=True)
    reason = peewee.TextField()
    source = peewee.TextField()
    blocked_at = UTCDateTimeField()


class Alert(BaseModel):
    """Something that needs a person: raised when it starts, cleared when it ends.
    `key` names the condition (`disk`, `router:3`, ...); one open alert per key."""

    key = peewee.TextField()
    kind = peewee.TextField()
    message = peewee.TextField()
    raised_at = UTCDateTimeField()
    cleared_at = UTCDateTimeField(null=True)
    clear_message = peewee.TextField(null=True)


class AlertMessage(BaseModel):
    """One message about an alert (its raise or its clear) and its delivery.

    status: pending | sent | skipped (cleared before anything went out) | failed (gave up).
    `channels` lists the channels that have it already, so a retry sends only the rest."""

    alert = peewee.ForeignKeyField(Alert, backref="messages", on_delete="CASCADE")
    action = peewee.TextField()  # raised | cleared
    text = peewee.TextField()
    status = peewee.TextField()
    created_at = UTCDateTimeField()
    next_attempt_at = UTCDateTimeField()
    sent_at = UTCDateTimeField(null=True)
    channels = JSONField()
    attempts = peewee.IntegerField(default=0)
    last_error = peewee.TextField(null=True)


class DailyUsage(BaseModel):
    """Closed sessions rolled up per local day and customer (0: no customer known)."""

    day = peewee.TextField()  # YYYY-MM-DD in the site's time zone
    customer_id = peewee.IntegerField()
    sessions = peewee.IntegerField()
    input_bytes = peewee.BigIntegerField()
    output_bytes = peewee.BigIntegerField()
    session_time = peewee.BigIntegerField()

    class Meta:
        primary_key = peewee.CompositeKey("day", "customer_id")


class RadiusReader(BaseModel):
    """How far one RADIUS process has read `radius_change`."""

    name = peewee.TextField(primary_key=True)
    last_change = peewee.IntegerField()
    seen_at = UTCDateTimeField()
