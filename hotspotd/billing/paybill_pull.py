"""Paybill reconciliation: the net under C2B confirmations, which Daraja does not resend.

Every `[mpesa] pull_interval` seconds the worker runs `run_pass(now)`: it asks Daraja's
Pull Transactions (docs/protocols.md, "Pull Transactions") for every C2B payment to the
Paybill since the last pass, page by page, and records each one exactly as its
confirmation would have been (`c2b.record_confirmations`, the confirmations' own group
commit: one transaction per chunk, idempotent on the M-Pesa receipt). A payment whose
confirmation never came is then matched to its account number and applied like any other,
or kept as unmatched for the operator; one whose confirmation came (or comes later) is a
duplicate and changes nothing.

How far Daraja has been read is kept in `pull_state.pulled_to` (in the database, so a
restart loses nothing). Each pass asks again for the last `OVERLAP` of the previous one
(Daraja may list a payment a little after it was made) and never before Daraja's 48 hours:
after a longer outage, the part that can no longer be asked for is kept in `pull_gap` and
written to the health log, and the console names those hours (`status()`). A pass that
fails (Daraja down, the short code not registered) moves nothing on: the next one asks
from the same place.

The first pass starts at the oldest Paybill account number the portal handed out (nothing
before it can match), at most 48 hours back, and no later than `OVERLAP` before now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, Sequence
from zoneinfo import ZoneInfo

from ..errors import UpstreamError
from ..mpesa.c2b import confirmation_body
from ..mpesa.pull import PulledTransaction, PullResult, window_start
from ..store.db import db, write_transaction
from ..store.models import HealthLog, PullGap, PullState, from_db_time, iso, to_db_time
from .c2b import METHOD, record_confirmations
from .callbacks import Incoming

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=10)
CHUNK = 250  # confirmations recorded per transaction (as a burst of real ones would be)
SOURCE = "pull"


class Puller(Protocol):
    """What a pass needs of Daraja (`hotspotd.mpesa.pull.PullTransactions`)."""

    short_code: str

    def pull(self, start: datetime, end: datetime, *, now: datetime) -> PullResult: ...


@dataclass
class PassReport:
    """What one pass did: the period asked for, how many Daraja listed and how many were
    new to hotspotd, the payments to apply now, a period lost to the 48 hours, an error."""

    start: datetime | None = None
    end: datetime | None = None
    pages: int = 0
    seen: int = 0
    recorded: int = 0
    matched: int = 0
    unmatched: int = 0
    apply: list[int] = field(default_factory=list)
    gap: tuple[datetime, datetime] | None = None
    error: str | None = None


def _state() -> PullState:
    return PullState.get_by_id(1)


def _first_start(now: datetime) -> datetime:
    oldest = db.execute_sql('SELECT MIN("created_at") FROM "payment" WHERE "method" = ?', (METHOD,)).fetchone()[0]
    start = now - OVERLAP
    if oldest is not None:
        start = min(start, from_db_time(oldest))
    return max(start, window_start(now))


def run_pass(puller: Puller, now: datetime, *, tz: str = "Africa/Nairobi") -> PassReport:
    """One reconciliation pass at `now`: pull, record, remember how far. Never raises for
    Daraja's failures (they are recorded in `pull_state` and the next pass tries again)."""
    state = _state()
    report = PassReport(end=now)
    with write_transaction():
        if state.started_at is None:
            db.execute_sql('UPDATE "pull_state" SET "started_at" = ? WHERE "id" = 1 AND "started_at" IS NULL',
                           (to_db_time(now),))
        db.execute_sql('UPDATE "pull_state" SET "last_attempt_at" = ? WHERE "id" = 1', (to_db_time(now),))
    earliest = window_start(now)
    if state.pulled_to is None:
        report.start = _first_start(now)
        if state.started_at is not None and state.started_at < earliest:  # no pass ever succeeded
            report.gap = (state.started_at, earliest)
    else:
        report.start = state.pulled_to - OVERLAP
        if state.pulled_to < earliest:
            report.gap = (state.pulled_to, earliest)
    try:
        result = puller.pull(report.start, now, now=now)
    except UpstreamError as exc:
        report.error = str(exc)
        _failed(report.error, now)
        log.warning("Paybill reconciliation (Pull Transactions) failed: %s", exc)
        return report
    report.pages = result.pages
    report.seen = len(result.transactions)
    for start in range(0, len(result.transactions), CHUNK):
        _record(result.transactions[start:start + CHUNK], puller.short_code, now, tz, report)
    _succeeded(report, now, tz)
    if report.recorded:
        log.info("Paybill reconciliation: %s payment(s) without a confirmation recorded (%s matched, %s unmatched)",
                 report.recorded, report.matched, report.unmatched)
    return report


