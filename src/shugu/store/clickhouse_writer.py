"""The ClickHouse store's writer: one thread gathering queued batches into large inserts.

ClickHouse wants few large inserts (every insert makes a part that merges must fold later), so
requests hand their batches to a queue and one thread inserts whatever has gathered, as numpy
columns over the native protocol. A request's future resolves only after the server confirmed
its insert; until then nothing is acknowledged. When the server cannot be reached the writer
reconnects and retries for ``retry_s``, then fails the waiting requests with ``store_unavailable``
(HTTP 503, no PUBACK): the sender keeps its data and sends again, and nothing acknowledged is
lost. Meanwhile the backlog bound refuses new batches, as the embedded store's does.

Order of inserts in one commit: points, then attributes (both idempotent: a retry writes the
same keys again and the highest sequence wins), then reject counts, which add up and are the
only thing a retry after a lost confirmation can count twice.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np
import numpy.typing as npt
from clickhouse_driver import errors as driver_errors

from shugu.domain.batch import Batch
from shugu.domain.errors import UnavailableError
from shugu.store import clickhouse_sql as sql
from shugu.store.backlog import Backlog, hand_over, settle
from shugu.store.clickhouse_schema import NODE_BITS, Layout
from shugu.store.telemetry import AttributeRecord, Rejects

log = logging.getLogger(__name__)
# The driver logs each failed connection attempt with its traceback; an outage is this
# module's to report (once per outage, and to the sender as store_unavailable), not a page of
# tracebacks per retry.
logging.getLogger("clickhouse_driver.connection").setLevel(logging.ERROR)

#: Rejects without a known device (a bad token, say) are counted under this device id.
NO_DEVICE = -1

POINT_COLUMNS = ("device", "metric", "ts", "value", "quality", "seq")

_STOP = object()


def text(value: str | None, limit: int) -> str | None:
    """Text as the rejects log keeps it: bounded, and valid UTF-8 whatever a device sent."""
    if value is None:
        return None
    clean = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def unavailable() -> UnavailableError:
    return UnavailableError(
        "the telemetry store cannot keep data right now; nothing was acknowledged",
        code="store_unavailable",
    )


class Job:
    __slots__ = ("attributes", "batch", "future", "rejects")

    def __init__(
        self,
        batch: Batch,
        rejects: Rejects | None,
        attributes: Sequence[AttributeRecord] | None,
        future: Future[int],
    ) -> None:
        self.batch = batch
        self.rejects = rejects
        self.attributes = attributes
        self.future = future


class Writer:
    """Queue, backlog bound and the inserting thread of a ClickHouse store.

    ``connect`` makes a fresh client; ``insert_settings`` are sent with every insert (in a
    cluster: a synchronous Distributed insert and the replication quorum).
    """

    def __init__(
        self,
        layout: Layout,
        connect: Callable[[], Any],
        first_counter: int,
        *,
        node: int = 0,
        insert_settings: dict[str, object],
        linger_ms: float,
        max_commit_rows: int,
        max_queued_jobs: int,
        max_backlog_rows: int,
        retry_s: float,
    ) -> None:
        self._layout = layout
        self._connect = connect
        self._client: Any = None
        self._settings = {"use_numpy": True, "insert_block_size": 1_048_576, **insert_settings}
        self._linger_s = linger_ms / 1000.0
        self._max_commit_rows = max_commit_rows
        self._retry_s = retry_s
        self._queue: queue.Queue[Job | object] = queue.Queue(maxsize=max_queued_jobs)
        self.backlog = Backlog(max_backlog_rows)
        #: Row sequences are ``counter << NODE_BITS | node``: unique across the ingest nodes of
        #: a cluster, and growing on each node, which is what the monitors' feed relies on.
        self._node = node
        self._counter = first_counter
        #: The last row sequence confirmed stored (0: none yet).
        self.seq = 0
        self.failing = False
        self.listeners: list[Callable[[Batch], None]] = []
        self.closed = False
        self._thread = threading.Thread(target=self._loop, name="shugu-ch-writer", daemon=True)
        self._thread.start()

    # -- the request side ------------------------------------------------------------------

    def submit(
        self,
        batch: Batch,
        rejects: Rejects | None,
        attributes: Sequence[AttributeRecord] | None,
    ) -> Future[int]:
        return hand_over(
            self.backlog,
            self.closed,
            len(batch),
            lambda future: self._queue.put_nowait(Job(batch, rejects, attributes, future)),
        )

    @property
    def queued_jobs(self) -> int:
        return self._queue.qsize()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self, timeout: float = 30.0) -> None:
        if self.closed:
            return
        self.closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout=timeout)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Job):
                settle(item.future, UnavailableError("the store is closed", code="store_closed"))
        if self._client is not None:
            self._client.disconnect()

    # -- the writer thread -----------------------------------------------------------------

    def _gather(self, first: Job) -> tuple[list[Job], bool]:
        jobs = [first]
        rows = len(first.batch)
        deadline = time.monotonic() + self._linger_s
        while rows < self._max_commit_rows:
            try:
                item = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                break
            if item is _STOP:
                return jobs, True
            assert isinstance(item, Job)
            jobs.append(item)
            rows += len(item.batch)
        return jobs, False

    def _loop(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if item is _STOP:
                break
            assert isinstance(item, Job)
            jobs, stop = self._gather(item)
            started = time.monotonic()
            self._commit_jobs(jobs)
            rows = sum(len(job.batch) for job in jobs)
            self.backlog.drained(rows, time.monotonic() - started)
        # What was queued before close is still written, so no caller waits forever.
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Job):
                self._commit_jobs([item])

    def _commit_jobs(self, jobs: list[Job]) -> None:
        """Insert jobs together; if the server or the driver refuses them (not an outage), one
        by one, so that only a refused job fails."""
        try:
            error = self._commit_retrying(jobs)
        except Exception:
            # Text the driver cannot encode, say; and a fault of shugu's own must not stop the
            # only writer: these jobs are tried one by one, or fail, and the writer goes on.
            log.exception("inserting %d ingest jobs failed", len(jobs))
            error = unavailable()
        if error is None:
            self._settle_jobs(jobs, failed=False)
            return
        if len(jobs) > 1 and not self.failing:
            for job in jobs:
                self._commit_jobs([job])
            return
        self._settle_jobs(jobs, failed=True)

    def _settle_jobs(self, jobs: list[Job], *, failed: bool) -> None:
        """Release the jobs' rows from the backlog, then answer their senders: a sender that
        has its answer never finds its own rows still counted as waiting."""
        self.backlog.release(sum(len(job.batch) for job in jobs))
        for job in jobs:
            settle(job.future, unavailable() if failed else len(job.batch))

    def _commit_retrying(self, jobs: list[Job]) -> Exception | None:
        """None once the server confirmed every insert of the jobs; else the last error, after
        reconnecting and retrying for ``retry_s`` while the server is unreachable."""
        deadline = time.monotonic() + self._retry_s
        pause = 0.05
        while True:
            try:
                self._commit(jobs)
            except (OSError, EOFError) as exc:
                error: Exception = exc
            except driver_errors.Error as exc:
                error = exc
                if not _is_connection_error(error):
                    log.error("ClickHouse refused an insert: %s", error)
                    return error
            else:
                if self.failing:
                    log.warning("ClickHouse takes inserts again")
                    self.failing = False
                return None
            self._drop_client()
            if time.monotonic() + pause > deadline or self.closed:
                if not self.failing:
                    log.error("ClickHouse is unreachable: %s", error)
                    self.failing = True
                return error
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def _drop_client(self) -> None:
        if self._client is not None:
            try:
                self._client.disconnect()
            except Exception:
                log.debug("disconnecting a broken ClickHouse client failed", exc_info=True)
            self._client = None

    def _commit(self, jobs: list[Job]) -> None:
        if self._client is None:
            self._client = self._connect()
        client = self._client
        batch = Batch.concat([j.batch for j in jobs if len(j.batch)])
        counter = self._counter + 1
        if len(batch):
            seq = self._sequences(counter, len(batch))
            columns = [batch.device, batch.metric, batch.ts, batch.value, batch.quality, seq]
            client.execute(
                sql.insert(self._layout, "points", POINT_COLUMNS),
                columns,
                columnar=True,
                settings=self._settings,
            )
        counter_after = counter + len(batch)
        attribute_rows: list[list[object]] = []
        for job in jobs:
            for a in job.attributes or ():
                attribute_rows.append(
                    [a.device, a.scope, a.key, a.value_json, a.ts, self._sequence(counter_after)]
                )
                counter_after += 1
        plain = {k: v for k, v in self._settings.items() if k != "use_numpy"}
        if attribute_rows:
            client.execute(
                sql.insert(
                    self._layout, "attributes", ("device", "scope", "key", "value", "ts", "seq")
                ),
                attribute_rows,
                settings=plain,
            )
        self._write_rejects(client, [job.rejects for job in jobs if job.rejects], plain)
        if counter_after > counter:
            self._counter = counter_after - 1
            self.seq = self._sequence(self._counter)
        for listener in self.listeners:
            try:
                listener(batch)
            except Exception:
                # A listener's fault must not fail an insert that has happened.
                log.exception("a batch listener failed; the batch is stored")

    def _sequence(self, counter: int) -> int:
        return (counter << NODE_BITS) | self._node

    def _sequences(self, first: int, n: int) -> npt.NDArray[np.uint64]:
        counters = np.arange(first, first + n, dtype=np.uint64)
        return (counters << np.uint64(NODE_BITS)) | np.uint64(self._node)

    def _write_rejects(self, client: Any, all_rejects: list[Rejects], settings: object) -> None:
        if not all_rejects:
            return
        now = int(time.time() * 1000)
        counts: list[list[object]] = []
        samples: list[list[object]] = []
        for rejects in all_rejects:
            for (device, code), n in rejects.counts.items():
                counts.append([NO_DEVICE if device is None else device, text(code, 64), n, now])
            for r in rejects.samples:
                samples.append(
                    [
                        r.received_ms,
                        r.device,
                        text(r.code, 64),
                        text(r.reason, 500),
                        text(r.metric, 255),
                        r.ts if r.ts is not None and 0 <= r.ts < 2**63 else None,
                        text(r.sample, 300),
                    ]
                )
        if samples:
            client.execute(
                sql.insert(
                    self._layout,
                    "reject_samples",
                    ("received_ms", "device", "code", "reason", "metric", "ts", "sample"),
                ),
                samples,
                settings=settings,
            )
        if counts:
            client.execute(
                sql.insert(self._layout, "reject_counts", ("device", "code", "n", "last_ms")),
                counts,
                settings=settings,
            )


#: The driver's errors that mean the server was not reached (retry), not that it refused the
#: statement (do not).
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    driver_errors.NetworkError,
    driver_errors.SocketTimeoutError,
    driver_errors.UnexpectedPacketFromServerError,
)


def _is_connection_error(exc: Exception) -> bool:
    return isinstance(exc, CONNECTION_ERRORS)
