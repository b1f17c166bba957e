"""Reading telemetry: latest values and bucketed ranges, as JSON, Arrow IPC or CSV."""

from __future__ import annotations

from typing import Annotated

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
from shugu.domain.errors import ForbiddenError, NotFoundError
from shugu.domain.tenancy import Role
from shugu.ingest.rejects_log import device_rejects, platform_rejects
from shugu.store.telemetry import RangeQuery
from shugu.store.telemetry_reads import enterprise_devices, range_query, read_range

router = APIRouter(tags=["telemetry"])

FormatQ = Annotated[Format, Query(description="json (columnar), arrow (IPC stream) or csv")]


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
    query = range_query([ref.id], start, end, bucket, agg, metrics)
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
    ids = enterprise_devices(services.registry, enterprise_id, devices)
    query = range_query(ids, start, end, bucket, agg, metrics)
    return _range_answer(services, query, format)


def _range_answer(services: ServicesDep, query: RangeQuery, fmt: Format) -> Response:
    answer = read_range(services.store, query)
    return table_response(answer.table, fmt, answer.meta)


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
    if access.role is Role.OPERATOR and enterprise is None:
        refusals = services.door.refusals
        return platform_rejects(
            refusals, services.registry, services.store, access, limit
        ).as_dict()
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
    return device_rejects(services.door.refusals, services.store, devices, limit).as_dict()
