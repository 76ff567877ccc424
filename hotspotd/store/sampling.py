"""A bounded sample of what strangers can make the box write: the first few of each kind
in an hour kept in full (each body clipped), and only a count for the rest.

Whatever records money is never sampled: a callback or confirmation that moves a payment,
or reports money for no payment we know, is kept whole by its caller. What is sampled is
what carries nothing to act on: a body that cannot be read, a replay of one already
kept, a failed result for no payment of ours, a console lockout note. A flood of those
(a misbehaving upstream, a LAN client that learnt the callback URL, a script guessing
console passwords) costs at most `PER_HOUR` rows of at most `MAX_BODY` bytes per kind
and hour, and one `sample_tally` row per kind and hour that counts them all, with
where the latest came from.

Why 60 an hour: Daraja sends a site a few hundred callbacks in its busiest hour, nearly
all well-formed; when some are not (a format change upstream, a bug), the first few
dozen of an hour show what is wrong, and the tally shows how much of it there was and
from where. 60 an hour keeps a steady fault visible every hour, and four floodable kinds
at 8 KiB each cost at most ~2 MiB an hour, ~330 MiB over the `DAYS` they are kept.
Nobody tunes this at a site, so it is not a config key. Even if Daraja changed its
format and every real callback became unreadable, a body we only counted is not the only
trace of money: the reconciler's STK query asks Daraja about every payment left pending,
and a Paybill payment is in the M-Pesa statement.

Runs inside the caller's write transaction: the count and the row it admits commit together.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from .db import db
from .models import HealthLog, to_db_time

log = logging.getLogger(__name__)

PER_HOUR = 60  # kept in full per kind and hour
MAX_BODY = 8 * 1024  # bytes of a sampled body that are kept; the rest is cut (marked truncated)
DAYS = 7  # sampled rows are kept this long (at most `[retention] callback_days`); tallies as long as callbacks

# The kinds, as `sample_tally.kind` names them: (health log component, what they are).
STK_MALFORMED = "stk.malformed"
STK_DUPLICATE = "stk.duplicate"
STK_ORPHAN = "stk.orphan"  # a failed result (no money) for no payment we know
C2B_MALFORMED = "c2b.malformed"
CONSOLE_LOCKOUT = "console.lockout"
DEVICE_CLAIM = "device.claim_refused"  # a portal request claiming a device the router says it is not
RESULT_MALFORMED = "result.malformed"  # Daraja's results (Transaction Status, Reversal) that cannot be read
RESULT_ORPHAN = "result.orphan"  # a result for no request of ours
RESULT_DUPLICATE = "result.duplicate"  # a replay, or a result that is not final yet
SMS_REPORT = "sms.report"  # SMS delivery reports that cannot be read, or name no text of ours (counted only)
KINDS = {
    STK_MALFORMED: ("mpesa", "malformed M-Pesa callbacks"),
    STK_DUPLICATE: ("mpesa", "repeated M-Pesa callbacks"),
    STK_ORPHAN: ("mpesa", "M-Pesa callbacks without money for no payment of ours"),
    C2B_MALFORMED: ("mpesa", "malformed Paybill confirmations"),
    CONSOLE_LOCKOUT: ("admin", "console lockout notes"),
    DEVICE_CLAIM: ("portal", "portal requests claiming another device"),
    RESULT_MALFORMED: ("mpesa", "malformed Daraja results"),
    RESULT_ORPHAN: ("mpesa", "Daraja results for no request of ours"),
    RESULT_DUPLICATE: ("mpesa", "repeated Daraja results"),
    SMS_REPORT: ("sms", "SMS delivery reports for no text of ours"),
}

_COUNT = ('INSERT INTO "sample_tally" ("hour", "kind", "seen", "kept", "bytes", "last_at", "last_from") '
          'VALUES (?, ?, 1, ?, ?, ?, ?) ON CONFLICT ("hour", "kind") DO UPDATE SET "seen" = "seen" + 1, '
          '"kept" = "kept" + ("seen" < ?), "bytes" = "bytes" + excluded."bytes", "last_at" = excluded."last_at", '
          '"last_from" = excluded."last_from" RETURNING "seen"')


@dataclass(frozen=True)
class Admission:
    """What to do with one more of a kind this hour."""

    keep: bool  # within the hour's sample: keep it (clipped)
    seen: int  # how many of the kind this hour, this one included

    @property
    def sample_just_filled(self) -> bool:
        """The first one of the hour that is only counted (say so once, not per row)."""
        return self.seen == PER_HOUR + 1


def hour_of(at: datetime) -> str:
    """The tally's hour: UTC, `2026-11-23T09`."""
    return to_db_time(at)[:13]


def admit(kind: str, at: datetime, *, size: int = 0, source: str | None = None) -> Admission:
    """Count one more `kind` at `at` (of `size` bytes, from `source`); keep it only while
    the hour's sample has room. Call inside the write transaction that keeps it."""
    if kind not in KINDS:
        raise ValueError(f"unknown sample kind {kind!r}")
    row = db.execute_sql(_COUNT, (hour_of(at), kind, int(PER_HOUR >= 1), size, to_db_time(at),
                                  (source or "")[:64] or None, PER_HOUR)).fetchone()
    admission = Admission(keep=row[0] <= PER_HOUR, seen=row[0])
    if admission.sample_just_filled:
        component, what = KINDS[kind]
        message = (f"more than {PER_HOUR} {what} this hour (the latest from {source or 'unknown'}): "
                   f"the first {PER_HOUR} are kept, the rest only counted ({kind} in sample_tally)")
        log.warning("%s", message)
        HealthLog.create(at=at, component=component, level="warning", message=message[:500])
    return admission


def clip(body: bytes) -> tuple[str, bool]:
    """A body as a sample keeps it: its first `MAX_BODY` bytes as text, and whether it was cut."""
    return body[:MAX_BODY].decode("utf-8", errors="replace"), len(body) > MAX_BODY


def tally(since: datetime) -> list[dict[str, object]]:
    """The counts since `since`, newest hour first: {hour, kind, seen, kept, bytes, last_at, last_from}."""
    rows = db.execute_sql('SELECT "hour", "kind", "seen", "kept", "bytes", "last_at", "last_from" FROM "sample_tally" '
                          'WHERE "hour" >= ? ORDER BY "hour" DESC, "kind"', (hour_of(since),)).fetchall()
    keys = ("hour", "kind", "seen", "kept", "bytes", "last_at", "last_from")
    return [dict(zip(keys, row)) for row in rows]
