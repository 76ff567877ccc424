"""Central sync on the box (docs/sync.md): push the event outbox, pull the configuration
central owns, and say how it is going.

    protocol.py   the wire rules both ends share: signing, batch encoding
    client.py     the HTTP client for the receiver
    outbox.py     reading the outbox after the cursor; moving the cursor on acknowledgement
    apply.py      applying pulled configuration changes, each once, in order
    state.py      the sync_state row: backoff with jitter, the worker's look (`tick`), status
    passes.py     one pass: pull, push until nothing waits, record the outcome
"""

from __future__ import annotations

from .state import due, status, tick

__all__ = ["due", "status", "tick"]
