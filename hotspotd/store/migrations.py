"""Numbered schema migrations. `migrate()` applies the ones not yet applied, each in its
own transaction, and records it in `schema_migration`; running it again does nothing.

A migration is plain SQL (or a function of the database) written once and never edited,
so that a box upgraded from any version ends with the same schema as a new one.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Sequence

import peewee

from . import money_schema
from .db import db

Migration = Sequence[str] | Callable[[peewee.SqliteDatabase], None]

_V1_INITIAL = (
    'CREATE TABLE "admin_user" ("id" INTEGER NOT NULL PRIMARY KEY, "username" TEXT NOT NULL, "password_hash" TEXT NOT NULL, "created_at" TEXT NOT NULL)',
    'CREATE UNIQUE INDEX "admin_user_username" ON "admin_user" ("username")',
    'CREATE TABLE "customer" ("id" INTEGER NOT NULL PRIMARY KEY, "phone" TEXT, "created_at" TEXT NOT NULL)',
    'CREATE UNIQUE INDEX "customer_phone" ON "customer" ("phone")',
    'CREATE TABLE "credential" ("id" INTEGER NOT NULL PRIMARY KEY, "customer_id" INTEGER NOT NULL, "username" TEXT NOT NULL, "password" TEXT NOT NULL, "created_at" TEXT NOT NULL, FOREIGN KEY ("customer_id") REFERENCES "customer" ("id") ON DELETE CASCADE)',
    'CREATE UNIQUE INDEX "credential_customer_id" ON "credential" ("customer_id")',
    'CREATE UNIQUE INDEX "credential_username" ON "credential" ("username")',
    'CREATE TABLE "event" ("id" INTEGER NOT NULL PRIMARY KEY, "type" TEXT NOT NULL, "at" TEXT NOT NULL, "data" TEXT NOT NULL, "synced_at" TEXT)',
    'CREATE INDEX "event_type" ON "event" ("type")',
    'CREATE TABLE "failed_task" ("id" INTEGER NOT NULL PRIMARY KEY, "task" TEXT NOT NULL, "args" TEXT NOT NULL, "error" TEXT NOT NULL, "attempts" INTEGER NOT NULL, "failed_at" TEXT NOT NULL, "retried_at" TEXT)',
    'CREATE TABLE "health_log" ("id" INTEGER NOT NULL PRIMARY KEY, "at" TEXT NOT NULL, "component" TEXT NOT NULL, "level" TEXT NOT NULL, "message" TEXT NOT NULL)',
    'CREATE INDEX "health_log_at" ON "health_log" ("at")',
    'CREATE TABLE "mpesa_callback" ("id" INTEGER NOT NULL PRIMARY KEY, "received_at" TEXT NOT NULL, "body" TEXT NOT NULL, "checkout_request_id" TEXT, "outcome" TEXT NOT NULL, "error" TEXT, "remote_addr" TEXT)',
    'CREATE INDEX "mpesa_callback_checkout_request_id" ON "mpesa_callback" ("checkout_request_id")',
    'CREATE TABLE "package" ("id" INTEGER NOT NULL PRIMARY KEY, "name" TEXT NOT NULL, "price" INTEGER NOT NULL, "duration_s" INTEGER NOT NULL, "rate_limit" TEXT NOT NULL, "data_limit" INTEGER, "devices" INTEGER NOT NULL, "active" INTEGER NOT NULL, "created_at" TEXT NOT NULL)',
    'CREATE TABLE "subscription" ("id" INTEGER NOT NULL PRIMARY KEY, "customer_id" INTEGER NOT NULL, "package_id" INTEGER NOT NULL, "status" TEXT NOT NULL, "starts_at" TEXT NOT NULL, "ends_at" TEXT NOT NULL, "data_limit" INTEGER, "bytes_used" INTEGER NOT NULL, "mac" TEXT, "created_at" TEXT NOT NULL, "updated_at" TEXT NOT NULL, "provisioned_at" TEXT, "expired_at" TEXT, FOREIGN KEY ("customer_id") REFERENCES "customer" ("id") ON DELETE CASCADE, FOREIGN KEY ("package_id") REFERENCES "package" ("id"))',
    'CREATE INDEX "subscription_customer_id" ON "subscription" ("customer_id")',
    'CREATE INDEX "subscription_package_id" ON "subscription" ("package_id")',
    'CREATE INDEX "subscription_ends_at" ON "subscription" ("ends_at")',
    'CREATE TABLE "payment" ("id" INTEGER NOT NULL PRIMARY KEY, "ref" TEXT NOT NULL, "package_id" INTEGER NOT NULL, "customer_id" INTEGER, "subscription_id" INTEGER, "phone" TEXT NOT NULL, "amount" INTEGER NOT NULL, "amount_paid" DECIMAL(12, 2), "status" TEXT NOT NULL, "reason" TEXT, "result_code" TEXT, "result_desc" TEXT, "merchant_request_id" TEXT, "checkout_request_id" TEXT, "receipt" TEXT, "mac" TEXT, "ip" TEXT, "created_at" TEXT NOT NULL, "updated_at" TEXT NOT NULL, "resolved_at" TEXT, "applied_at" TEXT, "queried_at" TEXT, "query_count" INTEGER NOT NULL, FOREIGN KEY ("package_id") REFERENCES "package" ("id"), FOREIGN KEY ("customer_id") REFERENCES "customer" ("id"), FOREIGN KEY ("subscription_id") REFERENCES "subscription" ("id"))',
    'CREATE UNIQUE INDEX "payment_ref" ON "payment" ("ref")',
    'CREATE INDEX "payment_package_id" ON "payment" ("package_id")',
    'CREATE INDEX "payment_customer_id" ON "payment" ("customer_id")',
    'CREATE INDEX "payment_subscription_id" ON "payment" ("subscription_id")',
    'CREATE INDEX "payment_status" ON "payment" ("status")',
    'CREATE UNIQUE INDEX "payment_checkout_request_id" ON "payment" ("checkout_request_id")',
    'CREATE UNIQUE INDEX "payment_receipt" ON "payment" ("receipt")',
    'CREATE TABLE "router" ("id" INTEGER NOT NULL PRIMARY KEY, "name" TEXT NOT NULL, "host" TEXT NOT NULL, "api_port" INTEGER NOT NULL, "api_user" TEXT NOT NULL, "api_password" TEXT NOT NULL, "secret" TEXT NOT NULL, "nas_ip" TEXT NOT NULL, "coa_port" INTEGER NOT NULL, "require_message_authenticator" INTEGER, "status" TEXT NOT NULL, "last_seen_at" TEXT, "created_at" TEXT NOT NULL)',
    'CREATE UNIQUE INDEX "router_name" ON "router" ("name")',
    'CREATE UNIQUE INDEX "router_nas_ip" ON "router" ("nas_ip")',
    'CREATE TABLE "session" ("id" INTEGER NOT NULL PRIMARY KEY, "router_id" INTEGER NOT NULL, "acct_session_id" TEXT NOT NULL, "username" TEXT NOT NULL, "subscription_id" INTEGER, "mac" TEXT, "ip" TEXT, "status" TEXT NOT NULL, "started_at" TEXT NOT NULL, "updated_at" TEXT NOT NULL, "stopped_at" TEXT, "input_bytes" INTEGER NOT NULL, "output_bytes" INTEGER NOT NULL, "session_time" INTEGER NOT NULL, "terminate_cause" TEXT, FOREIGN KEY ("router_id") REFERENCES "router" ("id") ON DELETE CASCADE, FOREIGN KEY ("subscription_id") REFERENCES "subscription" ("id"))',
    'CREATE INDEX "session_router_id" ON "session" ("router_id")',
    'CREATE INDEX "session_username" ON "session" ("username")',
    'CREATE INDEX "session_subscription_id" ON "session" ("subscription_id")',
    'CREATE INDEX "session_status" ON "session" ("status")',
    'CREATE UNIQUE INDEX "session_router_id_acct_session_id" ON "session" ("router_id", "acct_session_id")',
    'CREATE TABLE "setting" ("key" TEXT NOT NULL PRIMARY KEY, "value" TEXT NOT NULL, "updated_at" TEXT NOT NULL)',
    'CREATE TABLE "voucher" ("id" INTEGER NOT NULL PRIMARY KEY, "code" TEXT NOT NULL, "package_id" INTEGER NOT NULL, "batch" TEXT NOT NULL, "created_at" TEXT NOT NULL, "redeemed_at" TEXT, "customer_id" INTEGER, "subscription_id" INTEGER, "mac" TEXT, FOREIGN KEY ("package_id") REFERENCES "package" ("id"), FOREIGN KEY ("customer_id") REFERENCES "customer" ("id"), FOREIGN KEY ("subscription_id") REFERENCES "subscription" ("id"))',
    'CREATE UNIQUE INDEX "voucher_code" ON "voucher" ("code")',
    'CREATE INDEX "voucher_package_id" ON "voucher" ("package_id")',
    'CREATE INDEX "voucher_customer_id" ON "voucher" ("customer_id")',
    'CREATE INDEX "voucher_subscription_id" ON "voucher" ("subscription_id")',
)

_V2_INDEXES = (
    'CREATE INDEX "payment_status_created_at" ON "payment" ("status", "created_at")',
    'CREATE INDEX "event_unsynced" ON "event" ("id") WHERE "synced_at" IS NULL',
    'CREATE INDEX "subscription_status_ends_at" ON "subscription" ("status", "ends_at")',
)

def _change_triggers(table: str, events: Sequence[str]) -> list[str]:
    """Triggers that note every change of `table` in `radius_change` (see _V3_RADIUS)."""
    statements = []
    for event in events:
        row = "old" if event == "DELETE" else "new"
        name = event.split()[0].lower()
        statements.append(
            f'CREATE TRIGGER "radius_change_{table}_{name}" AFTER {event} ON "{table}" BEGIN '
            f'INSERT INTO "radius_change" ("tbl", "row_id") VALUES (\'{table}\', {row}."id"); END'
        )
    return statements


# The RADIUS role answers from an in-memory view of credentials, subscriptions, packages,
# routers and open sessions. Triggers write one row per change into `radius_change`; as
# SQLite has one writer at a time, ids are committed in order, so a reader that remembers
# the last id it saw misses nothing, whichever process or library made the change.
# Sessions: the disconnect request (admin kick, expiry, data used up) and its delivery.
_V3_RADIUS = (
    'ALTER TABLE "session" ADD COLUMN "disconnect_requested_at" TEXT',
    'ALTER TABLE "session" ADD COLUMN "disconnect_reason" TEXT',
    'ALTER TABLE "session" ADD COLUMN "disconnect_attempts" INTEGER NOT NULL DEFAULT 0',
    'ALTER TABLE "session" ADD COLUMN "disconnect_next_at" TEXT',
    'ALTER TABLE "session" ADD COLUMN "disconnected_at" TEXT',
    'CREATE INDEX "session_disconnect_pending" ON "session" ("disconnect_next_at") '
    'WHERE "status" = \'open\' AND "disconnect_requested_at" IS NOT NULL',
    'CREATE INDEX "session_username_status" ON "session" ("username", "status")',
    'CREATE TABLE "radius_change" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, '
    '"tbl" TEXT NOT NULL, "row_id" INTEGER NOT NULL)',
    *_change_triggers("credential", ("INSERT", "UPDATE", "DELETE")),
    *_change_triggers("subscription", ("INSERT", "UPDATE", "DELETE")),
    *_change_triggers("package", ("UPDATE",)),
    *_change_triggers("router", ("INSERT", "UPDATE", "DELETE")),
    *_change_triggers("session", ("INSERT", "UPDATE OF status, username, mac", "DELETE")),
)

# Routers (issue 7): how the API is reached (mode, TLS and a pinned certificate), what the
# last probe saw, deploy progress; live sessions as the routers list them; and per
# subscription, the last provisioning attempt (so the reconciler leaves a retry chain be).
_V4_ROUTERS = (
    'ALTER TABLE "router" ADD COLUMN "mode" TEXT NOT NULL DEFAULT \'radius\'',
    'ALTER TABLE "router" ADD COLUMN "api_tls" INTEGER NOT NULL DEFAULT 0',
    'ALTER TABLE "router" ADD COLUMN "api_fingerprint" TEXT',
    'ALTER TABLE "router" ADD COLUMN "ros_version" TEXT',
    'ALTER TABLE "router" ADD COLUMN "board" TEXT',
    'ALTER TABLE "router" ADD COLUMN "uptime_s" INTEGER',
    'ALTER TABLE "router" ADD COLUMN "cpu_load" INTEGER',
    'ALTER TABLE "router" ADD COLUMN "free_memory" INTEGER',
    'ALTER TABLE "router" ADD COLUMN "probed_at" TEXT',
    'ALTER TABLE "router" ADD COLUMN "failures" INTEGER NOT NULL DEFAULT 0',
    'ALTER TABLE "router" ADD COLUMN "last_error" TEXT',
    'ALTER TABLE "router" ADD COLUMN "deploy_state" TEXT',
    'ALTER TABLE "router" ADD COLUMN "deployed_at" TEXT',
    'ALTER TABLE "router" ADD COLUMN "sessions_at" TEXT',
    'ALTER TABLE "subscription" ADD COLUMN "provision_tried_at" TEXT',
    'ALTER TABLE "subscription" ADD COLUMN "provision_error" TEXT',
    'CREATE TABLE "router_session" ("id" INTEGER NOT NULL PRIMARY KEY, "router_id" INTEGER NOT NULL, '
    '"kind" TEXT NOT NULL, "active_id" TEXT NOT NULL, "user" TEXT NOT NULL, "mac" TEXT, "ip" TEXT, '
    '"uptime_s" INTEGER, "bytes_in" INTEGER, "bytes_out" INTEGER, "first_seen_at" TEXT NOT NULL, '
    '"seen_at" TEXT NOT NULL, FOREIGN KEY ("router_id") REFERENCES "router" ("id") ON DELETE CASCADE)',
    'CREATE UNIQUE INDEX "router_session_key" ON "router_session" ("router_id", "kind", "active_id")',
)

# Central sync (docs/sync.md): the outbox cursor and the box's sync health in one row
# (`outbox` names this event table at the receiver, made once here), packages linked to
# central ones, and devices blocked from paying and logging in (RADIUS reads them too).
# A package added while RADIUS runs (central sends them at any time) must reach its view
# too: migration 3 noted package updates only.
_V5_SYNC = (
    'CREATE TABLE "sync_state" ("id" INTEGER NOT NULL PRIMARY KEY CHECK ("id" = 1), "outbox" TEXT NOT NULL, '
    '"cursor" INTEGER NOT NULL DEFAULT 0, "config_version" INTEGER NOT NULL DEFAULT 0, "last_attempt_at" TEXT, '
    '"last_success_at" TEXT, "last_error" TEXT, "last_error_at" TEXT, "failures" INTEGER NOT NULL DEFAULT 0, '
    '"next_attempt_at" TEXT, "events_sent" INTEGER NOT NULL DEFAULT 0, "bytes_sent" INTEGER NOT NULL DEFAULT 0)',
    'INSERT INTO "sync_state" ("id", "outbox") VALUES (1, lower(hex(randomblob(8))))',
    'ALTER TABLE "package" ADD COLUMN "central_id" INTEGER',
    'CREATE UNIQUE INDEX "package_central_id" ON "package" ("central_id")',
    'CREATE TABLE "blocked_device" ("id" INTEGER NOT NULL PRIMARY KEY, "mac" TEXT NOT NULL, "reason" TEXT NOT NULL, '
    '"source" TEXT NOT NULL, "blocked_at" TEXT NOT NULL)',
    'CREATE UNIQUE INDEX "blocked_device_mac" ON "blocked_device" ("mac")',
    *_change_triggers("blocked_device", ("INSERT", "UPDATE", "DELETE")),
    *_change_triggers("package", ("INSERT",)),
)

# The operator's console: roles and login sessions of admin accounts, voided vouchers,
# counters that the RADIUS and worker processes publish for /metrics and the health page,
# and indexes for the console's searches and the payment timeline (events by payment and
# by subscription).
_V6_CONSOLE = (
    'ALTER TABLE "admin_user" ADD COLUMN "role" TEXT NOT NULL DEFAULT \'admin\'',
    'ALTER TABLE "admin_user" ADD COLUMN "password_changed_at" TEXT',
    'CREATE TABLE "admin_session" ("token_hash" TEXT NOT NULL PRIMARY KEY, "admin_user_id" INTEGER NOT NULL, '
    '"csrf_token" TEXT NOT NULL, "created_at" TEXT NOT NULL, "seen_at" TEXT NOT NULL, "remote_addr" TEXT, '
    '"user_agent" TEXT, FOREIGN KEY ("admin_user_id") REFERENCES "admin_user" ("id") ON DELETE CASCADE)',
    'CREATE INDEX "admin_session_admin_user_id" ON "admin_session" ("admin_user_id")',
    'ALTER TABLE "voucher" ADD COLUMN "voided_at" TEXT',
    'CREATE INDEX "voucher_batch" ON "voucher" ("batch")',
    'CREATE TABLE "counter" ("source" TEXT NOT NULL, "name" TEXT NOT NULL, "label" TEXT NOT NULL, '
    '"value" REAL NOT NULL, "updated_at" TEXT NOT NULL, PRIMARY KEY ("source", "name", "label"))',
    'CREATE INDEX "payment_created_at" ON "payment" ("created_at")',
    'CREATE INDEX "payment_phone" ON "payment" ("phone")',
    'CREATE INDEX "session_stopped_at" ON "session" ("stopped_at")',
    'CREATE INDEX "mpesa_callback_outcome" ON "mpesa_callback" ("outcome", "id")',
    'CREATE INDEX "event_payment_id" ON "event" (json_extract("data", \'$.payment_id\')) '
    'WHERE json_extract("data", \'$.payment_id\') IS NOT NULL',
    'CREATE INDEX "event_subscription_id" ON "event" (json_extract("data", \'$.subscription_id\')) '
    'WHERE json_extract("data", \'$.subscription_id\') IS NOT NULL',
)

# Operations: alerts and their messages (each raise and clear is one message, sent by the
# worker with its own backoff), daily usage that closed sessions are rolled up into, how far
# each RADIUS process has read `radius_change` (so retention deletes only what all have
# read), and the secret `doctor` signs its RADIUS Status-Server with (RFC 5997), made here
# once per database.
_V7_OPERATIONS = (
    'CREATE TABLE "alert" ("id" INTEGER NOT NULL PRIMARY KEY, "key" TEXT NOT NULL, "kind" TEXT NOT NULL, '
    '"message" TEXT NOT NULL, "raised_at" TEXT NOT NULL, "cleared_at" TEXT, "clear_message" TEXT)',
    'CREATE UNIQUE INDEX "alert_open_key" ON "alert" ("key") WHERE "cleared_at" IS NULL',
    'CREATE TABLE "alert_message" ("id" INTEGER NOT NULL PRIMARY KEY, "alert_id" INTEGER NOT NULL, '
    '"action" TEXT NOT NULL, "text" TEXT NOT NULL, "status" TEXT NOT NULL, "created_at" TEXT NOT NULL, '
    '"next_attempt_at" TEXT NOT NULL, "sent_at" TEXT, "channels" TEXT NOT NULL, "attempts" INTEGER NOT NULL, '
    '"last_error" TEXT, FOREIGN KEY ("alert_id") REFERENCES "alert" ("id") ON DELETE CASCADE)',
    'CREATE INDEX "alert_message_alert_id" ON "alert_message" ("alert_id")',
    'CREATE INDEX "alert_message_due" ON "alert_message" ("next_attempt_at") WHERE "status" = \'pending\'',
    'CREATE INDEX "alert_message_sent_at" ON "alert_message" ("sent_at")',
    'CREATE TABLE "daily_usage" ("day" TEXT NOT NULL, "customer_id" INTEGER NOT NULL, "sessions" INTEGER NOT NULL, '
    '"input_bytes" INTEGER NOT NULL, "output_bytes" INTEGER NOT NULL, "session_time" INTEGER NOT NULL, '
    'PRIMARY KEY ("day", "customer_id"))',
    'CREATE TABLE "radius_reader" ("name" TEXT NOT NULL PRIMARY KEY, "last_change" INTEGER NOT NULL, '
    '"seen_at" TEXT NOT NULL)',
    'INSERT OR IGNORE INTO "setting" ("key", "value", "updated_at") VALUES (\'radius.status_secret\', '
    '\'"\' || lower(hex(randomblob(24))) || \'"\', strftime(\'%Y-%m-%dT%H:%M:%S.000000Z\', \'now\'))',
)

# The customer's side (portal): Paybill (C2B) payments are `payment` rows with
# method 'c2b' and the account number the portal showed; every C2B confirmation body is
# kept once per TransID; devices that got a payment's credentials through "already
# paid?"; the free trial, once per device per local day; lookups of a device's session.
_V8_PORTAL = (
    'ALTER TABLE "payment" ADD COLUMN "method" TEXT NOT NULL DEFAULT \'stk\'',
    'ALTER TABLE "payment" ADD COLUMN "account" TEXT',
    'CREATE UNIQUE INDEX "payment_account" ON "payment" ("account")',
    'CREATE INDEX "payment_phone_created_at" ON "payment" ("phone", "created_at")',
    'CREATE TABLE "c2b_transaction" ("id" INTEGER NOT NULL PRIMARY KEY, "trans_id" TEXT, "received_at" TEXT NOT NULL, '
    '"body" TEXT NOT NULL, "short_code" TEXT, "bill_ref" TEXT, "amount" TEXT, "msisdn" TEXT, "outcome" TEXT NOT NULL, '
    '"error" TEXT, "payment_id" INTEGER, "remote_addr" TEXT, FOREIGN KEY ("payment_id") REFERENCES "payment" ("id"))',
    'CREATE UNIQUE INDEX "c2b_transaction_trans_id" ON "c2b_transaction" ("trans_id")',
    'CREATE INDEX "c2b_transaction_outcome" ON "c2b_transaction" ("outcome", "received_at")',
    'CREATE TABLE "payment_device" ("id" INTEGER NOT NULL PRIMARY KEY, "payment_id" INTEGER NOT NULL, '
    '"device" TEXT NOT NULL, "mac" TEXT, "ip" TEXT, "created_at" TEXT NOT NULL, '
    'FOREIGN KEY ("payment_id") REFERENCES "payment" ("id"))',
    'CREATE UNIQUE INDEX "payment_device_payment_id_device" ON "payment_device" ("payment_id", "device")',
    'CREATE TABLE "trial" ("id" INTEGER NOT NULL PRIMARY KEY, "device" TEXT NOT NULL, "day" TEXT NOT NULL, '
    '"ip" TEXT, "subscription_id" INTEGER, "created_at" TEXT NOT NULL, '
    'FOREIGN KEY ("subscription_id") REFERENCES "subscription" ("id"))',
    'CREATE UNIQUE INDEX "trial_device_day" ON "trial" ("device", "day")',
    'CREATE INDEX "session_mac_status" ON "session" ("mac", "status")',
    'CREATE INDEX "session_ip_status" ON "session" ("ip", "status")',
)

# Storage under abuse (hotspotd.store.sampling): bodies that carry no money are kept as a
# sample (the first few per kind and hour, each clipped) and counted per hour; `sampled`
# rows go sooner than the rest, `truncated` says a kept body was cut.
_V9_SAMPLES = (
    'CREATE TABLE "sample_tally" ("hour" TEXT NOT NULL, "kind" TEXT NOT NULL, "seen" INTEGER NOT NULL, '
    '"kept" INTEGER NOT NULL, "bytes" INTEGER NOT NULL, "last_at" TEXT NOT NULL, "last_from" TEXT, '
    'PRIMARY KEY ("hour", "kind"))',
    'ALTER TABLE "mpesa_callback" ADD COLUMN "sampled" INTEGER NOT NULL DEFAULT 0',
    'ALTER TABLE "mpesa_callback" ADD COLUMN "truncated" INTEGER NOT NULL DEFAULT 0',
    'CREATE INDEX "mpesa_callback_sampled" ON "mpesa_callback" ("received_at") WHERE "sampled" = 1',
    'ALTER TABLE "c2b_transaction" ADD COLUMN "sampled" INTEGER NOT NULL DEFAULT 0',
    'ALTER TABLE "c2b_transaction" ADD COLUMN "truncated" INTEGER NOT NULL DEFAULT 0',
    'CREATE INDEX "c2b_transaction_sampled" ON "c2b_transaction" ("received_at") WHERE "sampled" = 1',
)

# Who is asking (issue 15): an account's devices (the device that paid or redeemed, devices
# added by "already paid?", the first devices to log in while the package has free
# slots); a customer is an account, so one phone number may pay for several (a family's
# phones each get their own); a payment remembers whether a router confirmed its device.
_V10_DEVICES = (
    'DROP INDEX "customer_phone"',
    'CREATE INDEX "customer_phone" ON "customer" ("phone")',
    'CREATE TABLE "device_binding" ("id" INTEGER NOT NULL PRIMARY KEY, "customer_id" INTEGER NOT NULL, '
    '"mac" TEXT NOT NULL, "how" TEXT NOT NULL, "created_at" TEXT NOT NULL, '
    'FOREIGN KEY ("customer_id") REFERENCES "customer" ("id") ON DELETE CASCADE)',
    'CREATE UNIQUE INDEX "device_binding_customer_mac" ON "device_binding" ("customer_id", "mac")',
    'CREATE INDEX "device_binding_mac" ON "device_binding" ("mac")',
    # Noted by account (the customer id), not by row: the RADIUS view reloads an account's
    # devices, which a deleted row could not tell it.
    *[f'CREATE TRIGGER "radius_change_device_binding_{event.lower()}" AFTER {event} ON "device_binding" BEGIN '
      f'INSERT INTO "radius_change" ("tbl", "row_id") VALUES (\'device_binding\', {row}."customer_id"); END'
      for event, row in (("INSERT", "new"), ("DELETE", "old"))],
    'ALTER TABLE "payment" ADD COLUMN "verified" INTEGER NOT NULL DEFAULT 0',
    'ALTER TABLE "payment" ADD COLUMN "account_released" TEXT',
    # What the probe reads of a router's hotspot: the hosts its login page lives at (the
    # portal follows MikroTik's login links only to those) and whether device-mode allows it.
    'ALTER TABLE "router" ADD COLUMN "login_hosts" TEXT',
    'ALTER TABLE "router" ADD COLUMN "hotspot_allowed" INTEGER',
)

# The believable clock (hotspotd.plumbing.clock): one row the roles share. Times of the
# boot clock (CLOCK_BOOTTIME seconds: `boot_seen`, `since`, `daraja_seen`) mean something
# only while `boot_id` is this boot's; `mark` (the last known-good time) and `last_step_at`
# are POSIX seconds. The mark starts at the newest event, what `doctor` compared before.
_V11_CLOCK = (
    'CREATE TABLE "clock_state" ("id" INTEGER NOT NULL PRIMARY KEY CHECK ("id" = 1), "boot_id" TEXT, '
    '"wall_offset" REAL, "boot_seen" REAL, "frame_known" INTEGER NOT NULL DEFAULT 0, '
    '"held" INTEGER NOT NULL DEFAULT 0, "believable" INTEGER NOT NULL DEFAULT 0, '
    '"source" TEXT NOT NULL DEFAULT \'\', "reason" TEXT NOT NULL DEFAULT \'\', "since" REAL, "mark" REAL, '
    '"daraja_base" REAL, "daraja_seen" REAL, "last_step_at" REAL, "last_step_s" REAL)',
    'INSERT INTO "clock_state" ("id", "mark") '
    'SELECT 1, CAST(strftime(\'%s\', substr(MAX("at"), 1, 19)) AS REAL) FROM "event"',
)

# Home subscribers over PPPoE (issue 20): a package is a hotspot package or a PPPoE plan;
# a subscriber has a permanent Paybill account number, PPP credentials (in clear: CHAP and
# MS-CHAPv2 need them), an optional static address and bound CPE MAC, a paid period and a
# balance (whole cents: a partial payment waits for the rest). Their payments are `payment`
# rows naming them; their RADIUS sessions say they are PPP; reminders are recorded once per
# subscriber, period and kind; a router remembers which services were deployed on it (its
# RADIUS entry serves all of them). The RADIUS role reads subscribers into its view.
_V30_SUBSCRIBERS = (
    'ALTER TABLE "package" ADD COLUMN "service" TEXT NOT NULL DEFAULT \'hotspot\'',
    'CREATE TABLE "subscriber" ("id" INTEGER NOT NULL PRIMARY KEY, "name" TEXT NOT NULL, "phone" TEXT, '
    '"account" TEXT NOT NULL, "username" TEXT NOT NULL, "password" TEXT NOT NULL, "package_id" INTEGER NOT NULL, '
    '"static_ip" TEXT, "mac" TEXT, "language" TEXT NOT NULL DEFAULT \'en\', "period_start" TEXT NOT NULL, '
    '"period_end" TEXT NOT NULL, "balance_cents" INTEGER NOT NULL DEFAULT 0, '
    '"status" TEXT NOT NULL DEFAULT \'active\', "held" INTEGER NOT NULL DEFAULT 0, "hold_reason" TEXT, '
    '"suspended_at" TEXT, "last_payment_at" TEXT, "created_at" TEXT NOT NULL, "updated_at" TEXT NOT NULL, '
    'FOREIGN KEY ("package_id") REFERENCES "package" ("id"))',
    'CREATE UNIQUE INDEX "subscriber_account" ON "subscriber" ("account")',
    'CREATE UNIQUE INDEX "subscriber_username" ON "subscriber" ("username")',
    'CREATE UNIQUE INDEX "subscriber_static_ip" ON "subscriber" ("static_ip") WHERE "static_ip" IS NOT NULL',
    'CREATE INDEX "subscriber_period_end" ON "subscriber" ("period_end")',
    'CREATE INDEX "subscriber_phone" ON "subscriber" ("phone")',
    'CREATE TABLE "subscriber_reminder" ("id" INTEGER NOT NULL PRIMARY KEY, "subscriber_id" INTEGER NOT NULL, '
    '"period_end" TEXT NOT NULL, "kind" TEXT NOT NULL, "phone" TEXT, "language" TEXT NOT NULL, '
    '"text" TEXT NOT NULL, "created_at" TEXT NOT NULL, '
    'FOREIGN KEY ("subscriber_id") REFERENCES "subscriber" ("id") ON DELETE CASCADE)',
    'CREATE UNIQUE INDEX "subscriber_reminder_once" ON "subscriber_reminder" ("subscriber_id", "period_end", "kind")',
    'ALTER TABLE "payment" ADD COLUMN "subscriber_id" INTEGER REFERENCES "subscriber" ("id")',
    'CREATE INDEX "payment_subscriber_id" ON "payment" ("subscriber_id") WHERE "subscriber_id" IS NOT NULL',
    'ALTER TABLE "session" ADD COLUMN "kind" TEXT NOT NULL DEFAULT \'hotspot\'',
    'ALTER TABLE "session" ADD COLUMN "subscriber_id" INTEGER REFERENCES "subscriber" ("id")',
    'CREATE INDEX "session_subscriber_status" ON "session" ("subscriber_id", "status") '
    'WHERE "subscriber_id" IS NOT NULL',
    'ALTER TABLE "router" ADD COLUMN "services" TEXT NOT NULL DEFAULT \'\'',
    *_change_triggers("subscriber", ("INSERT", "UPDATE", "DELETE")),
)

MIGRATIONS: dict[int, Migration] = {
    1: _V1_INITIAL,
    2: _V2_INDEXES,
    3: _V3_RADIUS,
    4: _V4_ROUTERS,
    5: _V5_SYNC,
    6: _V6_CONSOLE,
    7: _V7_OPERATIONS,
    8: _V8_PORTAL,
    9: _V9_SAMPLES,
    10: _V10_DEVICES,
    11: _V11_CLOCK,
    **money_schema.MIGRATIONS,  # 20-23: issue 17 (Pull, initiator requests, refunds, SMS)
    30: _V30_SUBSCRIBERS,  # issue 20: home subscribers
}


def applied_versions() -> set[int]:
    db.execute_sql(
        'CREATE TABLE IF NOT EXISTS "schema_migration" '
        '("version" INTEGER NOT NULL PRIMARY KEY, "applied_at" TEXT NOT NULL)'
    )
    return {row[0] for row in db.execute_sql('SELECT "version" FROM "schema_migration"').fetchall()}


def pending() -> list[int]:
    """Migrations not applied yet, in order (a gap left by an older build is filled too)."""
    return sorted(set(MIGRATIONS) - applied_versions())


def migrate() -> list[int]:
    """Apply pending migrations; return the versions applied now."""
    applied = []
    for version in sorted(MIGRATIONS):
        with db.atomic("IMMEDIATE"):
            if version in applied_versions():
                continue
            step = MIGRATIONS[version]
            if callable(step):
                step(db)
            else:
                for statement in step:
                    db.execute_sql(statement)
            db.execute_sql(
                'INSERT INTO "schema_migration" ("version", "applied_at") VALUES (?, ?)',
                (version, datetime.now(timezone.utc).isoformat()),
            )
        applied.append(version)
    return applied
