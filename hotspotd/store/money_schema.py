"""The schema of issue 17 ("every shilling, every way back"), as numbered migrations that
`migrations.py` lists: Paybill reconciliation by Pull Transactions, Daraja's initiator
requests (Transaction Status, Reversal) and their results, refunds, and the SMS outbox.
Written once and never edited, like every migration.
"""

from __future__ import annotations

# Paybill reconciliation (hotspotd.billing.paybill_pull): how far Daraja's Pull
# Transactions have been read (one row), the periods that could not be read because they
# fell out of Daraja's 48 hours, and where each C2B row came from (a confirmation, or a pull).
V20_PULL = (
    'CREATE TABLE "pull_state" ("id" INTEGER NOT NULL PRIMARY KEY CHECK ("id" = 1), "started_at" TEXT, '
    '"pulled_to" TEXT, "last_attempt_at" TEXT, "last_success_at" TEXT, "last_error" TEXT, '
    '"failures" INTEGER NOT NULL DEFAULT 0, "passes" INTEGER NOT NULL DEFAULT 0, "seen" INTEGER NOT NULL DEFAULT 0, '
    '"recorded" INTEGER NOT NULL DEFAULT 0)',
    'INSERT INTO "pull_state" ("id") VALUES (1)',
    'CREATE TABLE "pull_gap" ("id" INTEGER NOT NULL PRIMARY KEY, "gap_from" TEXT NOT NULL, "gap_to" TEXT NOT NULL, '
    '"found_at" TEXT NOT NULL)',
    'CREATE UNIQUE INDEX "pull_gap_period" ON "pull_gap" ("gap_from", "gap_to")',
    'ALTER TABLE "c2b_transaction" ADD COLUMN "source" TEXT NOT NULL DEFAULT \'confirmation\'',
)

# Transaction Status and Reversal requests (hotspotd.billing.initiator_requests): one row
# per request, what was asked and what came of it; a result is acted on once (`result_at`).
# A payment is refunded at most once: one refund per payment unless the earlier one failed
# for certain (the partial unique index holds under any race).
V21_INITIATOR = (
    'CREATE TABLE "initiator_request" ("id" INTEGER NOT NULL PRIMARY KEY, "ref" TEXT NOT NULL, '
    '"kind" TEXT NOT NULL, "receipt" TEXT NOT NULL, "payment_id" INTEGER, "package_id" INTEGER, "phone" TEXT, '
    '"amount" TEXT, "mac" TEXT, "ip" TEXT, "lang" TEXT, "reason" TEXT, "requested_by" TEXT, '
    '"status" TEXT NOT NULL, "outcome" TEXT, "conversation_id" TEXT, "originator_conversation_id" TEXT, '
    '"attempts" INTEGER NOT NULL DEFAULT 0, "error" TEXT, "result_code" TEXT, "result_desc" TEXT, '
    '"result_body" TEXT, "found_payment_id" INTEGER, "created_at" TEXT NOT NULL, "sent_at" TEXT, '
    '"result_at" TEXT, "updated_at" TEXT NOT NULL, '
    'FOREIGN KEY ("payment_id") REFERENCES "payment" ("id"), '
    'FOREIGN KEY ("found_payment_id") REFERENCES "payment" ("id"))',
    'CREATE UNIQUE INDEX "initiator_request_ref" ON "initiator_request" ("ref")',
    'CREATE UNIQUE INDEX "initiator_request_conversation_id" ON "initiator_request" ("conversation_id")',
    'CREATE UNIQUE INDEX "initiator_request_originator" ON "initiator_request" ("originator_conversation_id")',
    'CREATE UNIQUE INDEX "initiator_request_one_refund" ON "initiator_request" ("payment_id") '
    'WHERE "kind" = \'reversal\' AND "status" != \'failed\'',
    'CREATE INDEX "initiator_request_receipt" ON "initiator_request" ("kind", "receipt", "status")',
    'CREATE INDEX "initiator_request_status" ON "initiator_request" ("status", "updated_at")',
)

# Payments: the customer's language (their texts are in it), a phone number typed for the
# receipt SMS (a Paybill payer's number is masked), and when a payment was refunded.
V22_PAYMENT = (
    'ALTER TABLE "payment" ADD COLUMN "lang" TEXT',
    'ALTER TABLE "payment" ADD COLUMN "notify_phone" TEXT',
    'ALTER TABLE "payment" ADD COLUMN "refunded_at" TEXT',
)

# The SMS outbox (hotspotd.sms.outbox): one row per text; a receipt once per grant (the
# unique grant key); sent by the worker with retries, at most once per row.
V23_SMS = (
    'CREATE TABLE "sms_message" ("id" INTEGER NOT NULL PRIMARY KEY, "kind" TEXT NOT NULL, "grant_key" TEXT, '
    '"customer_id" INTEGER, "subscription_id" INTEGER, "to_phone" TEXT, "lang" TEXT, "text" TEXT, '
    '"status" TEXT NOT NULL, "gateway_id" TEXT, "gateway_status" TEXT, "cost" TEXT, '
    '"attempts" INTEGER NOT NULL DEFAULT 0, "next_at" TEXT, "handed_at" TEXT, "created_at" TEXT NOT NULL, '
    '"sent_at" TEXT, "delivered_at" TEXT, "failed_at" TEXT, "error" TEXT)',
    'CREATE UNIQUE INDEX "sms_message_grant_key" ON "sms_message" ("grant_key")',
    'CREATE UNIQUE INDEX "sms_message_gateway_id" ON "sms_message" ("gateway_id")',
    'CREATE INDEX "sms_message_due" ON "sms_message" ("next_at") WHERE "status" = \'queued\'',
    'CREATE INDEX "sms_message_phone" ON "sms_message" ("to_phone", "created_at")',
    'CREATE INDEX "sms_message_created_at" ON "sms_message" ("created_at")',
    'CREATE INDEX "sms_message_customer_id" ON "sms_message" ("customer_id")',
)

MIGRATIONS = {20: V20_PULL, 21: V21_INITIATOR, 22: V22_PAYMENT, 23: V23_SMS}
