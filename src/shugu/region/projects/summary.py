"""The project library's monthly summary (项目月度汇总): projects counted by the stage reached,
by park and by industry, with investment planned (the projects' totals), done in the month and
done to date, as of the end of the month asked for."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from shugu.store.registry.region_projects import ProgressRecord, ProjectRecord

#: The stage key of projects without a report by the month's end.
NOT_REPORTED = "none"


@dataclass(slots=True)
class SummaryRow:
    key: str
    label: str
    projects: int = 0
    planned_yuan: int = 0
    month_yuan: int = 0
    to_date_yuan: int = 0


@dataclass(frozen=True, slots=True)
class Summary:
    month: date
    total: SummaryRow
    by_stage: list[SummaryRow] = field(default_factory=list)
    by_park: list[SummaryRow] = field(default_factory=list)
    by_industry: list[SummaryRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _AsOf:
    project: ProjectRecord
    stage: str
    month_yuan: int
    to_date_yuan: int


def _as_of(project: ProjectRecord, progress: Sequence[ProgressRecord], month: date) -> _AsOf:
    known = [r for r in progress if r.month <= month]
    latest = known[-1] if known else None
    this = next((r.investment_month_yuan for r in known if r.month == month), 0)
    return _AsOf(
        project,
        latest.stage if latest else NOT_REPORTED,
        this,
        latest.investment_to_date_yuan if latest else 0,
    )


def _rows(
    items: Sequence[_AsOf],
    key: Callable[[_AsOf], str],
    order: Sequence[str],
    label: Callable[[str], str],
) -> list[SummaryRow]:
    rows = {k: SummaryRow(k, label(k)) for k in order}
    for item in items:
        k = key(item)
        row = rows.setdefault(k, SummaryRow(k, label(k)))
        _add(row, item)
    return list(rows.values())


def _add(row: SummaryRow, item: _AsOf) -> None:
    row.projects += 1
    row.planned_yuan += item.project.total_investment_yuan
    row.month_yuan += item.month_yuan
    row.to_date_yuan += item.to_date_yuan


def summarise(
    projects: Sequence[ProjectRecord],
    progress: Mapping[int, Sequence[ProgressRecord]],
    month: date,
    stages: Sequence[tuple[str, str]],
    parks: Mapping[int, str],
) -> Summary:
    """``stages``: (key, label) in order, ``NOT_REPORTED`` among them; ``parks``: id → name.
    Projects entered after the month are left out."""
    items = [
        _as_of(p, progress.get(p.id, ()), month)
        for p in projects
        if p.created_at.date() < _after(month)
    ]
    total = SummaryRow("", "")
    for item in items:
        _add(total, item)
    stage_labels = dict(stages)
    park_keys = sorted({str(i.project.park_id) for i in items}, key=lambda k: parks.get(int(k), k))
    return Summary(
        month=month,
        total=total,
        by_stage=_rows(
            items, lambda i: i.stage, [k for k, _ in stages], lambda k: stage_labels.get(k, k)
        ),
        by_park=_rows(
            items, lambda i: str(i.project.park_id), park_keys, lambda k: parks.get(int(k), k)
        ),
        by_industry=sorted(
            _rows(items, lambda i: i.project.industry_code or "", [], lambda k: k),
            key=lambda r: r.key,
        ),
    )


def _after(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)
