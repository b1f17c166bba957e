"""An enterprise's shift calendar page (班次日历): the calendar in force (shifts, breaks, rest
days, holidays, make-up days, planned downtime), a week's planned hours day by day, the versions
saved so far, and a form for a new version.

The calendar is read by whoever the API lets read it (``calendar_reader``: whoever may know of
the enterprise) and changed by whoever may change it (``calendar_editor``: its administrators,
the operator only with its consent), through the same service as ``PUT
/api/enterprises/{id}/calendar``; refusals are shown beside their rows in the user's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

import numpy as np
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from shugu.analytics import calendar_service
from shugu.analytics.calendar import (
    DAY_MS,
    MINUTE_MS,
    CalendarVersion,
    CalendarVersions,
    DayPlan,
    day_start_ms,
    local_minutes_text,
)
from shugu.analytics.calendar_body import local_datetime_text, parse_date
from shugu.api.scope import calendar_editor, calendar_reader
from shugu.domain.errors import ForbiddenError, NotFoundError, ShuguError
from shugu.web.calendar_form import CalendarForm, form_of, place_error, read_form
from shugu.web.i18n import N_
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

WEEKDAYS: Final = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
DAY_KINDS: Final = {
    "work": N_("Working day"),
    "rest": N_("Rest day"),
    "holiday": N_("Holiday"),
    "makeup": N_("Make-up working day"),
}
#: Upcoming holidays and planned downtime listed at most.
UPCOMING: Final = 12


@dataclass(frozen=True, slots=True)
class Bar:
    """A planned stretch of one local day on the day's 24-hour strip, in minutes."""

    start_min: int
    length_min: int


@dataclass(frozen=True, slots=True)
class DayView:
    plan: DayPlan
    weekday: str
    #: Planned time by the clock of this local day, for its strip.
    bars: list[Bar]
    #: (name, "HH:MM" start, "HH:MM" end, planned hours) of the shifts starting on the day.
    shifts: list[tuple[str, str, str, float]]


@dataclass(frozen=True, slots=True)
class VersionView:
    version: CalendarVersion
    summary: str
    #: "in_force", "upcoming", "past" or "replaced" (a later version from the same date).
    state: str


def _base(enterprise_id: int) -> str:
    return f"/e/{enterprise_id}/calendar"


def _week(user: PageUser, versions: CalendarVersions, first: date) -> list[DayView]:
    plans = calendar_service.preview(versions, first)
    start = day_start_ms(first)
    clock = versions.clock(start, start + len(plans) * DAY_MS)
    views = []
    for offset, plan in enumerate(plans):
        midnight = start + offset * DAY_MS
        lo = np.clip(clock.starts, midnight, midnight + DAY_MS)
        hi = np.clip(clock.ends, midnight, midnight + DAY_MS)
        bars = [
            Bar(int(a - midnight) // MINUTE_MS, int(b - a) // MINUTE_MS)
            for a, b in zip(lo.tolist(), hi.tolist(), strict=True)
            if b > a
        ]
        weekday = user.tr(WEEKDAYS[plan.day.isoweekday() - 1])
        shifts = [
            (
                s.name,
                local_minutes_text((s.start_ms - midnight) // MINUTE_MS),
                local_minutes_text((s.end_ms - midnight) // MINUTE_MS),
                s.planned_ms / 3_600_000,
            )
            for s in plan.shifts
        ]
        views.append(DayView(plan, weekday, bars, shifts))
    return views


def _summary(version: CalendarVersion) -> str:
    return ", ".join(
        f"{s.name} {local_minutes_text(s.start_min)}–{local_minutes_text(s.end_min)}"
        for s in version.calendar.shifts
    )


def _versions(versions: CalendarVersions, today: date) -> list[VersionView]:
    in_force = versions.in_force(today)
    held = {v.id for v in versions.timeline()}
    views = []
    for version in reversed(versions.saved):
        if version.id not in held:
            state = "replaced"
        elif version.id == in_force.id:
            state = "in_force"
        elif version.effective_from > today:
            state = "upcoming"
        else:
            state = "past"
        views.append(VersionView(version, _summary(version), state))
    return views


def _can_edit(user: PageUser, enterprise_id: int) -> bool:
    try:
        calendar_editor(user.services.registry, user.access, enterprise_id)
    except ForbiddenError:
        return False
    return True


def _page(
    request: Request,
    user: PageUser,
    enterprise_id: int,
    *,
    form: CalendarForm | None = None,
    status: int = 200,
) -> Response:
    registry = user.services.registry
    versions = calendar_service.get_calendar(registry, enterprise_id)
    today = calendar_service.today()
    first = today
    asked = request.query_params.get("start")
    if asked:
        try:
            first = parse_date(asked, "start")
        except ShuguError:
            first = today
    in_force = versions.in_force(today)
    newest = versions.timeline()[-1]
    calendar = in_force.calendar
    context: dict[str, Any] = {
        "enterprise": registry.get_enterprise(enterprise_id),
        "enterprise_id": enterprise_id,
        "base": _base(enterprise_id),
        "in_force": in_force,
        "is_default": versions.is_default,
        "days": _week(user, versions, first),
        "first": first,
        "earlier": first - timedelta(days=7),
        "later": first + timedelta(days=7),
        "today": today,
        "versions": _versions(versions, today),
        "holidays": sorted(d for d in calendar.holidays if d >= today)[:UPCOMING],
        "makeup_days": sorted(d for d in calendar.makeup_days if d >= today)[:UPCOMING],
        "downtime": [
            (local_datetime_text(d.start_ms), local_datetime_text(d.end_ms), d.note)
            for d in calendar.downtime
            if d.end_ms > day_start_ms(today)
        ][:UPCOMING],
        "breaks": [
            (b, calendar.shifts[i].name if (i := calendar.break_shift(b)) is not None else "")
            for b in calendar.breaks
        ],
        "weekdays": WEEKDAYS,
        "day_kinds": DAY_KINDS,
        "can_edit": _can_edit(user, enterprise_id),
        "form": form or form_of(newest, max(today, newest.effective_from)),
        "hours": [f"{h:02d}:00" for h in range(24)],
    }
    return render(request, user, "calendar/calendar.html", context, status_code=status)


@router.get("/e/{enterprise_id}/calendar")
def calendar_page(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    """The calendar in force, a week's planned hours from ``?start=`` (today), the versions."""
    calendar_reader(user.services.registry, user.access, enterprise_id)
    return _page(request, user, enterprise_id)


@router.post("/e/{enterprise_id}/calendar")
async def save_calendar(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    """A new version from the form; refused fields are shown again with the reasons."""
    registry = user.services.registry
    calendar_editor(registry, user.access, enterprise_id)
    shown, body = read_form(await request.form())
    try:
        calendar_service.save_calendar(registry, enterprise_id, body, user.principal.username)
    except NotFoundError:
        raise
    except ShuguError as exc:
        place_error(user.tr, shown, exc)
        return _page(request, user, enterprise_id, form=shown, status=422)
    return RedirectResponse(_base(enterprise_id) + "#versions", status_code=303)
