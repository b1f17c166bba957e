"""Reading telemetry ranges: the query a caller asks for, checked, and the answer with what it
covered.

The API's range routes and the console's device charts read through here, so that a range is
validated, defaulted and answered one way. Callers have already authorised the devices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import pyarrow as pa

from shugu.domain.errors import NotFoundError, ValidationError
from shugu.domain.timeutil import CHINA_OFFSET_MS, parse_bucket, parse_instant, utc_now_ms
from shugu.store.registry import Registry
from shugu.store.telemetry import AGGREGATES, RangeQuery, TelemetryStore

DAY_MS: Final = 86_400_000


def range_query(
    devices: Sequence[int],
    start: str | None,
    end: str | None,
    bucket: str | None,
    agg: str,
    metrics: str | None,
) -> RangeQuery:
    """A range as the API takes it in text: [start, end) (default: the day up to now), an
    optional bucket width, comma-separated aggregates and metric names."""
    end_ms = parse_instant(end, "end") if end else utc_now_ms()
    start_ms = parse_instant(start, "start") if start else end_ms - DAY_MS
    if start_ms >= end_ms:
        raise ValidationError("start must be before end", code="bad_range", field="start")
    aggregates = [a.strip() for a in agg.split(",") if a.strip()]
    unknown = [a for a in aggregates if a not in AGGREGATES]
    if unknown or not aggregates:
        raise ValidationError(
            f"agg takes a comma-separated list of {', '.join(AGGREGATES)}; "
            f"unknown: {', '.join(unknown) or '(empty)'}",
            code="bad_aggregate",
            field="agg",
        )
    return RangeQuery(
        devices=list(devices),
        metrics=[m.strip() for m in metrics.split(",") if m.strip()] if metrics else None,
        start_ms=start_ms,
        end_ms=end_ms,
        bucket_ms=parse_bucket(bucket) if bucket else None,
        utc_offset_ms=CHINA_OFFSET_MS,
        aggregates=list(dict.fromkeys(aggregates)),
    )


def enterprise_devices(registry: Registry, enterprise_id: int, devices: str | None) -> list[int]:
    """The devices of an enterprise a range reads: the comma-separated ids given, each of which
    must be the enterprise's, or all of them."""
    own = {d.id for d in registry.device_refs_of_enterprise(enterprise_id)}
    if not devices:
        return sorted(own)
    try:
        wanted = [int(x) for x in devices.split(",") if x.strip()]
    except ValueError:
        raise ValidationError(
            "devices takes comma-separated ids", code="bad_devices", field="devices"
        ) from None
    foreign = [d for d in wanted if d not in own]
    if foreign:
        raise NotFoundError(f"no such device in this enterprise: {foreign[0]}", code="not_found")
    return wanted


@dataclass(frozen=True, slots=True)
class RangeAnswer:
    table: pa.Table
    #: What the answer covers: start, end, bucket_ms, aggregates, truncated.
    meta: dict[str, object]


def read_range(store: TelemetryStore, query: RangeQuery) -> RangeAnswer:
    """The points (or buckets) of a range, and whether the row limit cut them short."""
    table = store.query_range(query) if query.devices else pa.table({})
    meta: dict[str, object] = {
        "start": query.start_ms,
        "end": query.end_ms,
        "bucket_ms": query.bucket_ms,
        "aggregates": list(query.aggregates) if query.bucket_ms else None,
        "truncated": table.num_rows >= query.limit,
    }
    return RangeAnswer(table, meta)
