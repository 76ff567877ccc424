"""Recording the results Daraja POSTs for hotspotd's initiator requests (Transaction
Status, Reversal) to the ResultURL and the QueueTimeOutURL: durably, once, before they are
answered, and acted on in the same transaction.

A result for a request of ours is kept whole on its request (`initiator_request`), and
acted on once: a status check finds a payment or not (`status_checks`), a refund refunds
or fails (`refunds`). What carries nothing to act on is kept as a bounded sample in
`mpesa_callback` (outcome `result.malformed`, `result.orphan`, `result.duplicate`;
`hotspotd.store.sampling`): a body that cannot be read, a result for no request of ours,
a replay, a result that says it is not final yet (ResultType 1).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from ..errors import MalformedCallback
from ..mpesa.results import DarajaResult, parse_result
from ..store import sampling
from ..store.db import db, write_transaction
from ..store.models import to_db_time
from . import initiator_requests as requests
from . import refunds, status_checks
from .callbacks import Incoming, sample
from .initiator_requests import RequestKind

log = logging.getLogger(__name__)

_KEEP = ('INSERT INTO "mpesa_callback" ("received_at", "body", "checkout_request_id", "outcome", "error", '
         '"remote_addr", "sampled", "truncated") VALUES (?, ?, ?, ?, ?, ?, 1, ?)')


@dataclass(frozen=True)
class ResultRecorded:
    """outcome: recorded | duplicate | orphan | malformed. What to do after the commit:
    payments to apply, subscriptions whose router users go."""

    outcome: str
    error: str | None = None
    kind: str | None = None
    apply: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)


def _keep_sample(kind: str, incoming: Incoming, conversation: str | None, error: str | None = None) -> None:
    kept = sample(kind, incoming)
    if kept is not None:
        db.execute_sql(_KEEP, (to_db_time(incoming.received_at), kept[0], conversation, kind, error,
                               incoming.remote_addr, int(kept[1])))


def record_result(incoming: Incoming, *, timed_out: bool, short_codes: Iterable[str]) -> ResultRecorded:
    """Record one result (from the ResultURL, or the QueueTimeOutURL when `timed_out`) and
    act on it; never raises for bad input (a body that cannot be read is `malformed`)."""
    try:
        result = parse_result(incoming.body)
    except MalformedCallback as exc:
        with write_transaction():
            _keep_sample(sampling.RESULT_MALFORMED, incoming, None, str(exc)[:300])
        log.warning("malformed Daraja result from %s: %s", incoming.remote_addr, exc)
        return ResultRecorded("malformed", error=str(exc))
    conversation = result.conversation_id or result.originator_conversation_id
    receipts = {RequestKind.STATUS.value: _named(result, "ReceiptNo"),
                RequestKind.REVERSAL.value: _named(result, "OriginalTransactionID")}
    with write_transaction():
        request = requests.for_result(result, receipts)
        if request is None:
            _keep_sample(sampling.RESULT_ORPHAN, incoming, conversation)
            log.warning("Daraja result for no request of ours (conversation %s) kept as a sample", conversation)
            return ResultRecorded("orphan")
        if result.result_type == 1 and not timed_out:  # "still waiting": the final one follows
            _keep_sample(sampling.RESULT_DUPLICATE, incoming, conversation, "not final (ResultType 1)")
            return ResultRecorded("duplicate", kind=request.kind)
        if not requests.take(request.id, result, incoming.body.decode("utf-8", errors="replace"),
                             incoming.received_at):
            _keep_sample(sampling.RESULT_DUPLICATE, incoming, conversation)
            return ResultRecorded("duplicate", kind=request.kind)
        now = incoming.received_at
        if request.kind == RequestKind.STATUS:
            if timed_out:
                status_checks.time_out(request, now)
                return ResultRecorded("recorded", kind=request.kind)
            return ResultRecorded("recorded", kind=request.kind,
                                  apply=status_checks.take_result(request, result, short_codes, now))
        return ResultRecorded("recorded", kind=request.kind,
                              ended=refunds.take_result(request, result, now, timed_out=timed_out))


def _named(result: DarajaResult, key: str) -> str | None:
    value = result.parameter(key)
    return str(value).strip().upper() or None if value is not None else None
