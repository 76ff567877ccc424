"""The simulator's M-Pesa ledger: every transaction that moved money (STK payments, C2B
payments, reversals), by receipt. Pull Transactions lists its C2B rows; Transaction Status
and Reversal look receipts up in it."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any


class Ledger:
    """Transactions by receipt; shares the simulator's lock (a re-entrant Condition)."""

    def __init__(self, lock: threading.Condition) -> None:
        self._lock = lock
        self.entries: dict[str, dict[str, Any]] = {}

    def add(self, receipt: str, *, kind: str, amount: float, phone: str, short_code: str, account: str = "",
            command: str = "CustomerPayBillOnline", when: datetime | None = None) -> dict[str, Any]:
        """Record a transaction; `kind` is "stk", "c2b" or "reversal"."""
        entry = {"receipt": receipt, "kind": kind, "amount": amount, "phone": phone, "short_code": str(short_code),
                 "account": account, "command": command,
                 # whole seconds, as M-Pesa's times are
                 "when": (when or datetime.now(timezone.utc)).replace(microsecond=0),
                 "reversed_by": None}
        with self._lock:
            self.entries[receipt] = entry
        return entry

    def get(self, receipt: str) -> dict[str, Any] | None:
        with self._lock:
            return self.entries.get(str(receipt).upper())

    def backdate(self, receipt: str, when: datetime) -> None:
        """Move a transaction in time (tests of the 48-hour window)."""
        with self._lock:
            self.entries[receipt]["when"] = when

    def c2b_between(self, short_code: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The C2B payments to `short_code` from `start` to `end` (inclusive), oldest first."""
        with self._lock:
            rows = [e for e in self.entries.values() if e["kind"] == "c2b" and e["short_code"] == str(short_code)
                    and start <= e["when"] <= end]
        return sorted(rows, key=lambda e: (e["when"], e["receipt"]))

    def public(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{**e, "when": e["when"].isoformat()} for e in self.entries.values()]
