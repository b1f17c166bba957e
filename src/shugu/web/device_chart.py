"""The device page's chart data: one metric over a range, as JSON for ``static/web/device.js``.

A range is either relative to now (``range=1h`` … ``30d``; the chart then follows live values)
or fixed (``start`` and ``end``, ms since 1970 or ISO 8601, China time without an offset; a
range without ``end`` ends now and is live too). The store decides raw points or buckets by span
(``store/chart_series.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Query
from starlette.responses import Response

from shugu.api.jsonresponse import JSONBytes
from shugu.api.scope import visible_device
from shugu.domain.errors import ValidationError
from shugu.domain.timeutil import parse_instant, utc_now_ms
from shugu.store.chart_series import DAY_MS, HOUR_MS, chart_series
from shugu.web.session import PageUserDep

#: The range picker's spans, in the order shown.
RANGES: Final = {
    "1h": HOUR_MS,
    "6h": 6 * HOUR_MS,
    "24h": DAY_MS,
    "7d": 7 * DAY_MS,
    "30d": 30 * DAY_MS,
}
DEFAULT_RANGE: Final = "24h"
CUSTOM: Final = "custom"
#: Longest metric name a chart asks for (the store keeps names up to this).
MAX_METRIC_CHARS: Final = 255


@dataclass(frozen=True, slots=True)
class ChartRange:
    #: One of ``RANGES``, or ``custom``.
    key: str
    start_ms: int
    end_ms: int
    #: The range ends now: live values extend it.
    live: bool


def parse_range(range_key: str | None, start: str | None, end: str | None) -> ChartRange:
    now = utc_now_ms()
    if start:
        start_ms = parse_instant(start, "start")
        end_ms = parse_instant(end, "end") if end else now
        if start_ms >= end_ms:
            raise ValidationError("start must be before end", code="bad_range", field="start")
        return ChartRange(CUSTOM, start_ms, end_ms, live=not end)
    key = range_key or DEFAULT_RANGE
    span = RANGES.get(key)
    if span is None:
        raise ValidationError(
            f"range is one of {', '.join(RANGES)}, or give start (and end)",
            code="bad_range",
            field="range",
        )
    return ChartRange(key, now - span, now, live=True)


def device_chart(
    device_id: int,
    user: PageUserDep,
    metric: Annotated[str, Query(min_length=1, max_length=MAX_METRIC_CHARS)],
    range: Annotated[str | None, Query(max_length=16)] = None,
    start: Annotated[str | None, Query(max_length=64)] = None,
    end: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """``GET /devices/{device_id}/chart`` (routed by ``device_pages``): one metric of a device
    over a range, raw points or buckets with their min and max."""
    ref = visible_device(user.services.registry, user.access, device_id)
    chosen = parse_range(range, start, end)
    series = chart_series(user.services.store, ref.id, metric, chosen.start_ms, chosen.end_ms)
    return JSONBytes(
        {
            "device": ref.id,
            "metric": metric,
            "range": chosen.key,
            "start": series.start_ms,
            "end": series.end_ms,
            "live": chosen.live,
            "bucket_ms": series.bucket_ms,
            "points": series.points,
        }
    )
