"""SQL and result shaping for telemetry reads, kept apart from the writer's mechanics."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shugu.store.telemetry import RangeQuery


def range_filter(query: RangeQuery, metric_ids: list[int] | None) -> tuple[str, list[object]]:
    params: list[object] = [list(query.devices), query.start_ms, query.end_ms]
    where = "list_contains(?, device) AND ts >= ? AND ts < ?"
    if len(query.devices) == 1:
        where = "device = ? AND ts >= ? AND ts < ?"
        params[0] = query.devices[0]
    if metric_ids is not None:
        where += " AND list_contains(?, metric)"
        params.append(metric_ids)
    return where, params


def recent_count_sql(where: str) -> str:
    return f"SELECT count(*) FROM points WHERE {where}"


def points_sql(where: str, with_recent: bool) -> str:
    """De-duplicated points matching ``where``.

    Compacted rows have unique keys, so when no recent row matches they are the answer as they
    are. Otherwise compacted rows count as sequence 0 and recent rows keep their arrival
    sequence, and per key the highest sequence wins: a late re-send supersedes a compacted row.
    (One hash aggregate over the union measured about twice as fast as an anti-join.)
    """
    if not with_recent:
        return f"SELECT device, metric, ts, value, quality FROM points_sorted WHERE {where}"
    return (
        "SELECT device, metric, ts, arg_max(value, seq) AS value, "
        "arg_max(quality, seq) AS quality FROM ("
        "SELECT device, metric, ts, value, quality, 0::BIGINT AS seq "
        f"FROM points_sorted WHERE {where} "
        f"UNION ALL SELECT device, metric, ts, value, quality, seq FROM points WHERE {where}"
        ") AS u GROUP BY device, metric, ts"
    )


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
