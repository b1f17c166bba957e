"""Reading telemetry: latest values and bucketed ranges, as JSON, Arrow IPC or CSV."""

from __future__ import annotations

from typing import Annotated

import pyarrow as pa
from fastapi import APIRouter, Query
from fastapi.responses import Response

from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.openapi import TABLE_RESPONSES
from shugu.api.scope import (
    require_machine_access,
    visible_device,
    visible_enterprise_for_machines,
)
from shugu.api.tabular import Format, table_response
from shugu.domain.errors import ForbiddenError, NotFoundError, ValidationError
from shugu.domain.tenancy import Role
from shugu.domain.timeutil import CHINA_OFFSET_MS, parse_bucket, parse_instant, utc_now_ms
from shugu.store.telemetry import AGGREGATES, RangeQuery

router = APIRouter(tags=["telemetry"])

FormatQ = Annotated[Format, Query(description="json (columnar), arrow (IPC stream) or csv")]
_DAY_MS = 86_400_000


@router.get("/api/devices/{device_id}/latest", responses=TABLE_RESPONSES)
def device_latest(
    device_id: int, access: AccessDep, services: ServicesDep, format: FormatQ = "json"
) -> Response:
    """Latest value of each metric of one device."""
    ref = visible_device(services.registry, access, device_id)
    table = services.store.latest([ref.id])
    return table_response(
        table, format, {"device": ref.id, "name": ref.name, "profile": ref.profile}
    )


@router.get("/api/enterprises/{enterprise_id}/latest", responses=TABLE_RESPONSES)
def enterprise_latest(
    enterprise_id: int, access: AccessDep, services: ServicesDep, format: FormatQ = "json"
) -> Response:
    """Latest value of each metric of every device of an enterprise."""
    visible_enterprise_for_machines(services.registry, access, enterprise_id)
    ids = [d.id for d in services.registry.device_refs_of_enterprise(enterprise_id)]
    return table_response(services.store.latest(ids), format, {"enterprise": enterprise_id})


def _range_query(
    devices: list[int],
    start: str | None,
    end: str | None,
    bucket: str | None,
    agg: str,
    metrics: str | None,
) -> RangeQuery:
    end_ms = parse_instant(end, "end") if end else utc_now_ms()
    start_ms = parse_instant(start, "start") if start else end_ms - _DAY_MS
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
        devices=devices,
        metrics=[m.strip() for m in metrics.split(",") if m.strip()] if metrics else None,
        start_ms=start_ms,
        end_ms=end_ms,
        bucket_ms=parse_bucket(bucket) if bucket else None,
        utc_offset_ms=CHINA_OFFSET_MS,
        aggregates=list(dict.fromkeys(aggregates)),
    )


StartQ = Annotated[
    str | None, Query(description="ms since 1970 or ISO 8601 (default: end − 1 day)")
]
EndQ = Annotated[str | None, Query(description="ms since 1970 or ISO 8601 (default: now)")]
BucketQ = Annotated[
    str | None,
    Query(
        description="bucket width: 1m, 15m, 1h, 1d …; days are China calendar days; "
        "omit for raw points"
    ),
]
AggQ = Annotated[str, Query(description="comma-separated: avg,min,max,sum,count,first,last")]
MetricsQ = Annotated[str | None, Query(description="comma-separated metric names (default: all)")]


@router.get("/api/devices/{device_id}/telemetry", responses=TABLE_RESPONSES)
def device_range(
    device_id: int,
    access: AccessDep,
    services: ServicesDep,
    start: StartQ = None,
    end: EndQ = None,
    bucket: BucketQ = None,
    agg: AggQ = "avg",
    metrics: MetricsQ = None,
    format: FormatQ = "json",
) -> Response:
    """Points of one device in [start, end), raw or aggregated per bucket."""
    ref = visible_device(services.registry, access, device_id)
    query = _range_query([ref.id], start, end, bucket, agg, metrics)
    return _range_answer(services, query, format)


@router.get("/api/enterprises/{enterprise_id}/telemetry", responses=TABLE_RESPONSES)
def enterprise_range(
    enterprise_id: int,
    access: AccessDep,
    services: ServicesDep,
    devices: Annotated[
        str | None, Query(description="comma-separated device ids (default: all)")
    ] = None,
    start: StartQ = None,
    end: EndQ = None,
    bucket: BucketQ = None,
    agg: AggQ = "avg",
    metrics: MetricsQ = None,
    format: FormatQ = "json",
) -> Response:
    """Points of several devices of one enterprise, raw or aggregated per bucket."""
    visible_enterprise_for_machines(services.registry, access, enterprise_id)
    own = {d.id for d in services.registry.device_refs_of_enterprise(enterprise_id)}
    if devices:
        try:
            wanted = [int(x) for x in devices.split(",") if x.strip()]
        except ValueError:
            raise ValidationError(
                "devices takes comma-separated ids", code="bad_devices", field="devices"
            ) from None
        foreign = [d for d in wanted if d not in own]
        if foreign:
            raise NotFoundError(
                f"no such device in this enterprise: {foreign[0]}", code="not_found"
            )
        ids = wanted
    else:
        ids = sorted(own)
    query = _range_query(ids, start, end, bucket, agg, metrics)
    return _range_answer(services, query, format)


def _range_answer(services: ServicesDep, query: RangeQuery, fmt: Format) -> Response:
    table = services.store.query_range(query) if query.devices else pa.table({})
    meta: dict[str, object] = {
        "start": query.start_ms,
        "end": query.end_ms,
        "bucket_ms": query.bucket_ms,
        "aggregates": list(query.aggregates) if query.bucket_ms else None,
        "truncated": table.num_rows >= query.limit,
    }
    return table_response(table, fmt, meta)


@router.get("/api/rejects")
def rejects(
    access: AccessDep,
    services: ServicesDep,
    enterprise: Annotated[int | None, Query(description="only this enterprise's devices")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, object]:
    """The rejects log: counts per device and reason, and the latest samples.

    A sample quotes what was sent, so it is a machine value: without an enterprise, the operator
    gets the counts of every device (platform health) and the samples that name no device (bad
    tokens, refused connections) or a device of an enterprise that granted it consent."""
    # Refusals counted in memory are written first, so the counts include every one answered.
    services.pipeline.refusals.wait_written()
    if access.role is Role.OPERATOR and enterprise is None:
        readable = {
            d.id
            for e in services.registry.list_enterprises()
            if access.can_read_machines(e.id)
            for d in services.registry.device_refs_of_enterprise(e.id)
        }
        # Filtered in the query, so older readable samples fill the limit.
        samples = services.store.reject_samples(sorted(readable), limit, deviceless=True)
        return {
            "counts": services.store.reject_counts(None).to_pylist(),
            "samples": samples.to_pylist(),
        }
    if access.role is Role.ENTERPRISE_ADMIN and enterprise is None:
        enterprise = access.principal.enterprise_id
    if enterprise is not None and access.role is Role.OPERATOR:
        require_machine_access(access, enterprise)
    if enterprise is None or not access.can_manage_enterprise(enterprise):
        if enterprise is not None and not access.can_see_enterprise(enterprise):
            raise NotFoundError("no such enterprise", code="not_found")
        raise ForbiddenError(
            "the rejects log is for operators and enterprise administrators", code="forbidden"
        )
    devices = [d.id for d in services.registry.device_refs_of_enterprise(enterprise)]
    counts = services.store.reject_counts(devices)
    samples = services.store.reject_samples(devices, limit)
    return {"counts": counts.to_pylist(), "samples": samples.to_pylist()}
