"""Deadlines and reminders: each enterprise's report for a month against its deadline (on
time, late, missing, returned and not resubmitted), and reminders recorded for those still due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from shugu.domain.timeutil import CHINA_TZ
from shugu.region.operation import months
from shugu.region.operation.review import FILED
from shugu.store.registry import Registry
from shugu.store.registry.region_operation import MonthlyReportRecord, OperationEnterprise

#: Why an enterprise is still due: no report filed (none or a draft), or one returned to it.
MISSING: Final = "missing"
RETURNED: Final = "returned"


@dataclass(frozen=True, slots=True)
class DueStatus:
    enterprise: OperationEnterprise
    month: str
    deadline: date
    report: MonthlyReportRecord | None
    #: "missing" or "returned" while the enterprise still owes the report; None once filed.
    due: str | None
    #: Filed after the deadline (first submission), or still due past it.
    late: bool
    days_overdue: int


def status(
    enterprise: OperationEnterprise,
    report: MonthlyReportRecord | None,
    month: str,
    today: date,
    deadline_day: int,
) -> DueStatus:
    deadline = months.deadline(month, deadline_day)
    if report is not None and report.state in FILED:
        first = report.first_submitted_at
        late = first is not None and first.astimezone(CHINA_TZ).date() > deadline
        return DueStatus(enterprise, month, deadline, report, None, late, 0)
    due = RETURNED if report is not None and report.state == "returned" else MISSING
    overdue = max(0, (today - deadline).days)
    return DueStatus(enterprise, month, deadline, report, due, overdue > 0, overdue)


def statuses(
    registry: Registry,
    enterprises: Sequence[OperationEnterprise],
    month: str,
    today: date,
    deadline_day: int,
) -> list[DueStatus]:
    reports = registry.list_monthly_reports(
        months=[month], enterprise_ids=[e.id for e in enterprises]
    )
    by_enterprise = {r.enterprise_id: r for r in reports}
    return [status(e, by_enterprise.get(e.id), month, today, deadline_day) for e in enterprises]


def still_due(rows: Sequence[DueStatus]) -> list[DueStatus]:
    return [r for r in rows if r.due is not None]


def record_reminders(registry: Registry, month: str, today: date, deadline_day: int) -> int:
    """A reminder for each enterprise whose report for ``month`` is still due, once a day from
    the first day of the month after; returns how many were recorded now."""
    if today < months.first_day(months.shift(month, 1)):
        return 0
    rows = still_due(
        statuses(registry, registry.operation_enterprises(), month, today, deadline_day)
    )
    recorded = 0
    for row in rows:
        assert row.due is not None
        recorded += registry.record_reminder(row.enterprise.id, month, row.due, today)
    return recorded
