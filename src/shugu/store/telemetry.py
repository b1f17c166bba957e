"""The TelemetryStore protocol: what ingest and the api need from a time-series store.

The embedded implementation is DuckDB (`duckdb_store.py`); a ClickHouse store for clusters
implements the same protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shugu.domain.batch import Batch
from shugu.domain.errors import OverloadedError

AGGREGATES = ("avg", "min", "max", "sum", "count", "first", "last")


@dataclass(frozen=True, slots=True)
class RejectRecord:
    """One refused value (or payload) kept for the operator: what, why, and a sample."""

    received_ms: int
    device: int | None
    code: str
    reason: str
    metric: str | None = None
    ts: int | None = None
    sample: str | None = None


@dataclass(frozen=True, slots=True)
class AttributeRecord:
    """A device attribute (ThingsBoard's client or shared scope): a JSON value and its time."""

    device: int
    scope: str
    key: str
    value_json: str
    ts: int


@dataclass(slots=True)
class Rejects:
    """Refusals of one request: exact counts per (device, code), plus a bounded set of samples."""

    counts: dict[tuple[int | None, str], int] = field(default_factory=dict)
    samples: list[RejectRecord] = field(default_factory=list)
    max_samples: int = 50

    def add(self, record: RejectRecord, count: int = 1) -> None:
        """Count ``count`` refusals and keep the record as an example (count 0: example only)."""
        key = (record.device, record.code)
        self.counts[key] = self.counts.get(key, 0) + count
        if len(self.samples) < self.max_samples:
            self.samples.append(record)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return bool(self.counts)


@dataclass(frozen=True, slots=True)
class RangeQuery:
    devices: Sequence[int]
    metrics: Sequence[str] | None
    start_ms: int
    end_ms: int
    #: Bucket width in ms; None returns the raw (de-duplicated) points.
    bucket_ms: int | None = None
    #: Buckets are aligned to local midnight: ms east of UTC (Asia/Shanghai = +8 h).
    utc_offset_ms: int = 8 * 3600 * 1000
    aggregates: Sequence[str] = ("avg",)
    limit: int = 2_000_000


class IngestStore(Protocol):
    """What the ingest door and the device APIs need of a store: take batches, tell the
    backlog, number metric names, read a device's attributes. A front process's channel to
    the main process (`front/channel_store.py`) is one; so is every TelemetryStore."""

    def submit(
        self,
        batch: Batch,
        rejects: Rejects | None = None,
        attributes: Sequence[AttributeRecord] | None = None,
    ) -> Future[int]:
        """Queue a batch; the future resolves to its row count once it is durable."""
        ...

    @property
    def backlog_rows(self) -> int:
        """Points handed over and not yet durable."""
        ...

    @property
    def max_backlog_rows(self) -> int:
        """Beyond this backlog, ``submit`` refuses with an OverloadedError."""
        ...

    def overloaded(self) -> OverloadedError:
        """The refusal a sender gets while the backlog is full."""
        ...

    def attributes(self, device: int, scope: str | None = None) -> list[AttributeRecord]: ...

    def metric_ids(self, names: Sequence[str]) -> npt.NDArray[np.int32]:
        """Ids of metric names, numbering new names on first sight."""
        ...

    def metric_id(self, name: str) -> int | None:
        """The id of a metric name already numbered, else None."""
        ...


class TelemetryStore(IngestStore, Protocol):
    """Everything the API, the monitor and the analytics read and write: the ingest part and
    the queries."""

    def values_before(self, devices: Sequence[int], metrics: Sequence[str], ts_ms: int) -> pa.Table:
        """Per (device, metric) the last point before ``ts_ms``: device, metric, ts, value."""
        ...

    def first_after(self, devices: Sequence[int], metrics: Sequence[str], ts_ms: int) -> pa.Table:
        """Per (device, metric) the time of the first point after ``ts_ms``: device, metric, ts."""
        ...

    def attributes_named(self, keys: Sequence[str]) -> list[AttributeRecord]:
        """Every device's attributes with one of these keys, in any scope."""
        ...

    @property
    def committed_seq(self) -> int:
        """The sequence number of the last row committed; it grows with every commit."""
        ...

    def metric_name(self, metric_id: int) -> str:
        """The name of a numbered metric."""
        ...

    def add_listener(self, listener: Callable[[Batch], None]) -> None:
        """Have ``listener`` called with every batch once it is durable."""
        ...

    def latest(self, devices: Sequence[int] | None) -> pa.Table:
        """Latest value of every metric of the given devices (None: all devices)."""
        ...

    def query_range(self, query: RangeQuery) -> pa.Table: ...

    def reject_counts(self, devices: Sequence[int] | None) -> pa.Table: ...

    def reject_samples(
        self, devices: Sequence[int] | None, limit: int, *, deviceless: bool = False
    ) -> pa.Table:
        """The newest ``limit`` samples of the given devices (None: all samples); with
        ``deviceless``, also those that name no device (bad tokens, refused connections)."""
        ...

    def purge_before(self, ts_ms: int) -> int: ...

    def close(self) -> None: ...
