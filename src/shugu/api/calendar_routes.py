"""An enterprise's shift calendar (班次日历): its versions, the one in force, the week ahead, and
a new version.

Whoever may know of the enterprise reads its calendar (when it plans to work is enterprise-level,
no machine value). A new version is for the enterprise's administrators, and for the operator only
while the enterprise consents, as rules are: it sets the planned time the enterprise's figures
are measured against.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from shugu.analytics import calendar_service
from shugu.analytics.calendar import CalendarVersion, CalendarVersions, DayPlan
from shugu.analytics.calendar_body import calendar_json, parse_date
from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.scope import calendar_editor, calendar_reader
from shugu.domain.timeutil import to_iso

router = APIRouter(tags=["analytics"])


class ShiftOut(BaseModel):
    name: str
    start: str = Field(description='"HH:MM", local time')
    end: str = Field(description='"HH:MM"; not after start: on the next day')


class BreakOut(BaseModel):
    name: str
    start: str
    end: str


class DowntimeOut(BaseModel):
    start: str = Field(description='"YYYY-MM-DDTHH:MM", local time')
    end: str
    note: str


class CalendarOut(BaseModel):
    shifts: list[ShiftOut]
    breaks: list[BreakOut]
    rest_days: list[int] = Field(description="ISO weekdays without production, Monday 1")
    holidays: list[date]
    makeup_days: list[date] = Field(description="working days that would be rest days (调休)")
    downtime: list[DowntimeOut]


class VersionOut(BaseModel):
    id: int | None = Field(description="None for the default calendar (none saved)")
    effective_from: date
    saved_at: datetime | None
    saved_by: str | None
    note: str
    calendar: CalendarOut

    @classmethod
    def of(cls, version: CalendarVersion) -> VersionOut:
        return cls(
            id=version.id,
            effective_from=version.effective_from,
            saved_at=version.saved_at,
            saved_by=version.saved_by,
            note=version.note,
            calendar=CalendarOut.model_validate(calendar_json(version.calendar)),
        )


class ShiftPlanOut(BaseModel):
    name: str
    start: str
    end: str
    planned_hours: float = Field(description="after breaks and planned downtime")


class DayOut(BaseModel):
    day: date = Field(description="the production day: its shifts start on it")
    kind: str = Field(description="work, rest, holiday or makeup")
    planned_hours: float
    shifts: list[ShiftPlanOut]

    @classmethod
    def of(cls, plan: DayPlan) -> DayOut:
        return cls(
            day=plan.day,
            kind=plan.kind,
            planned_hours=plan.planned_hours,
            shifts=[
                ShiftPlanOut(
                    name=s.name,
                    start=to_iso(s.start_ms),
                    end=to_iso(s.end_ms),
                    planned_hours=s.planned_ms / 3_600_000,
                )
                for s in plan.shifts
            ],
        )


class CalendarAnswer(BaseModel):
    enterprise_id: int
    #: True while the enterprise has saved no calendar: the default holds.
    default: bool
    in_force: VersionOut = Field(description="the version in force on the first day shown")
    versions: list[VersionOut] = Field(description="every saved version, the first saved first")
    days: list[DayOut] = Field(description="planned hours of the production days shown")


def _answer(versions: CalendarVersions, first: date) -> CalendarAnswer:
    return CalendarAnswer(
        enterprise_id=versions.enterprise_id,
        default=versions.is_default,
        in_force=VersionOut.of(versions.in_force(first)),
        versions=[VersionOut.of(v) for v in versions],
        days=[DayOut.of(d) for d in calendar_service.preview(versions, first)],
    )


@router.get("/api/enterprises/{enterprise_id}/calendar")
def get_calendar(
    enterprise_id: int,
    access: AccessDep,
    services: ServicesDep,
    start: Annotated[
        str | None, Query(description='the first day shown, "YYYY-MM-DD" (today)')
    ] = None,
) -> CalendarAnswer:
    """The shift calendar: its versions, the one in force, and the planned hours of the seven
    production days from ``start``. Without a saved calendar, the default holds: 白班 08:00–20:00
    and 夜班 20:00–08:00, every day."""
    calendar_reader(services.registry, access, enterprise_id)
    first = parse_date(start, "start") if start is not None else calendar_service.today()
    return _answer(calendar_service.get_calendar(services.registry, enterprise_id), first)


@router.put("/api/enterprises/{enterprise_id}/calendar")
def put_calendar(
    enterprise_id: int, body: dict[str, Any], access: AccessDep, services: ServicesDep
) -> CalendarAnswer:
    """A new version, in force from its ``effective_from``: shifts ("HH:MM" on the hour; an end
    not after the start is on the next day), breaks, rest days (ISO weekdays), holidays,
    make-up days and planned downtime windows. Earlier versions stay in force before it."""
    calendar_editor(services.registry, access, enterprise_id)
    calendar_service.save_calendar(
        services.registry, enterprise_id, body, access.principal.username
    )
    versions = calendar_service.get_calendar(services.registry, enterprise_id)
    return _answer(versions, calendar_service.today())
