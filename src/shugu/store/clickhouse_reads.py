"""The reads of the ClickHouse telemetry store (``clickhouse_store.py``): latest values, ranges
and their buckets, rejects, attributes.

Each reading thread has its own client (a clickhouse-driver client is one connection, not
shareable). Buckets are aggregated by the server over de-duplicated points, so a month of a
district crosses the network as one row per bucket; answers have the embedded store's columns
and types, metric ids turned back into names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from shugu.domain.errors import UnavailableError
from shugu.store import clickhouse_cells_sql as cells_sql
from shugu.store import clickhouse_sql as sql
from shugu.store.clickhouse_schema import Layout
from shugu.store.clickhouse_writer import CONNECTION_ERRORS
from shugu.store.queries import latest_table
from shugu.store.telemetry import AttributeRecord, RangeQuery

_INT_AGGREGATES = frozenset({"count"})

READ_FAILURES: tuple[type[Exception], ...] = (OSError, EOFError, *CONNECTION_ERRORS)


class ClickHouseReads:
    """What ``ClickHouseTelemetryStore`` answers; it provides the layout, the per-thread client
    and the metric dictionary."""

    layout: Layout
    #: Whether whole-hour buckets read the roll-up cells where they can (the scan otherwise).
    read_cells: bool = True
    _metric_ids: dict[str, int]
    _metric_names: dict[int, str]

    def _client(self) -> Any:
        raise NotImplementedError

    def metric_name(self, metric_id: int) -> str:
        raise NotImplementedError

    def _reread_metrics(self) -> bool:
        """Read the metric dictionary again (another node may have numbered new metrics);
        False when it was read too recently to try again."""
        raise NotImplementedError

    def _execute(self, statement: sql.Statement, **options: Any) -> Any:
        """Run a read; a server out of reach is the store being unavailable (HTTP 503)."""
        text, params = statement
        try:
            return self._client().execute(text, params, **options)
        except READ_FAILURES as exc:
            raise UnavailableError(
                f"the telemetry store cannot be read right now: {exc}", code="store_unavailable"
            ) from exc

    def _columns(self, statement: sql.Statement) -> dict[str, Any]:
        """A query's result as numpy columns by name (empty arrays when no row matches)."""
        rows, types = self._execute(
            statement, columnar=True, with_column_types=True, settings={"use_numpy": True}
        )
        names = [name for name, _ in types]
        if not rows:
            return {name: np.empty(0, _dtype(kind)) for name, kind in types}
        return dict(zip(names, rows, strict=True))

    def _rows(self, statement: sql.Statement) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._execute(statement)
        return rows

    def _names(self, metric_ids: Any) -> pa.Array:
        return pa.array([self.metric_name(int(m)) for m in metric_ids], pa.string())

    def _known_ids(self, metrics: Sequence[str]) -> list[int]:
        if any(m not in self._metric_ids for m in metrics):
            self._reread_metrics()
        return [self._metric_ids[m] for m in metrics if m in self._metric_ids]

    def latest(self, devices: Sequence[int] | None) -> pa.Table:
        if devices is not None and not len(devices):
            cols = self._columns(sql.latest(self.layout, [-1]))
        else:
            cols = self._columns(sql.latest(self.layout, devices))
        if any(int(m) not in self._metric_names for m in np.unique(cols["metric"])):
            self._reread_metrics()
        return latest_table(
            (
                np.asarray(cols["device"], np.int32),
                np.asarray(cols["metric"], np.int32),
                np.asarray(cols["lt"], np.int64),
                np.asarray(cols["lv"], np.float64),
                np.asarray(cols["lq"], np.uint8),
            ),
            self._metric_names,
        )

    def query_range(self, query: RangeQuery) -> pa.Table:
        metric_ids: list[int] | None = None
        if query.metrics is not None:
            metric_ids = self._known_ids(query.metrics) or [-1]
        if not query.devices:
            query = RangeQuery(
                [-1],
                query.metrics,
                query.start_ms,
                query.end_ms,
                query.bucket_ms,
                query.utc_offset_ms,
                query.aggregates,
                query.limit,
            )
        if query.bucket_ms is None:
            cols = self._columns(sql.raw_range(self.layout, query, metric_ids))
            return pa.table(
                {
                    "device": pa.array(np.asarray(cols["device"], np.int32)),
                    "metric": self._names(cols["metric"]),
                    "ts": pa.array(np.asarray(cols["t"], np.int64)),
                    "value": pa.array(np.asarray(cols["v"], np.float64)),
                    "quality": pa.array(np.asarray(cols["q"], np.uint8)),
                }
            )
        cols = self._columns(self._bucketed(query, metric_ids))
        table: dict[str, pa.Array] = {
            "device": pa.array(np.asarray(cols["device"], np.int32)),
            "metric": self._names(cols["metric"]),
            "bucket": pa.array(np.asarray(cols["b"], np.int64)),
        }
        for name in query.aggregates:
            kind = np.int64 if name in _INT_AGGREGATES else np.float64
            table[name] = pa.array(np.asarray(cols[f"agg_{name}"], kind))
        table["flagged"] = pa.array(np.asarray(cols["flagged"], np.int64))
        return pa.table(table)

    def _bucketed(self, query: RangeQuery, metric_ids: list[int] | None) -> sql.Statement:
        """Buckets from cells for their rolled, clean hours where the buckets are whole hours;
        from a scan of the points otherwise."""
        if self.read_cells and query.bucket_ms is not None:
            until, purged = self._rows(cells_sql.rolled(self.layout))[0]
            span = cells_sql.cell_span(query, int(until or 0), int(purged or 0))
            if span is not None:
                return cells_sql.bucketed_from_cells(self.layout, query, metric_ids, *span)
        return sql.bucketed_range(self.layout, query, metric_ids)

    def values_before(self, devices: Sequence[int], metrics: Sequence[str], ts_ms: int) -> pa.Table:
        ids = self._known_ids(metrics)
        if not devices or not ids:
            return pa.table({"device": [], "metric": [], "ts": [], "value": []})
        cols = self._columns(sql.values_before(self.layout, devices, ids, ts_ms))
        return pa.table(
            {
                "device": pa.array(np.asarray(cols["device"], np.int32)),
                "metric": self._names(cols["metric"]),
                "ts": pa.array(np.asarray(cols["lt"], np.int64)),
                "value": pa.array(np.asarray(cols["lv"], np.float64)),
            }
        )

    def first_after(self, devices: Sequence[int], metrics: Sequence[str], ts_ms: int) -> pa.Table:
        ids = self._known_ids(metrics)
        if not devices or not ids:
            return pa.table({"device": [], "metric": [], "ts": []})
        cols = self._columns(sql.first_after(self.layout, devices, ids, ts_ms))
        return pa.table(
            {
                "device": pa.array(np.asarray(cols["device"], np.int32)),
                "metric": pa.array(np.asarray(cols["metric"], np.int32)),
                "ts": pa.array(np.asarray(cols["ft"], np.int64)),
            }
        )

    def reject_counts(self, devices: Sequence[int] | None) -> pa.Table:
        nothing = devices is not None and not len(devices)
        rows = [] if nothing else self._rows(sql.reject_counts(self.layout, devices))
        return pa.table(
            {
                "device": pa.array([r[0] for r in rows], pa.int32()),
                "code": pa.array([r[1] for r in rows], pa.string()),
                "n": pa.array([r[2] for r in rows], pa.int64()),
                "last_ms": pa.array([r[3] for r in rows], pa.int64()),
            }
        )

    def reject_samples(
        self, devices: Sequence[int] | None, limit: int, *, deviceless: bool = False
    ) -> pa.Table:
        rows = self._rows(sql.reject_samples(self.layout, devices, limit, deviceless))
        names = ("received_ms", "device", "code", "reason", "metric", "ts", "sample")
        types = (
            pa.int64(),
            pa.int32(),
            pa.string(),
            pa.string(),
            pa.string(),
            pa.int64(),
            pa.string(),
        )
        return pa.table(
            {
                name: pa.array([r[i] for r in rows], kind)
                for i, (name, kind) in enumerate(zip(names, types, strict=True))
            }
        )

    def attributes(self, device: int, scope: str | None = None) -> list[AttributeRecord]:
        rows = self._rows(sql.attributes(self.layout, device, scope))
        return [AttributeRecord(int(d), str(s), str(k), str(v), int(t)) for d, s, k, v, t in rows]

    def attributes_named(self, keys: Sequence[str]) -> list[AttributeRecord]:
        if not keys:
            return []
        rows = self._rows(sql.attributes_named(self.layout, keys))
        return [AttributeRecord(int(d), str(s), str(k), str(v), int(t)) for d, s, k, v, t in rows]

    def count_points_by_device_hour(self, start_ms: int, end_ms: int) -> pa.Table:
        """Stored rows with ``start_ms <= ts < end_ms`` per (device, hour since ``start_ms``):
        columns device, hour, n (``store/ingest_today.py`` keeps a running tally of them)."""
        cols = self._columns(sql.count_by_device_hour(self.layout, start_ms, end_ms))
        return pa.table(
            {
                "device": pa.array(np.asarray(cols["device"], np.int32)),
                "hour": pa.array(np.asarray(cols["h"], np.int32)),
                "n": pa.array(np.asarray(cols["n"], np.int64)),
            }
        )

    def count_points(self) -> int:
        """Stored rows, re-sent duplicates not yet merged included."""
        return int(self._rows(sql.count_points(self.layout))[0][0])


def _dtype(kind: str) -> type[np.generic]:
    kinds: dict[str, type[np.generic]] = {
        "Int32": np.int32,
        "Int64": np.int64,
        "UInt8": np.uint8,
        "UInt64": np.uint64,
        "Float64": np.float64,
    }
    return kinds.get(kind, np.object_)
