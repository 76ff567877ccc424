"""Group commit: many callers, one transaction, one fsync.

A burst of M-Pesa callbacks (or RADIUS accounting packets) arrives on many threads at
once. Each must be answered only after its write is durable, but committing each on
its own makes them queue for the write lock and pay for an fsync apiece. A Batcher
hands every item to one writer thread, which takes whatever has queued up, processes
it in one transaction and wakes each caller with its own result.

If a batch fails as a whole, each item is retried on its own so that one bad item
cannot fail its neighbours; its caller gets its own exception.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Generic, Sequence, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    def __init__(self, process: Callable[[Sequence[T]], Sequence[R]], *, max_batch: int = 256,
                 after_commit: Callable[[Sequence[R]], None] | None = None, name: str = "batcher"):
        """`process(items)` does the work for a batch in one transaction and returns one
        result per item; `after_commit(results)` runs after it (e.g. to enqueue tasks)."""
        self._process = process
        self._after_commit = after_commit
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[T, Future] | None] = queue.SimpleQueue()
        self._follow_up = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-after")
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: T, timeout: float = 30.0) -> R:
        """Process `item` in the next batch; return its result once committed."""
        future: Future = Future()
        self._queue.put((item, future))
        return future.result(timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(5)
        self._follow_up.shutdown(wait=True)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    following = self._queue.get_nowait()
                except queue.Empty:
                    break
                if following is None:
                    self._queue.put(None)
                    break
                batch.append(following)
            self._handle(batch)

    def _handle(self, batch: list[tuple[T, Future]]) -> None:
        items = [item for item, _ in batch]
        try:
            results = list(self._process(items))
            if len(results) != len(items):
                raise RuntimeError(f"batch of {len(items)} gave {len(results)} results")
        except Exception as exc:
            if len(batch) > 1:
                log.warning("batch of %d failed; processing its items one by one", len(batch))
                for single in batch:
                    self._handle([single])
                return
            log.exception("item failed in %s", self._thread.name)
            batch[0][1].set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
        if self._after_commit:
            # On its own thread: a slow follow-up (the queue's lock) must not hold up the
            # next batch, and the answers above need only the commit.
            self._follow_up.submit(self._run_after_commit, results)

    def _run_after_commit(self, results: Sequence[R]) -> None:
        try:
            self._after_commit(results)
        except Exception:  # the data is committed; the reconciler finds what was not enqueued
            log.exception("after-commit step failed in %s", self._thread.name)
