"""SQL and result shaping for telemetry reads, kept apart from the writer's mechanics."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shugu.store.telemetry import AGGREGATES, RangeQuery

_AGG_SQL = {
    "avg": "avg(value)",
    "min": "min(value)",
    "max": "max(value)",
    "sum": "sum(value)",
    "count": "count(*)",
    "first": "arg_min(value, ts)",
    "last": "arg_max(value, ts)",
}
assert set(_AGG_SQL) == set(AGGREGATES)


def range_sql(query: RangeQuery, metric_ids: list[int] | None) -> tuple[str, list[object]]:
    """SQL for a range read: de-duplicate (device, metric, ts), then bucket and aggregate.

    De-duplication keeps the value of the latest commit (highest ``seq``) for each key.
    """
    params: list[object] = [list(query.devices), query.start_ms, query.end_ms]
    where = "list_contains(?, device) AND ts >= ? AND ts < ?"
    if len(query.devices) == 1:
        where = "device = ? AND ts >= ? AND ts < ?"
        params[0] = query.devices[0]
    if metric_ids is not None:
        where += " AND list_contains(?, metric)"
        params.append(metric_ids)
    dedup = (
        "SELECT device, metric, ts, arg_max(value, seq) AS value, "
        "arg_max(quality, seq) AS quality "
        f"FROM points WHERE {where} GROUP BY device, metric, ts"
    )
    if query.bucket_ms is None:
        sql = f"SELECT * FROM ({dedup}) ORDER BY device, metric, ts LIMIT ?"
        params.append(query.limit)
        return sql, params
    b = int(query.bucket_ms)
    off = int(query.utc_offset_ms)
    aggs = ", ".join(f"{_AGG_SQL[a]} AS {a}" for a in query.aggregates)
    sql = (
        f"SELECT device, metric, ((ts + {off}) // {b}) * {b} - {off} AS bucket, {aggs}, "
        f"count(*) FILTER (WHERE quality <> 0) AS flagged "
        f"FROM ({dedup}) GROUP BY device, metric, bucket ORDER BY device, metric, bucket LIMIT ?"
    )
    params.append(query.limit)
    return sql, params


def latest_table(
    columns: tuple[
        npt.NDArray[np.int32],
        npt.NDArray[np.int32],
        npt.NDArray[np.int64],
        npt.NDArray[np.float64],
        npt.NDArray[np.uint8],
    ],
    metric_names: dict[int, str],
) -> pa.Table:
    device, metric, ts, value, quality = columns
    # Dictionary-encode metric names: few distinct names, many series.
    uniq, inverse = np.unique(metric, return_inverse=True)
    names = pa.array([metric_names.get(int(m), f"#{m}") for m in uniq], pa.string())
    metric_col = pa.DictionaryArray.from_arrays(pa.array(inverse.astype(np.int32)), names)
    return pa.table(
        {
            "device": pa.array(device),
            "metric": metric_col,
            "ts": pa.array(ts),
            "value": pa.array(value),
            "quality": pa.array(quality),
        }
    )
