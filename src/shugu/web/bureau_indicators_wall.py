"""The bureau's panels on the wall display (区域总览): targets against actuals, projects by
stage, key enterprises' month and open appeals.

Each panel asks its area's service with the caller's own access, so a park official's wall shows
its park's projects and appeals, and a panel the caller may not see (the operator's wall has no
projects or appeals: they are the bureau's and the parks' records) is left out, not refused: the
rest of the wall still shows. The panels are one htmx fragment refreshed every minute; their
figures change by the day, not by the second.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Final

from shugu.domain.errors import ForbiddenError
from shugu.region.indicators.board import Board, BoardRow
from shugu.region.operation.review import FILED
from shugu.region.service import RegionServices
from shugu.web.bureau_indicators_view import pct, status_of
from shugu.web.session import PageUser

REFRESH_S: Final = 60
#: Indicators with a target the wall has room for.
WALL_TARGETS: Final = 5
#: The figure the key enterprises' panel adds up: output value (工业总产值), 万元.
OUTPUT: Final = "output_value_wan"


@dataclass(frozen=True, slots=True)
class StageCount:
    label: str
    projects: int


@dataclass(frozen=True, slots=True)
class ProjectsPanel:
    total: int
    overdue: int
    stages: list[StageCount]


@dataclass(frozen=True, slots=True)
class AppealsPanel:
    open: int
    overdue: int
    rating_avg: float | None
    by_category: list[tuple[str, int]]


def targets_panel(region: RegionServices, user: PageUser) -> list[BoardRow] | None:
    try:
        board: Board = region.indicators.board(user.access)
    except ForbiddenError:
        return None
    return board.with_target[:WALL_TARGETS]


def projects_panel(region: RegionServices, user: PageUser) -> ProjectsPanel | None:
    try:
        views = region.projects.projects(user.access)
    except ForbiddenError:
        return None
    lang = "en" if user.tr.lang == "en" else "zh"
    catalogue = region.projects.catalogue
    counts = Counter(v.stage for v in views)
    stages = [StageCount(s.label(lang), counts.get(s.key, 0)) for s in catalogue.stages]
    if counts.get(None):
        stages.insert(0, StageCount(user.tr("Not reported yet"), counts[None]))
    return ProjectsPanel(len(views), sum(1 for v in views if v.overdue), stages)


def appeals_panel(region: RegionServices, user: PageUser) -> AppealsPanel | None:
    try:
        figures = region.appeals.figures(user.access)
    except ForbiddenError:
        return None
    lang = "en" if user.tr.lang == "en" else "zh"
    labels = {c.key: c.label(lang) for c in region.appeals.catalogue.categories}
    by_category = [(labels.get(f.key, f.key), f.open) for f in figures.by_category if f.open]
    return AppealsPanel(
        figures.total.open, figures.total.overdue, figures.total.rating_avg, by_category
    )


@dataclass(frozen=True, slots=True)
class KeyEnterprisesPanel:
    month: str
    enterprises: int
    filed: int
    flagged: int
    #: Output value (工业总产值) of those that filed, 万元, and its change year on year.
    output_wan: float | None
    output_yoy_pct: float | None


def key_enterprises_panel(region: RegionServices, user: PageUser) -> KeyEnterprisesPanel | None:
    """The month whose reports are due now, over the key-enterprise watch list."""
    operation = region.operation
    month = operation.due_month()
    try:
        rows = operation.watch(user.access, month)
    except ForbiddenError:
        return None
    filed = [r for r in rows if r.state in FILED]
    now = last_year = 0.0
    compared = False
    for row in filed:
        cell = row.figures.get(OUTPUT)
        if cell is None or cell.value is None:
            continue
        now += cell.value
        if cell.yoy_pct is not None and cell.yoy_pct > -100:
            last_year += cell.value / (1 + cell.yoy_pct / 100)
            compared = True
    output = now if any(r.figures.get(OUTPUT) for r in filed) else None
    yoy = 100 * (now / last_year - 1) if compared and last_year > 0 else None
    return KeyEnterprisesPanel(
        month, len(rows), len(filed), sum(1 for r in rows if r.flagged), output, yoy
    )


def panels_context(user: PageUser) -> dict[str, Any]:
    region = user.services.region
    return {
        "targets": targets_panel(region, user),
        "projects": projects_panel(region, user),
        "key_enterprises": key_enterprises_panel(region, user),
        "appeals": appeals_panel(region, user),
        "pct": pct,
        "status_of": status_of,
        "bureau_refresh_s": REFRESH_S,
    }
