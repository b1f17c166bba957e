"""The registry's part for the bureau's system: monthly operation (经济运行监测): monthly
reports with every step of their review, early warnings, reminders and the district's generated
monthly reports.

The registry keeps the rows consistent (one report per enterprise and month, a move only from
the state the caller saw, one open warning per enterprise, rule and subject); who may do what
and which move follows which is the region's service's question.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shugu.domain.errors import ConflictError
from shugu.store.registry.core import RegistryCore, missing
from shugu.store.registry.models import Enterprise, Park
from shugu.store.registry.models_operation import (
    MonthlyReport,
    MonthlyReportEvent,
    OperationReminder,
    OperationReportFile,
    OperationWarning,
)


@dataclass(frozen=True, slots=True)
class ReportFigures:
    """What an enterprise reports for a month; None: not given yet."""

    output_value_wan: float | None = None
    revenue_wan: float | None = None
    profit_wan: float | None = None
    power_kwh: float | None = None
    staff: int | None = None
    new_orders_wan: float | None = None
    note: str = ""


FIGURE_FIELDS = tuple(f.name for f in fields(ReportFigures) if f.name != "note")


@dataclass(frozen=True, slots=True)
class OperationEnterprise:
    """What monthly operation needs of an enterprise's file."""

    id: int
    park_id: int
    park_name: str
    name: str
    uscc: str
    #: GB/T 4754 class, four digits (None: not classified yet).
    industry_code: str | None
    key_enterprise: bool


@dataclass(frozen=True, slots=True)
class ReportEventRecord:
    at: datetime
    kind: str
    by: str
    role: str
    reason: str


@dataclass(frozen=True, slots=True)
class MonthlyReportRecord:
    id: int
    enterprise_id: int
    month: str
    state: str
    figures: ReportFigures
    #: The reported-beside-measured comparisons made at submission.
    checks: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    first_submitted_at: datetime | None
    submitted_at: datetime | None
    accepted_at: datetime | None
    events: tuple[ReportEventRecord, ...]


@dataclass(frozen=True, slots=True)
class WarningRecord:
    id: int
    enterprise_id: int
    rule: str
    subject: str
    figures: dict[str, Any]
    since: date
    raised_at: datetime
    last_seen_at: datetime
    cleared_at: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None

    @property
    def open(self) -> bool:
        return self.cleared_at is None


@dataclass(frozen=True, slots=True)
class ReminderRecord:
    id: int
    enterprise_id: int
    month: str
    reason: str
    on_day: date
    at: datetime


@dataclass(frozen=True, slots=True)
class ReportFileRecord:
    #: ``operation`` (经济运行月报) or ``projects`` (项目库月度汇总).
    report: str
    month: str
    generated_at: datetime
    generated_by: str
    xlsx_bytes: int
    pdf_bytes: int


def _json_list(text: str) -> list[dict[str, Any]]:
    value = json.loads(text or "[]")
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _json_dict(text: str) -> dict[str, Any]:
    value = json.loads(text or "{}")
    return value if isinstance(value, dict) else {}


def _report(row: MonthlyReport, events: Iterable[MonthlyReportEvent]) -> MonthlyReportRecord:
    return MonthlyReportRecord(
        id=row.id,
        enterprise_id=row.enterprise_id,
        month=row.month,
        state=row.state,
        figures=ReportFigures(
            output_value_wan=row.output_value_wan,
            revenue_wan=row.revenue_wan,
            profit_wan=row.profit_wan,
            power_kwh=row.power_kwh,
            staff=row.staff,
            new_orders_wan=row.new_orders_wan,
            note=row.note,
        ),
        checks=_json_list(row.checks),
        created_at=row.created_at,
        updated_at=row.updated_at,
        first_submitted_at=row.first_submitted_at,
        submitted_at=row.submitted_at,
        accepted_at=row.accepted_at,
        events=tuple(
            ReportEventRecord(e.at, e.kind, e.by, e.role, e.reason)
            for e in sorted(events, key=lambda e: (e.at, e.id))
        ),
    )


