"""The reads of the embedded telemetry store (``duckdb_store.py``): latest values, ranges with
their buckets, rejects, attributes and counts.

Kept apart from the writer: reads run on each caller's own cursor (``_cursor``, one per thread),
never on the writer's, and touch nothing the writer owns but the latest-value cache, which is
safe to read from any thread. Re-sent points count once: every read combines the appended rows
(the highest sequence wins) with the compacted, de-duplicated ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa

from shugu.domain.batch import Batch
from shugu.store.buckets import bucket_table
from shugu.store.latest import LatestCache
from shugu.store.queries import latest_table, points_sql, range_filter, recent_count_sql
from shugu.store.telemetry import AttributeRecord, RangeQuery


class StoreReads:
    """What ``DuckDBTelemetryStore`` answers; it provides the connection, the per-thread cursor,
    the metric dictionary and the latest-value cache."""

    _con: duckdb.DuckDBPyConnection
    latest_cache: LatestCache
    _metric_ids: dict[str, int]
    _metric_names: dict[int, str]

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        raise NotImplementedError

    def metric_name(self, metric_id: int) -> str:
        raise NotImplementedError

    def _load_latest(self) -> None:
        table = self._con.sql(
            "SELECT device, metric, max(ts) AS ts, arg_max(value, (ts, seq)) AS value, "
            "arg_max(quality, (ts, seq)) AS quality FROM ("
            "  SELECT device, metric, ts, value, quality, seq FROM points UNION ALL"
            "  SELECT device, metric, ts, value, quality, 0 AS seq FROM points_sorted"
            ") GROUP BY device, metric"
        ).to_arrow_table()
        if table.num_rows:
            self.latest_cache.update(
                Batch(
                    table.column("device").to_numpy().astype(np.int32),
                    table.column("metric").to_numpy().astype(np.int32),
                    table.column("ts").to_numpy().astype(np.int64),
                    table.column("value").to_numpy().astype(np.float64),
                    table.column("quality").to_numpy().astype(np.uint8),
                )
            )

    def latest(self, devices: Sequence[int] | None) -> pa.Table:
        return latest_table(self.latest_cache.snapshot(devices), self._metric_names)

    def query_range(self, query: RangeQuery) -> pa.Table:
        metric_ids: list[int] | None = None
        if query.metrics is not None:
            metric_ids = [self._metric_ids[m] for m in query.metrics if m in self._metric_ids]
            if not metric_ids:
                metric_ids = [-1]
        where, params = range_filter(query, metric_ids)
        cur = self._cursor()
        recent = cur.sql(recent_count_sql(where), params=params).fetchall()[0][0]
        with_recent = recent > 0
        sql = points_sql(where, with_recent)
        all_params = params + params if with_recent else params
        if query.bucket_ms is None:
            # Raw points: the database sorts and stops at the limit, never holding more.
            sql = f"SELECT * FROM ({sql}) AS p ORDER BY device, metric, ts LIMIT ?"
            all_params = [*all_params, query.limit]
        rows = cur.sql(sql, params=all_params).to_arrow_table()
        if query.bucket_ms is None:
            table = rows
        else:
            table = bucket_table(rows, query.bucket_ms, query.utc_offset_ms, query.aggregates)
        table = table.slice(0, query.limit)
        names = pa.array(
            [self.metric_name(int(m)) for m in table.column("metric").to_pylist()], pa.string()
        )
        return table.set_column(table.schema.get_field_index("metric"), "metric", names)

    def reject_counts(self, devices: Sequence[int] | None) -> pa.Table:
        sql = "SELECT device, code, n, last_ms FROM reject_counts"
        params: list[object] = []
        if devices is not None:
            sql += " WHERE list_contains(?, device)"
            params.append(list(devices))
        sql += " ORDER BY device, code"
        return self._cursor().sql(sql, params=params).to_arrow_table()

    def reject_samples(
        self, devices: Sequence[int] | None, limit: int, *, deviceless: bool = False
    ) -> pa.Table:
        sql = "SELECT * FROM reject_samples"
        params: list[object] = []
        if devices is not None:
            sql += " WHERE list_contains(?, device)"
            params.append(list(devices))
            if deviceless:
                sql += " OR device IS NULL"
        sql += " ORDER BY received_ms DESC LIMIT ?"
        params.append(limit)
        return self._cursor().sql(sql, params=params).to_arrow_table()

    def attributes(self, device: int, scope: str | None = None) -> list[AttributeRecord]:
        sql = "SELECT device, scope, key, value, ts FROM attributes WHERE device = ?"
        params: list[object] = [device]
        if scope is not None:
            sql += " AND scope = ?"
            params.append(scope)
        rows = self._cursor().sql(sql + " ORDER BY scope, key", params=params).fetchall()
        return [AttributeRecord(int(d), str(s), str(k), str(v), int(t)) for d, s, k, v, t in rows]

    def values_before(self, devices: Sequence[int], metrics: Sequence[str], ts_ms: int) -> pa.Table:
        """Per (device, metric) the last point before ``ts_ms`` (metric as its name): the value a
        series held when a window of it starts."""
        ids = [self._metric_ids[m] for m in metrics if m in self._metric_ids]
        if not devices or not ids:
            return pa.table({"device": [], "metric": [], "ts": [], "value": []})
        where = "list_contains(?, device) AND list_contains(?, metric) AND ts < ?"
        params: list[object] = [list(devices), ids, ts_ms]
        sql = (
            "SELECT device, metric, max(ts) AS ts, arg_max(value, (ts, seq)) AS value FROM ("
            f"SELECT device, metric, ts, value, 0::BIGINT AS seq FROM points_sorted WHERE {where} "
            f"UNION ALL SELECT device, metric, ts, value, seq FROM points WHERE {where}"
            ") AS u GROUP BY device, metric"
        )
        table = self._cursor().sql(sql, params=params + params).to_arrow_table()
        names = pa.array(
            [self.metric_name(int(m)) for m in table.column("metric").to_pylist()], pa.string()
        )
        return table.set_column(table.schema.get_field_index("metric"), "metric", names)

    def first_after(self, devices: Sequence[int], metrics: Sequence[str], ts_ms: int) -> pa.Table:
        """Per (device, metric) the time of the first point after ``ts_ms``."""
        ids = [self._metric_ids[m] for m in metrics if m in self._metric_ids]
        if not devices or not ids:
            return pa.table({"device": [], "metric": [], "ts": []})
        where = "list_contains(?, device) AND list_contains(?, metric) AND ts > ?"
        params: list[object] = [list(devices), ids, ts_ms]
        sql = (
            "SELECT device, metric, min(ts) AS ts FROM ("
            f"SELECT device, metric, ts FROM points_sorted WHERE {where} "
            f"UNION ALL SELECT device, metric, ts FROM points WHERE {where}"
            ") AS u GROUP BY device, metric"
        )
        return self._cursor().sql(sql, params=params + params).to_arrow_table()

    def attributes_named(self, keys: Sequence[str]) -> list[AttributeRecord]:
        """Every device's attributes with one of these keys, in any scope (one query)."""
        if not keys:
            return []
        sql = "SELECT device, scope, key, value, ts FROM attributes WHERE key IN ?"
        rows = self._cursor().sql(sql + " ORDER BY device, scope", params=[list(keys)]).fetchall()
        return [AttributeRecord(int(d), str(s), str(k), str(v), int(t)) for d, s, k, v, t in rows]

    def count_points(self) -> int:
        """Stored rows, re-sent duplicates not yet compacted included."""
        row = (
            self._cursor()
            .sql("SELECT (SELECT count(*) FROM points) + (SELECT count(*) FROM points_sorted)")
            .fetchall()[0]
        )
        return int(row[0])

    def count_points_by_device_hour(self, start_ms: int, end_ms: int) -> pa.Table:
        """Stored rows with ``start_ms <= ts < end_ms`` per (device, hour since ``start_ms``):
        columns device, hour, n. It scans the window's rows: a day of a large district takes a
        second or two, so callers count once and keep a tally (``store/ingest_today.py``)."""
        rows = (
            "SELECT device, ts FROM points WHERE ts >= $start AND ts < $end "
            "UNION ALL SELECT device, ts FROM points_sorted WHERE ts >= $start AND ts < $end"
        )
        sql = (
            f"SELECT device, CAST((ts - $start) // 3600000 AS INTEGER) AS hour, count(*) AS n "
            f"FROM ({rows}) GROUP BY ALL"
        )
        return self._cursor().sql(sql, params={"start": start_ms, "end": end_ms}).to_arrow_table()
