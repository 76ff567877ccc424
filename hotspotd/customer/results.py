"""Daraja's asynchronous results, as the portal receives them: the answers to hotspotd's
Transaction Status checks and Reversals, POSTed to `[mpesa] callback_url` +
`/api/payments/result/<token>` (and `/timeout/<token>`, the QueueTimeOutURL).

Each is recorded durably and acted on in one transaction (`billing.daraja_results`) before
the answer goes back; what follows the commit (applying a payment a check found, removing
the router users of a refunded package) is sent to the queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable

from ..billing import daraja_results
from ..billing.callbacks import Incoming
from ..billing.daraja_results import ResultRecorded
from ..plumbing import tasks
from ..store.db import storage_errors, utcnow

if TYPE_CHECKING:
    from ..plumbing.runtime import Runtime


class Results:
    """Daraja's results, received by one portal process."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.rt = runtime
        self.clock = clock

    def receive(self, body: bytes, remote_addr: str | None, *, timed_out: bool = False) -> ResultRecorded:
        """Record a result and act on it; return once it is committed (StorageUnavailable
        when it could not be: Daraja may send it again)."""
        incoming = Incoming(body, remote_addr, self.clock())
        with storage_errors("Daraja result"):
            recorded = daraja_results.record_result(incoming, timed_out=timed_out,
                                                    short_codes=self.rt.config.short_codes)
        if recorded.apply:
            self.rt.queue.dispatch(tasks.apply_payments, recorded.apply)
        if recorded.ended:
            self.rt.queue.dispatch(tasks.remove_ended_users, recorded.ended)
        return recorded
