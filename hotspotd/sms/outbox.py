"""The SMS outbox: texts to customers, sent by the worker through Africa's Talking, with
retries and backoff, and their delivery reports.

A row is `queued` (without a number it waits for one: `receipts.note_phone`), then the
worker claims it (`sending`, committed), renders its text (the package and its end as they
are now, the login, the status page) and hands it to the gateway:

- the gateway took it: `sent` (its message id and cost kept; `sms.sent`); the delivery
  report later says `delivered` or `failed`;
- the gateway answered that it did not take it (an error status, a refused recipient):
  `queued` again after a growing pause (`BACKOFF`) when that may pass, else `failed`
  (`sms.failed`); so is a try that never reached the gateway (no connection);
- no answer after the text may have reached the gateway (a time-out after connecting, a
  crash of the worker while it waited): `failed`, never sent again.

At most once, on purpose: a crash between handing a text over and recording it leaves a
row in `sending`, and it is not sent again. A second receipt costs the operator money and
tells the customer something odd; a lost one costs little, because the customer's page and
the status page still show the login and "text me my login" sends it again. If the gateway
did send it, its delivery report still arrives, names the number, and is matched to that
row (`record_report`), which then says `delivered`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .. import events
from .. import phone as phones
from ..config import Config
from ..errors import InvalidInput, UpstreamError
from ..plumbing.httpclient import Session
from ..settings import site_settings
from ..store import sampling
from ..store.db import db, write_transaction
from ..store.models import from_db_time, to_db_time
from . import texts
from .africastalking import AfricasTalkingClient, SmsSent, parse_delivery_report

log = logging.getLogger(__name__)

BACKOFF = (30, 60, 120, 300, 600, 1800)  # seconds before the 2nd, 3rd, ... try
MAX_ATTEMPTS = len(BACKOFF) + 1
MAX_AGE = timedelta(days=1)  # a text not sent within a day is not sent at all
STUCK = timedelta(minutes=5)  # a row `sending` this long: its worker stopped mid-handover
ADOPT_WITHIN = timedelta(hours=1)  # a report for an unknown id may name a row handed this recently
BATCH = 20
STATUS_PATH = "/"  # the portal's page that shows a device what it has left


class HandoverSession(Session):
    """The HTTP session of the SMS client, noting per thread whether the last request got
    as far as a connection to the gateway (after that, the text may have reached it)."""

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def begin(self) -> None:
        self._local.connected = False

    @property
    def connected(self) -> bool:
        return getattr(self._local, "connected", True)  # unknown: assume it may have

    def _take(self, key, connect_timeout):  # type: ignore[no-untyped-def]
        taken = super()._take(key, connect_timeout)
        self._local.connected = True
        return taken


@dataclass(frozen=True)
class Handed:
    """What came of handing one text to the gateway."""

    sent: SmsSent | None
    error: UpstreamError | None
    may_have_arrived: bool  # False only when no connection was made: nothing can have been sent


class Gateway:
    """Africa's Talking, as the outbox uses it."""

    def __init__(self, client: AfricasTalkingClient, session: HandoverSession) -> None:
        self.client, self.session = client, session

    @classmethod
    def from_config(cls, config: Config) -> "Gateway":
        s = config.sms
        session = HandoverSession()
        return cls(AfricasTalkingClient(s.base_url, s.username, s.api_key, s.sender_id, session=session), session)

    def send(self, text: str, to: str) -> Handed:
        self.session.begin()
        try:
            return Handed(self.client.send(text, to), None, True)
        except UpstreamError as exc:
            return Handed(None, exc, self.session.connected)

    def close(self) -> None:
        self.client.close()


@dataclass
class SendReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


REMINDER = "reminder"  # a home subscriber's "your month ends" (hotspotd.pppoe.month_end): its text is queued with it
_QUEUE_TEXT = ('INSERT OR IGNORE INTO "sms_message" ("kind", "grant_key", "to_phone", "lang", "text", "status", '
               '"next_at", "created_at") VALUES (?, ?, ?, ?, ?, \'queued\', ?, ?)')


def queue_text(*, kind: str, key: str, phone: str, text: str, lang: str | None, now: datetime) -> bool:
    """Queue a text written already (a reminder), once per `key`; inside the caller's write
    transaction. False when it was queued before."""
    at = to_db_time(now)
    return db.execute_sql(_QUEUE_TEXT, (kind, key, phone, lang, text, at, at)).rowcount == 1


