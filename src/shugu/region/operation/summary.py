"""The district's monthly operation summary (经济运行月报): totals of the filed figures by park
and by industry division, growth year on year over the enterprises that filed both months (同口径),
report completion and timeliness, open warnings, and the key enterprises' month.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final

import yaml

from shugu.region.operation import months
from shugu.region.operation.deadlines import DueStatus, statuses
from shugu.region.operation.review import FILED
from shugu.region.operation.signals import change_pct
from shugu.region.operation.watch import WatchRow, watch_rows
from shugu.store.registry import Registry
from shugu.store.registry.region_operation import (
    MonthlyReportRecord,
    OperationEnterprise,
    WarningRecord,
)

INDUSTRIES_FILE: Final = Path(__file__).with_name("industries.yaml")
#: The figures summed in the district's summary.
SUMMED: Final = ("output_value_wan", "revenue_wan", "profit_wan", "power_kwh", "staff")
GROWTH: Final = ("output_value_wan", "revenue_wan", "profit_wan")


@functools.cache
def industry_names() -> dict[str, tuple[str, str]]:
    data = yaml.safe_load(INDUSTRIES_FILE.read_text(encoding="utf-8"))
    return {str(k): (str(v[0]), str(v[1])) for k, v in data.items()}


def industry_label(division: str | None, lang: str) -> str:
    if division is None:
        return "未分类" if lang != "en" else "Not classified"
    names = industry_names().get(division)
    if names is None:
        return division
    return f"{division} {names[1] if lang == 'en' else names[0]}"


@dataclass(slots=True)
class GroupTotals:
    key: str
    label: str
    enterprises: int = 0
    filed: int = 0
    on_time: int = 0
    warnings: int = 0
    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SUMMED, 0.0))
    #: Sums over the enterprises that filed this month and the month a year before.
    same_now: dict[str, float] = field(default_factory=lambda: dict.fromkeys(GROWTH, 0.0))
    same_before: dict[str, float] = field(default_factory=lambda: dict.fromkeys(GROWTH, 0.0))

    @property
    def completion_pct(self) -> float | None:
        return round(100 * self.filed / self.enterprises, 1) if self.enterprises else None

    def yoy_pct(self, key: str) -> float | None:
        return change_pct(self.same_now[key], self.same_before[key])


@dataclass(frozen=True, slots=True)
class DistrictSummary:
    month: str
    as_of: date
    district: GroupTotals
    by_park: list[GroupTotals]
    by_industry: list[GroupTotals]
    key_enterprises: list[WatchRow]
    warnings: list[tuple[OperationEnterprise, WarningRecord]]
    due: list[DueStatus]


def _filed(report: MonthlyReportRecord | None) -> MonthlyReportRecord | None:
    return report if report is not None and report.state in FILED else None


def _add(
    totals: GroupTotals,
    status: DueStatus,
    year_ago: MonthlyReportRecord | None,
    warnings: int,
) -> None:
    totals.enterprises += 1
    totals.warnings += warnings
    report = _filed(status.report)
    if report is None:
        return
    totals.filed += 1
    totals.on_time += not status.late
    for key in SUMMED:
        value = getattr(report.figures, key)
        totals.sums[key] += float(value or 0)
    before = _filed(year_ago)
    if before is None:
        return
    for key in GROWTH:
        now, then = getattr(report.figures, key), getattr(before.figures, key)
        if now is not None and then is not None:
            totals.same_now[key] += now
            totals.same_before[key] += then


def district_summary(
    registry: Registry,
    month: str,
    today: date,
    deadline_day: int,
    lang: str = "zh",
    park_id: int | None = None,
) -> DistrictSummary:
    enterprises = registry.operation_enterprises(park_id=park_id)
    rows = statuses(registry, enterprises, month, today, deadline_day)
    year_ago = {
        r.enterprise_id: r
        for r in registry.list_monthly_reports(
            months=[months.shift(month, -12)], enterprise_ids=[e.id for e in enterprises]
        )
    }
    ids = {e.id for e in enterprises}
    open_warnings = [w for w in registry.list_warnings() if w.enterprise_id in ids]
    count: dict[int, int] = {}
    for w in open_warnings:
        count[w.enterprise_id] = count.get(w.enterprise_id, 0) + 1
    district = GroupTotals("all", "全区" if lang != "en" else "District")
    parks: dict[str, GroupTotals] = {}
    industries: dict[str, GroupTotals] = {}

    for status in rows:
        e = status.enterprise
        division = e.industry_code[:2] if e.industry_code else None
        park = parks.setdefault(str(e.park_id), GroupTotals(str(e.park_id), e.park_name))
        industry = industries.setdefault(
            division or "", GroupTotals(division or "", industry_label(division, lang))
        )
        for totals in (district, park, industry):
            _add(totals, status, year_ago.get(e.id), count.get(e.id, 0))
    by_id = {e.id: e for e in enterprises}
    return DistrictSummary(
        month=month,
        as_of=today,
        district=district,
        by_park=sorted(parks.values(), key=lambda g: g.label),
        by_industry=sorted(industries.values(), key=lambda g: (g.key == "", g.key)),
        key_enterprises=watch_rows(registry, enterprises, month),
        warnings=[(by_id[w.enterprise_id], w) for w in open_warnings],
        due=[s for s in rows if s.due is not None],
    )


def sorted_groups(groups: Sequence[GroupTotals]) -> list[GroupTotals]:
    return sorted(groups, key=lambda g: -g.sums["output_value_wan"])
