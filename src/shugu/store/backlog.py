"""A store's backlog: points handed over and not yet durable, bounded, with an honest refusal.

Both telemetry stores (DuckDB embedded, ClickHouse) take batches on the caller's thread and make
them durable on one writer thread. Between the two the points wait in memory; the bound keeps
that memory finite, and a sender refused while it is full is told how long the writer needs to
drain it (HTTP 429 with Retry-After).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from shugu.domain.errors import OverloadedError, UnavailableError

#: Points per second the writer is assumed to drain before it has measured itself.
_FIRST_DRAIN_RATE = 100_000.0


class Backlog:
    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self._rows = 0
        self._lock = threading.Lock()
        #: Points made durable per second, smoothed: turns a backlog into a Retry-After.
        self._drain_rate = _FIRST_DRAIN_RATE
        #: Batches refused because the backlog was full.
        self.refusals = 0

    @property
    def rows(self) -> int:
        return self._rows

    def admit(self, rows: int, enqueue: Callable[[], None]) -> OverloadedError | None:
        """Count ``rows`` in and run ``enqueue`` (which hands the batch to the writer); the
        refusal instead when the bound or the writer's queue is full, counting nothing."""
        with self._lock:
            # One batch larger than the whole bound is still taken when nothing is waiting.
            if rows and self._rows and self._rows + rows > self.max_rows:
                return self.overloaded()
            self._rows += rows
        try:
            enqueue()
        except queue.Full:
            self.release(rows)
            return self.overloaded()
        return None

    def release(self, rows: int) -> None:
        """The rows are durable (or failed): they no longer wait."""
        with self._lock:
            self._rows -= rows

    def drained(self, rows: int, seconds: float) -> None:
        """The writer made ``rows`` durable in ``seconds``: the drain rate learns from commits
        large enough to say something."""
        if rows >= 1000:
            rate = rows / max(seconds, 1e-4)
            self._drain_rate = 0.8 * self._drain_rate + 0.2 * rate

    def overloaded(self) -> OverloadedError:
        """The refusal for a sender while the backlog is full, with an honest Retry-After."""
        self.refusals += 1
        wait_s = min(30.0, max(1.0, self._rows / max(self._drain_rate, 1.0)))
        return OverloadedError(
            "more telemetry is arriving than can be stored; slow down and retry",
            retry_after_s=wait_s,
            backlog_points=self._rows,
        )


def settle(future: Future[int], outcome: int | Exception) -> None:
    """Answer a sender once: its row count when durable, else the error."""
    if future.done():
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def hand_over(
    backlog: Backlog, closed: bool, rows: int, enqueue: Callable[[Future[int]], None]
) -> Future[int]:
    """A submitted batch's future: queued for the writer by ``enqueue`` within the backlog's
    bound, or already refused (store closed, backlog full)."""
    future: Future[int] = Future()
    # Running futures cannot be cancelled: a caller that gives up waiting (a timeout, a
    # cancelled task) leaves the writer free to settle the future as it always does.
    future.set_running_or_notify_cancel()
    if closed:
        future.set_exception(UnavailableError("the store is closed", code="store_closed"))
        return future
    refusal = backlog.admit(rows, lambda: enqueue(future))
    if refusal is not None:
        future.set_exception(refusal)
    return future
