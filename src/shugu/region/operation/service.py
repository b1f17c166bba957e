"""Monthly operation for routes, pages and the schedule: one object holding the registry, what
the platform meters and the settings, whose methods decide who may do what (``rights.py``,
``review.py``) and do it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from shugu.domain.errors import ValidationError
from shugu.domain.tenancy import Access
from shugu.domain.timeutil import utc_now_ms
from shugu.region.operation import deadlines, discrepancy, exports, months, review, rights
from shugu.region.operation import warnings as warning_rules
from shugu.region.operation.figures import check_figures
from shugu.region.operation.imports import SPEC, ImportResult, import_reports
from shugu.region.operation.measured import Meters
from shugu.region.operation.pdf import summary_pdf
from shugu.region.operation.settings import OperationSettings, load_settings
from shugu.region.operation.summary import DistrictSummary, district_summary
from shugu.region.operation.watch import WatchRow, watch_rows
from shugu.region.sheets import template
from shugu.store.registry import Registry
from shugu.store.registry.core import missing
from shugu.store.registry.region_operation import (
    MonthlyReportRecord,
    OperationEnterprise,
    ReminderRecord,
    ReportFileRecord,
    WarningRecord,
)

STATE_FILTERS = review.STATES


@dataclass(frozen=True, slots=True)
class ListedReport:
    enterprise: OperationEnterprise
    report: MonthlyReportRecord

    @property
    def flagged(self) -> bool:
        return discrepancy.flagged(self.report.checks)


@dataclass(frozen=True, slots=True)
class ListedWarning:
    enterprise: OperationEnterprise
    warning: WarningRecord
    rule: warning_rules.WarningRule | None


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "zh"


class OperationService:
    def __init__(
        self,
        registry: Registry,
        meters: Meters,
        settings: OperationSettings | None = None,
        now_ms: Callable[[], int] = utc_now_ms,
    ) -> None:
        self.registry = registry
        self.meters = meters
        self.settings = settings or load_settings()
        self._now_ms = now_ms
        #: Other district reports generated with this one each month, by name (the project
        #: library's summary): month → (workbook, PDF), in Chinese.
        self.companion_reports: dict[str, Callable[[str], tuple[bytes, bytes]]] = {}

    def today(self) -> date:
        return months.today_local(self._now_ms())

    def due_month(self) -> str:
        return months.due_month(self.today())

    def deadline(self, month: str) -> date:
        return months.deadline(month, self.settings.deadline_day)

    # -- an enterprise's own reports ----------------------------------------------------------

    def report(self, access: Access, enterprise_id: int, month: str) -> MonthlyReportRecord | None:
        rights.enterprise_for_reports(self.registry, access, enterprise_id)
        return self.registry.monthly_report(enterprise_id, months.parse_month(month))

    def history(self, access: Access, enterprise_id: int) -> list[MonthlyReportRecord]:
        rights.enterprise_for_reports(self.registry, access, enterprise_id)
        reports = self.registry.list_monthly_reports(enterprise_ids=[enterprise_id])
        if access.principal.is_member_of(enterprise_id):
            return reports
        # A draft is the enterprise's own until it is submitted.
        return [r for r in reports if r.state != "draft"]

    def save(
        self, access: Access, enterprise_id: int, month: str, raw: Mapping[str, object]
    ) -> MonthlyReportRecord:
        month = months.parse_month(month)
        rights.enterprise_for_filing(self.registry, access, enterprise_id)
        return review.save(self.registry, access, enterprise_id, month, check_figures(raw))

    def submit(self, access: Access, enterprise_id: int, month: str) -> MonthlyReportRecord:
        return review.submit(
            self.registry, access, enterprise_id, months.parse_month(month), self._checks
        )

    def _checks(self, enterprise_id: int, month: str, figures: Any) -> list[dict[str, Any]]:
        return discrepancy.checks_for(
            self.registry,
            self.meters,
            self.settings.tolerances.as_dict(),
            enterprise_id,
            month,
            figures,
        )

    def review(
        self, access: Access, report_id: int, decision: object, reason: object
    ) -> MonthlyReportRecord:
        return review.review(self.registry, access, report_id, decision, reason)

    def may_review(self, access: Access, report: MonthlyReportRecord) -> bool:
        return review.may_review(self.registry, access, report)

    def enterprise(self, access: Access, enterprise_id: int) -> OperationEnterprise:
        return rights.enterprise_for_reports(self.registry, access, enterprise_id)

    # -- across enterprises (the park's and the bureau's) --------------------------------------

    def _enterprises(self, access: Access, park_id: int | None) -> list[OperationEnterprise]:
        return self.registry.operation_enterprises(park_id=rights.region_parks(access, park_id))

    def list_reports(
        self,
        access: Access,
        month: str | None = None,
        park_id: int | None = None,
        state: str | None = None,
    ) -> list[ListedReport]:
        enterprises = {e.id: e for e in self._enterprises(access, park_id)}
        if state is not None and state not in STATE_FILTERS:
            raise ValidationError(
                "state must be one of " + ", ".join(STATE_FILTERS),
                code="report_state_invalid",
                field="state",
            )
        if state == "draft":
            return []
        reports = self.registry.list_monthly_reports(
            months=None if month is None else [months.parse_month(month)],
            enterprise_ids=list(enterprises),
            states=[state] if state else [s for s in STATE_FILTERS if s != "draft"],
        )
        return [ListedReport(enterprises[r.enterprise_id], r) for r in reports]

    def queue(self, access: Access, park_id: int | None = None) -> list[ListedReport]:
        """Reports awaiting the caller's review: submitted ones for a park official, reports
        the park accepted for the bureau."""
        state = "park_accepted" if access.is_bureau() else "submitted"
        return self.list_reports(access, None, park_id, state)

    def due(
        self, access: Access, month: str | None = None, park_id: int | None = None
    ) -> list[deadlines.DueStatus]:
        month = self.due_month() if month is None else months.parse_month(month)
        rows = deadlines.statuses(
            self.registry,
            self._enterprises(access, park_id),
            month,
            self.today(),
            self.settings.deadline_day,
        )
        return deadlines.still_due(rows)

    def reminders(
        self, access: Access, month: str | None = None, park_id: int | None = None
    ) -> list[tuple[OperationEnterprise, ReminderRecord]]:
        enterprises = {e.id: e for e in self._enterprises(access, park_id)}
        found = self.registry.list_reminders(
            month=None if month is None else months.parse_month(month),
            enterprise_ids=list(enterprises),
        )
        return [(enterprises[r.enterprise_id], r) for r in found]

    def own_reminders(self, access: Access, enterprise_id: int) -> list[ReminderRecord]:
        rights.enterprise_for_reports(self.registry, access, enterprise_id)
        return self.registry.list_reminders(enterprise_ids=[enterprise_id], limit=24)

    # -- warnings ------------------------------------------------------------------------------

    def warnings(
        self, access: Access, park_id: int | None = None, include_cleared: bool = False
    ) -> list[ListedWarning]:
        enterprises = {e.id: e for e in self._enterprises(access, park_id)}
        rules = warning_rules.rule_by_id()
        found = self.registry.list_warnings(
            open_only=not include_cleared, enterprise_ids=list(enterprises)
        )
        return [ListedWarning(enterprises[w.enterprise_id], w, rules.get(w.rule)) for w in found]

    def acknowledge(self, access: Access, warning_id: int) -> WarningRecord:
        warning = self.registry.get_warning(warning_id)
        if not access.can_see_enterprise(warning.enterprise_id):
            raise missing("warning")
        rights.require_bureau(access)
        return self.registry.acknowledge_warning(warning_id, access.principal.username)

    def scan(self, month: str | None = None) -> warning_rules.ScanResult:
        month = self.due_month() if month is None else months.parse_month(month)
        return warning_rules.scan(
            self.registry, self.meters, month, self.today(), self.settings.deadline_day
        )

    def scan_as(self, access: Access, month: str | None = None) -> warning_rules.ScanResult:
        rights.require_bureau(access)
        return self.scan(month)

    # -- the watch list and the district's report ---------------------------------------------

    def watch(self, access: Access, month: str, park_id: int | None = None) -> list[WatchRow]:
        month = months.parse_month(month)
        return watch_rows(self.registry, self._enterprises(access, park_id), month)

    def watch_xlsx(self, access: Access, month: str, lang: str) -> bytes:
        return exports.watch_xlsx(self.watch(access, month), months.parse_month(month), _lang(lang))

    def warnings_xlsx(
        self, access: Access, park_id: int | None, include_cleared: bool, lang: str
    ) -> bytes:
        found = self.warnings(access, park_id, include_cleared)
        return exports.warnings_xlsx([(w.enterprise, w.warning) for w in found], _lang(lang))

    def missing_xlsx(
        self, access: Access, month: str | None, park_id: int | None, lang: str
    ) -> bytes:
        month = self.due_month() if month is None else months.parse_month(month)
        return exports.missing_xlsx(self.due(access, month, park_id), month, _lang(lang))

    def reports_xlsx(
        self, access: Access, month: str | None, park_id: int | None, lang: str
    ) -> bytes:
        rows = self.list_reports(access, month, park_id)
        return exports.reports_xlsx(
            [(r.enterprise, r.report) for r in rows], month or "", _lang(lang)
        )

    def summary(
        self, access: Access, month: str, lang: str = "zh", park_id: int | None = None
    ) -> DistrictSummary:
        park = rights.region_parks(access, park_id)
        return district_summary(
            self.registry,
            months.parse_month(month),
            self.today(),
            self.settings.deadline_day,
            _lang(lang),
            park,
        )

    def summary_file(self, access: Access, month: str, kind: str, lang: str) -> bytes:
        """The district's report for the month made now, as ``xlsx`` or ``pdf``."""
        if kind not in ("xlsx", "pdf"):
            raise ValidationError(
                "format must be xlsx or pdf", code="format_invalid", field="format"
            )
        summary = self.summary(access, month, lang)
        if kind == "pdf":
            return summary_pdf(summary, _lang(lang))
        return exports.summary_xlsx(summary, _lang(lang))

    def generate(self, month: str, by: str) -> None:
        """Make the district's report for ``month`` (in Chinese) and keep it."""
        month = months.parse_month(month)
        summary = district_summary(
            self.registry, month, self.today(), self.settings.deadline_day, "zh"
        )
        self.registry.save_operation_report(
            month, exports.summary_xlsx(summary, "zh"), summary_pdf(summary, "zh"), by
        )
        for report, make in self.companion_reports.items():
            xlsx, pdf = make(month)
            self.registry.save_operation_report(month, xlsx, pdf, by, report)

    def generate_as(self, access: Access, month: str) -> None:
        rights.require_bureau(access)
        self.generate(month, access.principal.username)

    def kept_reports(self, access: Access) -> list[ReportFileRecord]:
        """The district's kept reports: the bureau's. They name enterprises of every park, so a
        park official gets none (its park's summary is made on demand, ``summary_file``)."""
        rights.region_parks(access)
        if not access.is_bureau():
            return []
        return self.registry.list_operation_reports()

    def kept_report(
        self, access: Access, month: str, kind: str, report: str = "operation"
    ) -> bytes:
        rights.region_parks(access)
        rights.require_bureau(access)
        if kind not in ("xlsx", "pdf"):
            raise ValidationError(
                "format must be xlsx or pdf", code="format_invalid", field="format"
            )
        if report != "operation" and report not in self.companion_reports:
            raise ValidationError(
                f"no district report is called {report[:40]!r}",
                code="report_unknown",
                field="report",
            )
        data = self.registry.operation_report_file(months.parse_month(month), kind, report)
        if data is None:
            raise missing("monthly operation report")
        return data

    # -- XLSX filing -------------------------------------------------------------------------

    @staticmethod
    def template(lang: str) -> bytes:
        return template(SPEC, "en" if lang == "en" else "zh")

    def import_reports(self, access: Access, enterprise_id: int, data: bytes) -> ImportResult:
        rights.enterprise_for_filing(self.registry, access, enterprise_id)
        return import_reports(self.registry, access, data)
