"""One metric of one device over a time span, shaped for a chart: the raw points when the span
holds few enough, else buckets (average with the minimum and maximum beside) whose width keeps
the chart within ``TARGET_POINTS``.

A screen is about two thousand pixels wide: more points than that cost bandwidth and drawing
time and show nothing more. Raw points are tried for short spans only, where even a device
reporting every second leaves a bounded number of rows to read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from shugu.domain.errors import ValidationError
from shugu.domain.timeutil import CHINA_OFFSET_MS
from shugu.store.telemetry import RangeQuery, TelemetryStore

SECOND_MS: Final = 1000
MINUTE_MS: Final = 60 * SECOND_MS
HOUR_MS: Final = 60 * MINUTE_MS
DAY_MS: Final = 24 * HOUR_MS

#: At most this many raw points are drawn as they are.
MAX_RAW_POINTS: Final = 2000
#: Spans up to this are read raw first (a 1 Hz device: 21,600 rows at most).
MAX_RAW_SPAN_MS: Final = 6 * HOUR_MS
#: A bucketed chart has at most this many buckets (one more where the span straddles one).
TARGET_POINTS: Final = 1500
#: Bucket widths a chart uses: round numbers a person reads on an axis.
BUCKET_WIDTHS_MS: Final = (
    SECOND_MS,
    2 * SECOND_MS,
    5 * SECOND_MS,
    10 * SECOND_MS,
    15 * SECOND_MS,
    30 * SECOND_MS,
    MINUTE_MS,
    2 * MINUTE_MS,
    5 * MINUTE_MS,
    10 * MINUTE_MS,
    15 * MINUTE_MS,
    30 * MINUTE_MS,
    HOUR_MS,
    2 * HOUR_MS,
    3 * HOUR_MS,
    6 * HOUR_MS,
    12 * HOUR_MS,
    DAY_MS,
)
#: The longest span a chart covers; its daily buckets stay under ``TARGET_POINTS``.
MAX_SPAN_MS: Final = 366 * DAY_MS


def bucket_for(span_ms: int) -> int:
    """The narrowest round width that cuts ``span_ms`` into at most ``TARGET_POINTS`` buckets."""
    for width in BUCKET_WIDTHS_MS:
        if span_ms <= width * TARGET_POINTS:
            return width
    return BUCKET_WIDTHS_MS[-1]


@dataclass(frozen=True, slots=True)
class ChartSeries:
    start_ms: int
    end_ms: int
    #: None: ``points`` are raw [ts, value]; else ``points`` are [bucket start, avg, min, max,
    #: count], the count letting a chart merge live points into its last bucket.
    bucket_ms: int | None
    points: list[list[float | None]]


def chart_series(
    store: TelemetryStore, device_id: int, metric: str, start_ms: int, end_ms: int
) -> ChartSeries:
    """The series of ``metric`` of ``device_id`` in [start_ms, end_ms). The caller has
    authorised the device."""
    span = end_ms - start_ms
    if span <= 0:
        raise ValidationError("start must be before end", code="bad_range", field="start")
    if span > MAX_SPAN_MS:
        raise ValidationError(
            "a chart covers at most 366 days", code="range_too_long", field="start"
        )
    if span <= MAX_RAW_SPAN_MS:
        raw = store.query_range(
            RangeQuery(
                devices=[device_id],
                metrics=[metric],
                start_ms=start_ms,
                end_ms=end_ms,
                limit=MAX_RAW_POINTS + 1,
            )
        )
        if raw.num_rows <= MAX_RAW_POINTS:
            ts = raw.column("ts").to_numpy()
            value = raw.column("value").to_numpy()
            return ChartSeries(start_ms, end_ms, None, _rows(ts, value))
    width = bucket_for(span)
    table = store.query_range(
        RangeQuery(
            devices=[device_id],
            metrics=[metric],
            start_ms=start_ms,
            end_ms=end_ms,
            bucket_ms=width,
            utc_offset_ms=CHINA_OFFSET_MS,
            aggregates=("avg", "min", "max", "count"),
        )
    )
    columns = [table.column(name).to_numpy() for name in ("bucket", "avg", "min", "max", "count")]
    return ChartSeries(start_ms, end_ms, width, _rows(*columns))


def _rows(*columns: npt.NDArray[np.generic]) -> list[list[float | None]]:
    """Columns as rows of plain numbers (times as integers); a value that is not finite
    becomes None, which a chart draws as a gap."""
    lists = [c.tolist() for c in columns]
    return [[_finite(v) for v in row] for row in zip(*lists, strict=True)]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
