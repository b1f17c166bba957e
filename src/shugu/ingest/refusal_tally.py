"""Refusals counted in memory and written to the rejects log at most once per interval.

A refusal that needs no answer from the store (a bad device access token: nothing of the
request is kept) would otherwise cost one store write each, and a client sending bad tokens as
fast as it can would keep the writer busy for every tenant. The tally keeps exact counts per
(device, code) and one sample per (device, code) per write; the counts reach the store when
the interval's timer fires, when a reader asks (:meth:`RefusalTally.flush` before reading the
rejects log), and when the process stops, so no answer ever shows fewer than were refused.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future

from shugu.domain.batch import Batch
from shugu.store.telemetry import RejectRecord, Rejects

log = logging.getLogger(__name__)

#: Seconds between two writes of tallied refusals.
FLUSH_INTERVAL_S = 1.0


class RefusalTally:
    """Refusals waiting to be written; :meth:`add` on the event loop, :meth:`flush` anywhere."""

    def __init__(
        self,
        submit: Callable[[Batch, Rejects], Future[int]],
        interval_s: float = FLUSH_INTERVAL_S,
    ) -> None:
        self._submit = submit
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._pending = Rejects()
        self._timer: asyncio.TimerHandle | None = None
        #: Store writes made for tallied refusals (for tests and health figures).
        self.writes = 0

    def add(self, record: RejectRecord) -> None:
        """Count one refusal; it is written within the interval (call on the event loop)."""
        key = (record.device, record.code)
        with self._lock:
            pending = self._pending
            sampled = key in pending.counts
            pending.counts[key] = pending.counts.get(key, 0) + 1
            if not sampled:
                pending.samples.append(record)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval_s, self._due)

    def pending_by_code(self) -> dict[str, int]:
        """Refusals counted and not yet handed to the store, by code (for health figures,
        which add them to the rejects log's counts without waiting for a write)."""
        by_code: dict[str, int] = {}
        with self._lock:
            for (_device, code), count in self._pending.counts.items():
                by_code[code] = by_code.get(code, 0) + count
        return by_code

    def _due(self) -> None:
        self._timer = None
        self.flush()

    def flush(self) -> Future[int] | None:
        """Hand what is pending to the store; the future settles once it is durable (None:
        nothing was pending). Safe from any thread."""
        with self._lock:
            rejects, self._pending = self._pending, Rejects()
            if not rejects:
                return None
            self.writes += 1
        future = self._submit(Batch.empty(), rejects)
        future.add_done_callback(lambda done: self._settled(done, rejects))
        return future

    def _settled(self, done: Future[int], rejects: Rejects) -> None:
        if done.exception() is None:
            return
        # Not written (store overloaded or closing): the counts go back, to be tried again by
        # the next write, so that none is lost to a busy moment.
        with self._lock:
            for key, count in rejects.counts.items():
                self._pending.counts[key] = self._pending.counts.get(key, 0) + count
        log.warning("refusals not yet written to the rejects log: %s", done.exception())

    def wait_written(self, timeout_s: float = 30.0) -> None:
        """Flush, and wait until what was pending is durable (for readers of the rejects log)."""
        future = self.flush()
        if future is not None:
            future.result(timeout=timeout_s)
