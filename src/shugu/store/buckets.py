"""Bucketed aggregation of de-duplicated points, in numpy.

Rows come sorted by (device, metric, ts), so every bucket is a contiguous run: each aggregate is
one ``reduceat`` over run starts. For a device-day (86,400 rows) this takes well under a
millisecond, where a SQL hash aggregate over the same rows measured 5–8 ms on this machine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa

WEEK_MS = 7 * 86_400_000
MONDAY_SHIFT_MS = 3 * 86_400_000


def sort_rows(
    device: npt.NDArray[np.int32], metric: npt.NDArray[np.int32], ts: npt.NDArray[np.int64]
) -> npt.NDArray[np.intp] | None:
    """The permutation that sorts rows by (device, metric, ts), or None when already sorted."""
    n = len(ts)
    if n < 2:
        return None
    same_series = (device[1:] == device[:-1]) & (metric[1:] == metric[:-1])
    ordered = (
        (device[1:] > device[:-1])
        | ((device[1:] == device[:-1]) & (metric[1:] > metric[:-1]))
        | (same_series & (ts[1:] >= ts[:-1]))
    )
    if bool(ordered.all()):
        return None
    return np.lexsort((ts, metric, device))


def bucket_table(
    rows: pa.Table, bucket_ms: int, offset_ms: int, aggregates: Sequence[str]
) -> pa.Table:
    """Aggregate rows (device, metric, ts, value, quality) into buckets aligned to local time."""
    device = rows.column("device").to_numpy()
    metric = rows.column("metric").to_numpy()
    ts = rows.column("ts").to_numpy()
    value = rows.column("value").to_numpy()
    quality = rows.column("quality").to_numpy()
    order = sort_rows(device, metric, ts)
    if order is not None:
        device, metric, ts = device[order], metric[order], ts[order]
        value, quality = value[order], quality[order]
    n = len(ts)
    if bucket_ms % WEEK_MS == 0:
        # 1970-01-01 was a Thursday; weeks start on Monday (GB/T 7408), three days later.
        offset_ms += MONDAY_SHIFT_MS
    bucket = ((ts + offset_ms) // bucket_ms) * bucket_ms - offset_ms
    if n:
        change = (
            (device[1:] != device[:-1]) | (metric[1:] != metric[:-1]) | (bucket[1:] != bucket[:-1])
        )
        starts = np.flatnonzero(np.concatenate(([True], change)))
    else:
        starts = np.empty(0, np.intp)
    ends = np.concatenate((starts[1:], [n])).astype(np.intp) - 1 if n else starts
    counts = (ends - starts + 1).astype(np.int64)
    columns: dict[str, pa.Array] = {
        "device": pa.array(device[starts]),
        "metric": pa.array(metric[starts]),
        "bucket": pa.array(bucket[starts]),
    }
    for name in aggregates:
        columns[name] = pa.array(_aggregate(name, value, starts, ends, counts))
    flagged = (quality != 0).astype(np.int64)
    columns["flagged"] = pa.array(np.add.reduceat(flagged, starts) if n else np.empty(0, np.int64))
    return pa.table(columns)


def _aggregate(
    name: str,
    value: npt.NDArray[np.float64],
    starts: npt.NDArray[np.intp],
    ends: npt.NDArray[np.intp],
    counts: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64] | npt.NDArray[np.int64]:
    if len(starts) == 0:
        if name == "count":
            return np.empty(0, np.int64)
        return np.empty(0, np.float64)
    if name == "count":
        return counts
    if name == "sum":
        return np.add.reduceat(value, starts)
    if name == "avg":
        avg: npt.NDArray[np.float64] = np.add.reduceat(value, starts) / counts
        return avg
    if name == "min":
        return np.minimum.reduceat(value, starts)
    if name == "max":
        return np.maximum.reduceat(value, starts)
    if name == "first":
        return value[starts]
    if name == "last":
        return value[ends]
    raise ValueError(f"unknown aggregate {name!r}")
