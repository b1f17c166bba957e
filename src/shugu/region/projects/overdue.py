"""Overdue detection (decision 0038): a stage whose planned date has passed without being
reached, and a month whose progress report is past due.

- A stage is reached on the day a report says (``stage_reached_on``), or else by the end of the
  month reported, but not after the day the report was filed. Reaching a later stage reaches the
  earlier ones by the same day at the latest.
- A stage planned for day D is overdue from D + 1 on while not reached: due today is not late.
  Reached after D, it is no longer overdue; how late it came stays on the project's stage list.
- Every month from the one the project entered the library (or its first report, if earlier)
  to last month needs a report, due by ``progress_due_day`` of the month after; none is due
  after the last stage is reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from shugu.domain.timeutil import CHINA_TZ
from shugu.region.projects.catalogue import Catalogue
from shugu.store.registry.models_projects import PROJECT_STAGES
from shugu.store.registry.region_projects import ProgressRecord, ProjectRecord


@dataclass(frozen=True, slots=True)
class StageStatus:
    stage: str
    planned: date | None
    reached: date | None
    #: Days after the planned date it was reached, or has been waited for (None: not late).
    days_late: int | None
    overdue: bool


@dataclass(frozen=True, slots=True)
class Overdue:
    project_id: int
    kind: Literal["stage", "report"]
    #: The stage not reached, or None for a missing report.
    stage: str | None
    #: The month whose report is missing, or None for a stage.
    month: date | None
    due: date
    days_late: int


def month_end(first: date) -> date:
    return next_month(first) - timedelta(days=1)


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def reached_dates(progress: Sequence[ProgressRecord]) -> dict[str, date]:
    """The day each stage was reached, from the reports (earliest wins)."""
    out: dict[str, date] = {}
    for report in progress:
        filed = report.filed_at.astimezone(CHINA_TZ).date()
        when = report.stage_reached_on or min(month_end(report.month), filed)
        for stage in PROJECT_STAGES[: PROJECT_STAGES.index(report.stage) + 1]:
            if stage not in out or when < out[stage]:
                out[stage] = when
    return out


def stage_statuses(
    project: ProjectRecord, progress: Sequence[ProgressRecord], today: date
) -> list[StageStatus]:
    reached = reached_dates(progress)
    out: list[StageStatus] = []
    for stage in PROJECT_STAGES:
        planned = project.planned.get(stage)
        got = reached.get(stage)
        if got is not None and got > today:
            got = None  # said to be reached on a day still to come: not yet
        late: int | None = None
        overdue = False
        if planned is not None:
            if got is None and planned < today:
                late, overdue = (today - planned).days, True
            elif got is not None and got > planned:
                late = (got - planned).days
        out.append(StageStatus(stage, planned, got, late, overdue))
    return out


def missing_reports(
    project: ProjectRecord,
    progress: Sequence[ProgressRecord],
    today: date,
    catalogue: Catalogue,
) -> list[Overdue]:
    reported = {r.month for r in progress}
    entered = project.created_at.astimezone(CHINA_TZ).date().replace(day=1)
    first = min([entered, *reported])
    finished = reached_dates(progress).get(PROJECT_STAGES[-1])
    out: list[Overdue] = []
    month = first
    while month < today.replace(day=1):
        if finished is not None and finished < month:
            break
        due = next_month(month).replace(day=catalogue.progress_due_day)
        if month not in reported and due < today:
            out.append(Overdue(project.id, "report", None, month, due, (today - due).days))
        month = next_month(month)
    return out


def overdue_of(
    project: ProjectRecord,
    progress: Sequence[ProgressRecord],
    today: date,
    catalogue: Catalogue,
) -> list[Overdue]:
    """What is late on the project today: stages, then missing reports."""
    stages = [
        Overdue(project.id, "stage", s.stage, None, s.planned, s.days_late or 0)
        for s in stage_statuses(project, progress, today)
        if s.overdue and s.planned is not None
    ]
    return stages + missing_reports(project, progress, today, catalogue)