def _record(transactions: Sequence[PulledTransaction], short_code: str, now: datetime, tz: str,
            report: PassReport) -> None:
    batch = [Incoming(confirmation_body(t.as_c2b(short_code, tz)), SOURCE, now, source=SOURCE) for t in transactions]
    for outcome in record_confirmations(batch):
        if outcome.outcome in ("duplicate", "malformed"):
            continue
        report.recorded += 1
        if outcome.outcome == "matched":
            report.matched += 1
        elif outcome.outcome == "unmatched":
            report.unmatched += 1
        if outcome.apply and outcome.payment_id is not None:
            report.apply.append(outcome.payment_id)


def _failed(error: str, now: datetime) -> None:
    with write_transaction():
        db.execute_sql('UPDATE "pull_state" SET "last_error" = ?, "failures" = "failures" + 1, '
                       '"last_attempt_at" = ? WHERE "id" = 1', (error[:500], to_db_time(now)))


def _succeeded(report: PassReport, now: datetime, tz: str) -> None:
    at = to_db_time(now)
    with write_transaction():
        # MAX: two passes at once (a slow one and the next) never move the mark backwards.
        db.execute_sql('UPDATE "pull_state" SET "pulled_to" = MAX(COALESCE("pulled_to", \'\'), ?), '
                       '"last_success_at" = ?, "last_error" = NULL, "failures" = 0, "passes" = "passes" + 1, '
                       '"seen" = "seen" + ?, "recorded" = "recorded" + ? WHERE "id" = 1',
                       (to_db_time(report.end), at, report.seen, report.recorded))
        if report.gap is not None:
            gap_from, gap_to = report.gap
            added = db.execute_sql('INSERT OR IGNORE INTO "pull_gap" ("gap_from", "gap_to", "found_at") '
                                   'VALUES (?, ?, ?)', (to_db_time(gap_from), to_db_time(gap_to), at)).rowcount
            if added:
                message = (f"Paybill payments {describe_period(gap_from, gap_to, tz)} could not be checked: Daraja "
                           "keeps 48 hours for Pull Transactions. Compare that period with the M-Pesa statement.")
                log.warning("%s", message)
                HealthLog.create(at=now, component="mpesa", level="warning", message=message[:500])


def describe_period(start: datetime, end: datetime, tz: str) -> str:
    """"from 20 Nov 14:00 to 21 Nov 09:30 (19.5 hours, Africa/Nairobi)", local time."""
    zone = ZoneInfo(tz)
    hours = (end - start).total_seconds() / 3600
    return (f"from {start.astimezone(zone):%d %b %H:%M} to {end.astimezone(zone):%d %b %H:%M} "
            f"({hours:.1f} hours, {tz})")


def status(*, interval: float, short_code: str, tz: str) -> dict[str, Any]:
    """How reconciliation stands, for the console: the last passes and the hours that could
    not be checked (newest first)."""
    state = _state()
    gaps = [{"id": g.id, "from": iso(g.gap_from), "to": iso(g.gap_to), "found_at": iso(g.found_at),
             "hours": round((g.gap_to - g.gap_from).total_seconds() / 3600, 1),
             "text": describe_period(g.gap_from, g.gap_to, tz)}
            for g in PullGap.select().order_by(PullGap.gap_from.desc()).limit(50)]

    def t(value: datetime | None) -> str | None:
        return None if value is None else iso(value)

    return {"enabled": bool(interval > 0 and short_code), "interval": interval, "short_code": short_code,
            "started_at": t(state.started_at), "pulled_to": t(state.pulled_to),
            "last_attempt_at": t(state.last_attempt_at), "last_success_at": t(state.last_success_at),
            "last_error": state.last_error, "failures": state.failures, "passes": state.passes,
            "seen": state.seen, "recorded": state.recorded, "unchecked": gaps}