def _text_for(row: dict[str, Any], config: Config, now: datetime) -> tuple[str | None, str | None]:
    """(the text, None), or (None, why it cannot be sent)."""
    if row["kind"] == REMINDER:
        return (row["text"], None) if row.get("text") else (None, "no text")
    found = db.execute_sql(
        'SELECT s."ends_at", s."status", k."name", c."username", c."password" FROM "subscription" s '
        'JOIN "package" k ON k."id" = s."package_id" LEFT JOIN "credential" c ON c."customer_id" = s."customer_id" '
        'WHERE s."id" = ?', (row["subscription_id"],)).fetchone()
    if found is None or found[3] is None:
        return None, "no package or login to text"
    ends_at, status, package, username, password = found
    ends = from_db_time(ends_at)
    if status != "active" or ends <= now:
        return None, "the package ended before the text could be sent"
    settings, chosen = site_settings(config), texts.load()
    lang = chosen.language_of(row["lang"])
    text = texts.render(chosen.template(lang), lang, site=settings.name, package=package, expires=ends,
                        username=username, password=password, link=config.portal.public_url + STATUS_PATH,
                        tz=settings.timezone)
    return text, None


def send_due(gateway: Gateway | None, config: Config, now: datetime, *, limit: int = BATCH) -> SendReport:
    """One pass of the worker at `now`: give up what is too old, then send what is due
    (nothing when texts are off: `gateway` None)."""
    report = SendReport()
    expire(now)
    if gateway is None:
        return report
    due = db.execute_sql('SELECT "id", "subscription_id", "to_phone", "lang", "attempts", "kind", "customer_id", "text" '
                         'FROM "sms_message" WHERE "status" = \'queued\' AND "to_phone" IS NOT NULL AND "next_at" <= ? '
                         'ORDER BY "next_at", "id" LIMIT ?', (to_db_time(now), limit)).fetchall()
    keys = ("id", "subscription_id", "to_phone", "lang", "attempts", "kind", "customer_id", "text")
    for values in due:
        row = dict(zip(keys, values))
        text, why = _text_for(row, config, now)
        if text is None:
            _fail(row, why or "cannot be sent", now, tried=False)
            report.failed.append(row["id"])
            continue
        with write_transaction():  # claimed, committed, before the gateway sees it: at most once
            claimed = db.execute_sql('UPDATE "sms_message" SET "status" = \'sending\', "attempts" = "attempts" + 1, '
                                     '"handed_at" = ?, "text" = ? WHERE "id" = ? AND "status" = \'queued\'',
                                     (to_db_time(now), text, row["id"])).rowcount
        if not claimed:
            continue
        row["attempts"] += 1
        handed = gateway.send(text, row["to_phone"])
        {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}[_record(row, handed, now)].append(
            row["id"])
    return report


def _record(row: dict[str, Any], handed: Handed, now: datetime) -> str:
    """Record what the gateway said; returns sent | retrying | failed."""
    if handed.sent is not None:
        recipient = handed.sent.recipient(row["to_phone"]) or handed.sent.recipients[0]
        if recipient.accepted:
            with write_transaction():
                db.execute_sql('UPDATE "sms_message" SET "status" = \'sent\', "gateway_id" = ?, "gateway_status" = ?, '
                               '"cost" = ?, "sent_at" = ?, "error" = NULL WHERE "id" = ?',
                               (recipient.message_id, recipient.status, recipient.cost or None, to_db_time(now),
                                row["id"]))
                events.emit("sms.sent", {"sms_id": row["id"], "kind": row["kind"], "phone": row["to_phone"],
                                         "customer_id": row["customer_id"], "subscription_id": row["subscription_id"],
                                         "cost": recipient.cost}, now)
            return "sent"
        why, again = f"the gateway refused it: {recipient.status_code} {recipient.status}", recipient.retryable
    elif handed.error is not None and (handed.error.code is not None or not handed.may_have_arrived):
        # The gateway answered with an error, or was never reached: nothing was sent.
        why, again = str(handed.error), handed.error.retryable
    else:  # no answer after the text may have reached the gateway: never twice
        why = f"no answer from the gateway ({handed.error}); it may have been sent, so it is not sent again"
        again = False
    if again and row["attempts"] < MAX_ATTEMPTS:
        pause = BACKOFF[min(row["attempts"] - 1, len(BACKOFF) - 1)]
        with write_transaction():
            db.execute_sql('UPDATE "sms_message" SET "status" = \'queued\', "next_at" = ?, "error" = ?, '
                           '"failed_at" = ? WHERE "id" = ?',
                           (to_db_time(now + timedelta(seconds=pause)), why[:300], to_db_time(now), row["id"]))
        log.warning("SMS %s to %s not sent (try %s), again in %s s: %s", row["id"], phones.mask(row["to_phone"]),
                    row["attempts"], pause, why)
        return "retrying"
    _fail(row, why, now, tried=True)
    return "failed"


