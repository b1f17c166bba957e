"""Incidents (事件): alarms that share a cause, listed, shown with their alarms, acknowledged."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from shugu.api.alarm_routes import AlarmOut
from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.scope import incident_handler, require_machine_access, visible_incident
from shugu.monitor import alarm_service, incidents_service
from shugu.monitor.alarm_service import Lang
from shugu.monitor.incidents_service import IncidentState, IncidentStateFilter, IncidentView
from shugu.monitor.model import Severity

router = APIRouter(tags=["alarms"])


class IncidentOut(BaseModel):
    id: int
    enterprise_id: int
    state: IncidentState = Field(
        description="open while an alarm is open and nobody has acknowledged; closed when all "
        "its alarms have cleared"
    )
    severity: Severity = Field(description="the worst of its alarms")
    opened_at: datetime
    closed_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    alarm_count: int
    cause: AlarmOut | None = Field(description="the alarm taken as the probable cause")


class IncidentDetail(IncidentOut):
    alarms: list[AlarmOut] = Field(description="the probable cause first, then newest first")


class IncidentAction(BaseModel):
    note: str = Field(default="", max_length=2000)


def _out(view: IncidentView) -> IncidentOut:
    return IncidentOut(
        id=view.id,
        enterprise_id=view.enterprise_id,
        state=view.state,
        severity=view.severity,
        opened_at=view.opened_at,
        closed_at=view.closed_at,
        acknowledged_at=view.acknowledged_at,
        acknowledged_by=view.acknowledged_by,
        alarm_count=view.alarm_count,
        cause=None
        if view.cause is None
        else AlarmOut.model_validate(view.cause, from_attributes=True),
    )


@router.get("/api/incidents")
def list_incidents(
    access: AccessDep,
    services: ServicesDep,
    enterprise: int | None = None,
    state: IncidentStateFilter = IncidentStateFilter.unclosed,
    lang: Lang = "zh",
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> list[IncidentOut]:
    """Incidents newest first, those not closed by default; the enterprises whose alarms the
    caller may read."""
    if enterprise is not None:
        require_machine_access(access, enterprise)
        enterprises = [enterprise]
    else:
        enterprises = alarm_service.readable_enterprises(services.registry, access)
    views = incidents_service.list_incidents(
        services.registry, services.monitor, enterprises, state, lang, limit
    )
    return [_out(v) for v in views]


@router.get("/api/incidents/{incident_id}")
def get_incident(
    incident_id: int, access: AccessDep, services: ServicesDep, lang: Lang = "zh"
) -> IncidentDetail:
    record = visible_incident(services.registry, access, incident_id)
    found = incidents_service.incident_detail(services.registry, services.monitor, record, lang)
    return IncidentDetail(
        **_out(found.incident).model_dump(),
        alarms=[AlarmOut.model_validate(a, from_attributes=True) for a in found.alarms],
    )


@router.post("/api/incidents/{incident_id}/ack")
def acknowledge_incident(
    incident_id: int,
    access: AccessDep,
    services: ServicesDep,
    body: Annotated[IncidentAction | None, Body()] = None,
) -> IncidentOut:
    """Acknowledge the incident: each of its active alarms is acknowledged, one notice goes
    out for the incident. The body is optional."""
    by = incident_handler(services.registry, access, incident_id)
    note = body.note if body is not None else ""
    record = incidents_service.acknowledge(
        services.registry, services.monitor, incident_id, by, note
    )
    view = incidents_service.incident_view(services.registry, services.monitor, record, "zh")
    return _out(view)