def _warning(row: OperationWarning) -> WarningRecord:
    return WarningRecord(
        id=row.id,
        enterprise_id=row.enterprise_id,
        rule=row.rule,
        subject=row.subject,
        figures=_json_dict(row.figures),
        since=row.since,
        raised_at=row.raised_at,
        last_seen_at=row.last_seen_at,
        cleared_at=row.cleared_at,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
    )


class OperationMixin(RegistryCore):
    """Monthly operation (经济运行监测): monthly reports, their reviews, warnings."""

    def operation_enterprises(
        self, *, park_id: int | None = None, ids: Collection[int] | None = None
    ) -> list[OperationEnterprise]:
        """Enterprises with their park, industry class and key-enterprise flag, by id."""
        query = (
            select(Enterprise, Park.name)
            .join(Park, Park.id == Enterprise.park_id)
            .order_by(Enterprise.id)
        )
        if park_id is not None:
            query = query.where(Enterprise.park_id == park_id)
        if ids is not None:
            query = query.where(Enterprise.id.in_(list(ids)))
        with self._session() as s:
            return [
                OperationEnterprise(
                    e.id, e.park_id, park, e.name, e.uscc, e.industry_code, e.key_enterprise
                )
                for e, park in s.execute(query)
            ]

    # -- monthly reports ---------------------------------------------------------------------

    @staticmethod
    def _events_of(s: Session, report_ids: Collection[int]) -> dict[int, list[MonthlyReportEvent]]:
        out: dict[int, list[MonthlyReportEvent]] = {i: [] for i in report_ids}
        if report_ids:
            rows = s.scalars(
                select(MonthlyReportEvent).where(MonthlyReportEvent.report_id.in_(report_ids))
            )
            for event in rows:
                out[event.report_id].append(event)
        return out

    def _one_report(self, s: Session, row: MonthlyReport) -> MonthlyReportRecord:
        return _report(row, self._events_of(s, [row.id])[row.id])

    def monthly_report(self, enterprise_id: int, month: str) -> MonthlyReportRecord | None:
        with self._session() as s:
            row = s.scalar(
                select(MonthlyReport).where(
                    MonthlyReport.enterprise_id == enterprise_id, MonthlyReport.month == month
                )
            )
            return None if row is None else self._one_report(s, row)

    def monthly_report_by_id(self, report_id: int) -> MonthlyReportRecord:
        with self._session() as s:
            row = s.get(MonthlyReport, report_id)
            if row is None:
                raise missing("monthly report")
            return self._one_report(s, row)

    def save_monthly_report(
        self,
        enterprise_id: int,
        month: str,
        figures: ReportFigures,
        *,
        by: str,
        role: str,
        kind: str = "saved",
        editable: Collection[str] = ("draft", "returned"),
    ) -> MonthlyReportRecord:
        """Create the month's report as a draft, or replace the figures of one still editable."""
        now = self._now()
        with self._session() as s:
            row = s.scalar(
                select(MonthlyReport).where(
                    MonthlyReport.enterprise_id == enterprise_id, MonthlyReport.month == month
                )
            )
            if row is None:
                row = MonthlyReport(
                    enterprise_id=enterprise_id,
                    month=month,
                    state="draft",
                    checks="[]",
                    created_at=now,
                )
                s.add(row)
            elif row.state not in editable:
                raise ConflictError(
                    f"the report for {month} is {row.state}; it can no longer be changed",
                    code="report_locked",
                )
            for name in FIGURE_FIELDS:
                setattr(row, name, getattr(figures, name))
            row.note = figures.note
            row.updated_at = now
            self._flush_unique(
                s, ConflictError(f"the report for {month} was created meanwhile", code="conflict")
            )
            s.add(
                MonthlyReportEvent(report_id=row.id, at=now, kind=kind, by=by, role=role, reason="")
            )
            s.flush()
            return self._one_report(s, row)

    def move_monthly_report(
        self,
        report_id: int,
        *,
        expected: Collection[str],
        to: str,
        by: str,
        role: str,
        reason: str = "",
        checks: list[dict[str, Any]] | None = None,
    ) -> MonthlyReportRecord:
        """Move a report from one of the ``expected`` states to ``to`` and record the step; a
        report that moved meanwhile is a conflict."""
        now = self._now()
        with self._session() as s:
            row = s.get(MonthlyReport, report_id, with_for_update=True)
            if row is None:
                raise missing("monthly report")
            if row.state not in expected:
                raise ConflictError(
                    f"the report is {row.state}; this step needs it "
                    + " or ".join(sorted(expected)),
                    code="report_state_conflict",
                )
            row.state = to
            row.updated_at = now
            if to == "submitted":
                row.submitted_at = now
                if row.first_submitted_at is None:
                    row.first_submitted_at = now
            if to == "accepted":
                row.accepted_at = now
            if checks is not None:
                row.checks = json.dumps(checks, ensure_ascii=False)
            s.add(
                MonthlyReportEvent(
                    report_id=row.id, at=now, kind=to, by=by, role=role, reason=reason
                )
            )
            s.flush()
            return self._one_report(s, row)

    def list_monthly_reports(
        self,
        *,
        months: Collection[str] | None = None,
        enterprise_ids: Collection[int] | None = None,
        states: Collection[str] | None = None,
    ) -> list[MonthlyReportRecord]:
        """Reports by month (newest first), then enterprise."""
        query = select(MonthlyReport)
        if months is not None:
            query = query.where(MonthlyReport.month.in_(list(months)))
        if enterprise_ids is not None:
            query = query.where(MonthlyReport.enterprise_id.in_(list(enterprise_ids)))
        if states is not None:
            query = query.where(MonthlyReport.state.in_(list(states)))
        query = query.order_by(MonthlyReport.month.desc(), MonthlyReport.enterprise_id)
        with self._session() as s:
            rows = list(s.scalars(query))
            events = self._events_of(s, [r.id for r in rows])
            return [_report(r, events[r.id]) for r in rows]

    # -- warnings ----------------------------------------------------------------------------

    def raise_warning(
        self,
        enterprise_id: int,
        rule: str,
        subject: str,
        figures: dict[str, Any],
        since: date,
    ) -> tuple[WarningRecord, bool]:
        """Raise a warning or, when one is already kept for the enterprise, rule and subject,
        update its figures (reopening it if it had cleared). True: newly raised."""
        now = self._now()
        text = json.dumps(figures, ensure_ascii=False, default=str)
        with self._session() as s:
            row = s.scalar(
                select(OperationWarning).where(
                    OperationWarning.enterprise_id == enterprise_id,
                    OperationWarning.rule == rule,
                    OperationWarning.subject == subject,
                )
            )
            new = row is None
            if row is None:
                row = OperationWarning(
                    enterprise_id=enterprise_id,
                    rule=rule,
                    subject=subject,
                    since=since,
                    raised_at=now,
                )
                s.add(row)
            elif row.cleared_at is not None:
                row.cleared_at = None
                row.since = since
                row.acknowledged_by = None
                row.acknowledged_at = None
            row.figures = text
            row.last_seen_at = now
            self._flush_unique(s, ConflictError("the warning was raised meanwhile"))
            return _warning(row), new

    def clear_warnings(
        self, rules: Collection[str], keep: Collection[int], subjects: Collection[str]
    ) -> int:
        """Clear the open warnings of these rules and subjects except those in ``keep`` (ids):
        the rules no longer hold for them. Returns how many cleared."""
        now = self._now()
        with self._session() as s:
            rows = s.scalars(
                select(OperationWarning).where(
                    OperationWarning.rule.in_(list(rules)),
                    OperationWarning.subject.in_(list(subjects)),
                    OperationWarning.cleared_at.is_(None),
                )
            )
            cleared = 0
            for row in rows:
                if row.id not in keep:
                    row.cleared_at = now
                    cleared += 1
            return cleared

    def list_warnings(
        self,
        *,
        open_only: bool = True,
        enterprise_ids: Collection[int] | None = None,
    ) -> list[WarningRecord]:
        query = select(OperationWarning)
        if open_only:
            query = query.where(OperationWarning.cleared_at.is_(None))
        if enterprise_ids is not None:
            query = query.where(OperationWarning.enterprise_id.in_(list(enterprise_ids)))
        query = query.order_by(OperationWarning.raised_at.desc(), OperationWarning.id.desc())
        with self._session() as s:
            return [_warning(r) for r in s.scalars(query)]

    def get_warning(self, warning_id: int) -> WarningRecord:
        with self._session() as s:
            row = s.get(OperationWarning, warning_id)
            if row is None:
                raise missing("warning")
            return _warning(row)

    def acknowledge_warning(self, warning_id: int, by: str) -> WarningRecord:
        """Acknowledge a warning (again: the first acknowledgement stands)."""
        with self._session() as s:
            row = s.get(OperationWarning, warning_id)
            if row is None:
                raise missing("warning")
            if row.acknowledged_at is None:
                row.acknowledged_by = by
                row.acknowledged_at = self._now()
            return _warning(row)

    # -- reminders ---------------------------------------------------------------------------

    def record_reminder(self, enterprise_id: int, month: str, reason: str, on_day: date) -> bool:
        """Record a reminder for the enterprise's month on a day; False: one was recorded that
        day already."""
        with self._session() as s:
            exists = s.scalar(
                select(OperationReminder.id).where(
                    OperationReminder.enterprise_id == enterprise_id,
                    OperationReminder.month == month,
                    OperationReminder.on_day == on_day,
                )
            )
            if exists is not None:
                return False
            s.add(
                OperationReminder(
                    enterprise_id=enterprise_id,
                    month=month,
                    reason=reason,
                    on_day=on_day,
                    at=self._now(),
                )
            )
            self._flush_unique(s, ConflictError("the reminder was recorded meanwhile"))
            return True

    def list_reminders(
        self,
        *,
        month: str | None = None,
        enterprise_ids: Collection[int] | None = None,
        limit: int = 500,
    ) -> list[ReminderRecord]:
        query = select(OperationReminder)
        if month is not None:
            query = query.where(OperationReminder.month == month)
        if enterprise_ids is not None:
            query = query.where(OperationReminder.enterprise_id.in_(list(enterprise_ids)))
        query = query.order_by(OperationReminder.at.desc(), OperationReminder.id.desc())
        with self._session() as s:
            return [
                ReminderRecord(r.id, r.enterprise_id, r.month, r.reason, r.on_day, r.at)
                for r in s.scalars(query.limit(limit))
            ]

    # -- the district's monthly operation report ----------------------------------------------

    def save_operation_report(
        self, month: str, xlsx: bytes, pdf: bytes, by: str, report: str = "operation"
    ) -> None:
        """Keep the month's generated report, replacing an earlier generation."""
        with self._session() as s:
            row = s.scalar(
                select(OperationReportFile).where(
                    OperationReportFile.report == report, OperationReportFile.month == month
                )
            )
            if row is None:
                row = OperationReportFile(report=report, month=month)
                s.add(row)
            row.generated_at = self._now()
            row.generated_by = by
            row.xlsx = xlsx
            row.pdf = pdf
            self._flush_unique(s, ConflictError("the report was generated meanwhile"))

    def list_operation_reports(self) -> list[ReportFileRecord]:
        with self._session() as s:
            rows = s.execute(
                select(
                    OperationReportFile.report,
                    OperationReportFile.month,
                    OperationReportFile.generated_at,
                    OperationReportFile.generated_by,
                    func.length(OperationReportFile.xlsx),
                    func.length(OperationReportFile.pdf),
                ).order_by(OperationReportFile.month.desc(), OperationReportFile.report)
            )
            return [ReportFileRecord(r, m, at, by, int(x), int(p)) for r, m, at, by, x, p in rows]

    def operation_report_file(
        self, month: str, kind: str, report: str = "operation"
    ) -> bytes | None:
        """The month's kept report as ``xlsx`` or ``pdf``; None: not generated."""
        column = OperationReportFile.pdf if kind == "pdf" else OperationReportFile.xlsx
        with self._session() as s:
            return s.scalar(
                select(column).where(
                    OperationReportFile.report == report, OperationReportFile.month == month
                )
            )