def _fail(row: dict[str, Any], why: str, now: datetime, *, tried: bool) -> None:
    with write_transaction():
        db.execute_sql('UPDATE "sms_message" SET "status" = \'failed\', "error" = ?, "failed_at" = ? WHERE "id" = ?',
                       (why[:300], to_db_time(now), row["id"]))
        events.emit("sms.failed", {"sms_id": row["id"], "kind": row["kind"], "phone": row["to_phone"],
                                   "customer_id": row["customer_id"], "attempts": row["attempts"],
                                   "reason": why[:300]}, now)
    log.log(logging.WARNING if tried else logging.INFO, "SMS %s to %s failed: %s", row["id"],
            phones.mask(row["to_phone"]), why)


def expire(now: datetime) -> int:
    """Rows queued longer than `MAX_AGE` fail (a receipt a day late helps nobody; one never
    tried, for want of a number or with texts off, is dropped quietly); rows left `sending` by a worker that stopped fail,
    never sent again (at most once). Returns how many."""
    old, stuck = to_db_time(now - MAX_AGE), to_db_time(now - STUCK)
    rows = db.execute_sql('SELECT "id", "kind", "to_phone", "customer_id", "subscription_id", "attempts", "status" '
                          'FROM "sms_message" WHERE ("status" = \'queued\' AND "created_at" < ?) '
                          'OR ("status" = \'sending\' AND "handed_at" < ?) LIMIT 500', (old, stuck)).fetchall()
    for sms_id, kind, to, customer_id, subscription_id, attempts, status in rows:
        row = {"id": sms_id, "kind": kind, "to_phone": to, "customer_id": customer_id,
               "subscription_id": subscription_id, "attempts": attempts}
        if status == "sending":
            _fail(row, "the worker stopped while handing it to the gateway; not sent again (at most once)", now,
                  tried=True)
        elif to is not None and attempts:
            _fail(row, "not sent within a day", now, tried=True)
        else:  # never tried (no number was typed, or texts are off): dropped quietly, no event
            why = "no phone number was given for it" if to is None else "not sent within a day (texts off?)"
            with write_transaction():
                db.execute_sql('UPDATE "sms_message" SET "status" = \'failed\', "error" = ?, "failed_at" = ? '
                               'WHERE "id" = ?', (why, to_db_time(now), sms_id))
    return len(rows)


def record_report(body: bytes, remote_addr: str | None, now: datetime) -> str:
    """Record a delivery report: `recorded`, `unknown` (no text of ours; counted) or
    `malformed` (counted; InvalidInput's message is not needed by the gateway)."""
    try:
        report = parse_delivery_report(body)
    except InvalidInput as exc:
        with write_transaction():
            sampling.admit(sampling.SMS_REPORT, now, size=len(body), source=remote_addr)
        log.warning("unreadable SMS delivery report from %s: %s", remote_addr, exc)
        return "malformed"
    with write_transaction():
        row = db.execute_sql('SELECT "id", "status" FROM "sms_message" WHERE "gateway_id" = ?',
                             (report.message_id,)).fetchone()
        if row is None:
            row = _adopt(report.message_id, report.phone_number, now)
        if row is None:
            sampling.admit(sampling.SMS_REPORT, now, size=len(body), source=remote_addr)
            return "unknown"
        sms_id, status = row
        at = to_db_time(now)
        if report.delivered:
            db.execute_sql('UPDATE "sms_message" SET "status" = \'delivered\', "gateway_status" = ?, '
                           '"delivered_at" = ?, "error" = NULL WHERE "id" = ?', (report.status, at, sms_id))
        elif report.failed and status != "delivered":
            reason = f"not delivered: {report.status} {report.failure_reason}".strip()
            db.execute_sql('UPDATE "sms_message" SET "status" = \'failed\', "gateway_status" = ?, "error" = ?, '
                           '"failed_at" = ? WHERE "id" = ?', (report.status, reason[:300], at, sms_id))
        elif status not in ("delivered", "failed"):
            db.execute_sql('UPDATE "sms_message" SET "gateway_status" = ? WHERE "id" = ?', (report.status, sms_id))
    return "recorded"


def _adopt(message_id: str, number: str, now: datetime) -> tuple[int, str] | None:
    """A report for a text whose handover was never recorded (the worker stopped, or got no
    answer): the latest such row to that number, handed over recently, takes the id."""
    to = number.lstrip("+")
    row = db.execute_sql('SELECT "id", "status" FROM "sms_message" WHERE "to_phone" = ? AND "gateway_id" IS NULL '
                         'AND "status" IN (\'sending\', \'failed\') AND "handed_at" >= ? ORDER BY "id" DESC LIMIT 1',
                         (to, to_db_time(now - ADOPT_WITHIN))).fetchone()
    if row is None:
        return None
    db.execute_sql('UPDATE "sms_message" SET "gateway_id" = ?, "status" = \'sent\', "sent_at" = COALESCE("sent_at", ?) '
                   'WHERE "id" = ?', (message_id, to_db_time(now), row[0]))
    log.info("SMS %s: its delivery report names it, though its handover was never recorded", row[0])
    return row[0], "sent"
