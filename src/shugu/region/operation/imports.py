"""Monthly reports by XLSX: the template, and an import that saves every good row as the
month's draft (keyed by USCC and month, so importing a file again changes nothing) and reports
every bad row by its Excel row number and reason. An enterprise's administrators import their
own enterprise's rows; a row for another enterprise, or for a month already submitted, is
refused, not guessed at."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from shugu.domain.errors import ShuguError
from shugu.domain.tenancy import Access
from shugu.region.operation import review
from shugu.region.operation.figures import FIGURES, MAX_NOTE, check_figures
from shugu.region.operation.months import FIRST_YEAR, LAST_YEAR
from shugu.region.sheets import Column, RowError, SheetSpec, read_sheet
from shugu.store.registry import Registry
from shugu.store.registry.region_operation import FIGURE_FIELDS, ReportFigures

SPEC: Final = SheetSpec(
    name="monthly_reports",
    title_zh="企业月报",
    title_en="Monthly reports",
    columns=(
        Column("uscc", "统一社会信用代码", "USCC", "text", required=True, max_length=18),
        Column(
            "month",
            "月份",
            "Month",
            "month",
            required=True,
            note_zh="报告月份，如 2026-11",
            note_en="the month reported, e.g. 2026-11",
        ),
        *(
            Column(
                f.key,
                f.label("zh"),
                f.label("en"),
                "int" if f.whole else "decimal",
                minimum=-f.maximum if f.may_be_negative else 0,
                maximum=f.maximum,
            )
            for f in FIGURES
        ),
        Column("note", "备注", "Note", "text", max_length=MAX_NOTE),
    ),
    key=("uscc", "month"),
)


@dataclass(slots=True)
class ImportResult:
    saved: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "saved": self.saved,
            "unchanged": self.unchanged,
            "errors": [e.as_dict() for e in self.errors],
        }


def _same(a: ReportFigures, b: ReportFigures) -> bool:
    return all(getattr(a, k) == getattr(b, k) for k in FIGURE_FIELDS) and a.note == b.note


def import_reports(registry: Registry, access: Access, data: bytes) -> ImportResult:
    read = read_sheet(data, SPEC)
    result = ImportResult(errors=list(read.errors))
    by_uscc = {e.uscc: e for e in registry.operation_enterprises()}
    for row in read.rows:
        uscc = str(row.values.get("uscc") or "").strip().upper()
        month = str(row.values.get("month") or "")
        enterprise = by_uscc.get(uscc)
        if enterprise is None or not access.can_file_for(enterprise.id):
            read.reject(
                row,
                "uscc",
                "row_enterprise_not_yours",
                "不是本企业的统一社会信用代码",
                "not the USCC of an enterprise you file for",
            )
            continue
        if not FIRST_YEAR <= int(month[:4]) <= LAST_YEAR:
            read.reject(
                row,
                "month",
                "row_month_out_of_range",
                f"月份应在 {FIRST_YEAR} 至 {LAST_YEAR} 年之间",
                f"the month must lie between {FIRST_YEAR} and {LAST_YEAR}",
            )
            continue
        try:
            figures = check_figures(row.values)
            existing = registry.monthly_report(enterprise.id, month)
            if existing is not None and _same(existing.figures, figures):
                result.unchanged += 1
                continue
            review.save(registry, access, enterprise.id, month, figures, kind="imported")
            result.saved += 1
        except ShuguError as exc:
            column = str(exc.details.get("field") or "")
            read.reject(
                row,
                column,
                exc.code,
                _reason_zh(exc.code),
                exc.message,
            )
    result.errors = sorted(read.errors, key=lambda e: (e.number, e.column))
    return result


def _reason_zh(code: str) -> str:
    return {
        "report_locked": "该月报告已提交或已审核，不能再修改",
        "report_figure_invalid": "数值不合理",
        "report_note_invalid": "备注过长或含非法字符",
    }.get(code, "无法保存此行")
