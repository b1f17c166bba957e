"""Reading a cluster's new points back from the telemetry store's feed, exactly once.

A row sequence names the ingest node that wrote it in its low bits and grows on that node
(``clickhouse_schema.NODE_BITS``), and each ingest node publishes in the registry the highest
sequence its store has confirmed (``ingest/beat.py``): rows up to it are visible on every shard.
So a reader keeps a watermark per ingest node and reads, per node, the rows above it and up to
the node's published sequence, then raises the watermark to that sequence. A node that has
stopped beating publishes nothing more; everything it wrote above the watermark is read, since
its inserts have landed or failed by then. Monitor workers read their devices' points this way
(``monitor/feed.py``, decision 0051), API nodes every device's, for their facts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from shugu.domain.batch import Batch
from shugu.store.clickhouse_schema import NODE_BITS
from shugu.store.registry import Registry
from shugu.store.registry.cluster import MEMBER_TIMEOUT_S, MemberRecord

_NODE_MASK = (1 << NODE_BITS) - 1
UNBOUNDED = (1 << 63) - 1


class FeedSource(Protocol):
    def feed_rows(
        self, devices: npt.NDArray[np.int32] | None, low_seq: int, high_seq: int
    ) -> tuple[Batch, npt.NDArray[np.uint64]]: ...

    def refresh_metrics(self) -> None: ...

    def metric_name(self, metric_id: int) -> str: ...


def seq_at(seconds: float) -> int:
    """The row sequence a node whose counter follows the clock writes at ``seconds``."""
    return int(seconds * 1_000_000) << NODE_BITS


def nodes_of(seq: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    return (seq & np.uint64(_NODE_MASK)).astype(np.int64)


def within(
    seq: npt.NDArray[np.uint64], low: Mapping[int, int], high: Mapping[int, int], default_low: int
) -> npt.NDArray[np.bool_]:
    """Rows whose sequence lies in ``(low[node], high[node]]`` for the node that wrote them
    (a node without a bound in ``high`` has none; without one in ``low``, ``default_low``)."""
    nodes = nodes_of(seq)
    keep = np.zeros(len(seq), np.bool_)
    for node in np.unique(nodes):
        mine = nodes == node
        above = seq > np.uint64(low.get(int(node), default_low))
        below = seq <= np.uint64(high.get(int(node), UNBOUNDED))
        keep |= mine & above & below
    return keep


def ingest_bounds(rows: Sequence[MemberRecord], now: datetime) -> dict[int, int]:
    """Node number → the sequence up to which its rows may be read: its published sequence
    while it beats, no bound once it is gone (everything it wrote has landed or failed)."""
    bounds: dict[int, int] = {}
    for row in rows:
        if row.node_number is None:
            continue
        alive = (now - row.heartbeat_at).total_seconds() < MEMBER_TIMEOUT_S
        bounds[row.node_number] = row.fed_seq if alive else UNBOUNDED
    return bounds


class FeedReader:
    """Watermarks per ingest node and the reads that move them."""

    def __init__(
        self, registry: Registry, store: FeedSource, clock: Callable[[], datetime]
    ) -> None:
        self._registry = registry
        self._store = store
        self._clock = clock
        #: Node number → highest sequence of it read (or passed over).
        self.watermarks: dict[int, int] = {}
        #: Gone ingest nodes all of whose rows have been read.
        self._drained: set[int] = set()
        self._known_metrics: set[int] = set()
        self.reads = 0

    def bounds(self) -> dict[int, int]:
        return ingest_bounds(self._registry.members(("ingest", "all")), self._clock())

    def start_from_published(self) -> None:
        """Watermarks at what every beating ingest node has published by now (nothing older
        is read); nodes seen later are read from their first row."""
        for node, bound in self.bounds().items():
            if bound != UNBOUNDED:
                self.watermarks.setdefault(node, bound)

    def start_from(self, seq: int) -> None:
        """Watermarks at ``seq`` for every ingest node known now."""
        for node in self.bounds():
            self.watermarks.setdefault(node, seq)

    def read(self, devices: npt.NDArray[np.int32] | None) -> Batch:
        """What is new of ``devices`` (None: of every device), in sequence order."""
        bounds = self.bounds()
        for node, bound in bounds.items():
            if bound != UNBOUNDED:
                self._drained.discard(node)  # beating again
        bounds = {n: b for n, b in bounds.items() if n not in self._drained}
        if not bounds:
            return Batch.empty()
        for node in bounds:
            # A node that joined after this reader started: all its rows are new.
            self.watermarks.setdefault(node, 0)
        if not any(bounds[n] > self.watermarks[n] for n in bounds):
            return Batch.empty()
        if devices is not None and not len(devices):
            self._pass_over(bounds, None)
            return Batch.empty()
        low = min(self.watermarks[n] for n in bounds)
        batch, seq = self._store.feed_rows(devices, low, max(bounds.values()))
        keep = within(seq, self.watermarks, bounds, 0)
        taken = batch.take(keep)
        self._pass_over(bounds, seq[keep])
        self.reads += 1
        return taken

    def _pass_over(self, bounds: Mapping[int, int], read: npt.NDArray[np.uint64] | None) -> None:
        nodes = nodes_of(read) if read is not None and len(read) else None
        for node, bound in bounds.items():
            if bound != UNBOUNDED:
                self.watermarks[node] = max(self.watermarks[node], bound)
            elif nodes is not None and read is not None and bool((nodes == node).any()):
                # A node that is gone: up to the last of its rows read.
                top = int(read[nodes == node].max())
                self.watermarks[node] = max(self.watermarks[node], top)
            else:
                # Gone, and nothing of it left above the watermark: read no further.
                self._drained.add(node)

    def learn_metrics(self, metric: npt.NDArray[np.int32]) -> bool:
        """Whether ``metric`` holds numbers this reader had not met that the store did not
        know either (numbered by an ingest node since): the dictionary is then read again."""
        fresh = set(np.unique(metric).tolist()) - self._known_metrics
        if not fresh:
            return False
        unknown = [m for m in fresh if self._store.metric_name(m).startswith("#")]
        if unknown:
            self._store.refresh_metrics()
        self._known_metrics |= fresh
        return bool(unknown)
