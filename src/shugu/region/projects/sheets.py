"""The project library in Excel: templates and imports of projects (keyed by project code) and
of monthly progress (keyed by code and month), the project list and the monthly summary as
exports.

An import goes row by row through the same service as the API, so a row is checked exactly as a
form would be; a refused row is reported with its Excel row number and the service's reason, and
every other row is kept. Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shugu.domain.errors import ShuguError
from shugu.domain.tenancy import Access
from shugu.domain.xlsx_book import Cell, Sheet, workbook
from shugu.region.projects import rights
from shugu.region.projects.catalogue import Catalogue, catalogue
from shugu.region.projects.input import wan
from shugu.region.projects.overdue import Overdue
from shugu.region.projects.service import OverdueRow, ProjectService, ProjectView
from shugu.region.projects.summary import Summary, SummaryRow
from shugu.region.sheets import Choice, Column, Lang, RowError, SheetSpec, read_sheet, write_table


def _stage_choices() -> tuple[Choice, ...]:
    return tuple(Choice(s.key, s.zh, s.en) for s in catalogue().stages)


def _type_choices() -> tuple[Choice, ...]:
    return tuple(Choice(t.key, t.zh, t.en) for t in catalogue().types)


def _planned_columns() -> tuple[Column, ...]:
    return tuple(
        Column(f"{s.key}_planned", f"{s.zh}计划日期", f"{s.en} planned", "date")
        for s in catalogue().stages
    )


PROJECTS = SheetSpec(
    "projects",
    "项目库",
    "Projects",
    (
        Column("code", "项目编号", "Project code", required=True, max_length=40),
        Column("name", "项目名称", "Project name", required=True),
        Column(
            "owner_uscc",
            "业主统一社会信用代码",
            "Owner USCC",
            note_zh="已入驻平台的企业按代码关联",
            note_en="an enterprise on the platform is linked by its code",
            max_length=18,
        ),
        Column("owner_name", "业主单位", "Owner"),
        Column("park", "所在园区", "Park", note_zh="园区名称", note_en="the park's name"),
        Column("industry_code", "行业代码", "Industry class", max_length=4),
        Column("project_type", "项目类型", "Project type", "choice", True, _type_choices()),
        Column(
            "total_investment_wan",
            "总投资（万元）",
            "Total investment (10,000 yuan)",
            "decimal",
            True,
            minimum=0,
        ),
        Column("official", "责任人", "Responsible official", required=True, max_length=100),
        *_planned_columns(),
        Column("go_live_on", "上线日期", "Go-live", "date"),
    ),
    key=("code",),
)

PROGRESS = SheetSpec(
    "project_progress",
    "项目月度进度",
    "Project progress",
    (
        Column("code", "项目编号", "Project code", required=True, max_length=40),
        Column("month", "月份", "Month", "month", True),
        Column(
            "investment_month_wan",
            "本月完成投资（万元）",
            "Invested in the month (10,000 yuan)",
            "decimal",
            True,
            minimum=0,
        ),
        Column(
            "investment_to_date_wan",
            "累计完成投资（万元）",
            "Invested to date (10,000 yuan)",
            "decimal",
            True,
            minimum=0,
        ),
        Column("stage", "所处阶段", "Stage reached", "choice", True, _stage_choices()),
        Column("stage_reached_on", "达到日期", "Reached on", "date"),
        Column("problems", "存在问题", "Blocking problems", max_length=4000),
    ),
    key=("code", "month"),
)

SPECS: Mapping[str, SheetSpec] = {"projects": PROJECTS, "progress": PROGRESS}


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)


def _refused(number: int, exc: ShuguError) -> RowError:
    column = exc.details.get("field")
    return RowError(number, str(column or ""), exc.code, exc.message, exc.message)


def _as_text(value: object) -> object:
    return "" if value is None else str(value) if not isinstance(value, str) else value


def import_projects(service: ProjectService, access: Access, data: bytes) -> ImportReport:
    rights.scope_of(access)
    read = read_sheet(data, PROJECTS)
    report = ImportReport(errors=list(read.errors), ignored_headers=list(read.ignored_headers))
    parks = {p.name: p.id for p in service.registry.list_parks()}
    for row in read.rows:
        raw: dict[str, Any] = dict(row.values)
        park = raw.pop("park", None)
        if park:
            if park not in parks:
                report.errors.append(
                    RowError(
                        row.number,
                        "park",
                        "project_park_unknown",
                        f"没有名为「{park}」的园区",
                        f"no park is named '{park}'",
                    )
                )
                continue
            raw["park_id"] = parks[park]
        raw["total_investment_wan"] = _as_text(raw.get("total_investment_wan"))
        try:
            _, created = service.save(access, raw)
        except ShuguError as exc:
            report.errors.append(_refused(row.number, exc))
            continue
        if created:
            report.created += 1
        else:
            report.updated += 1
    report.errors.sort(key=lambda e: (e.number, e.column))
    return report


def import_progress(service: ProjectService, access: Access, data: bytes) -> ImportReport:
    """Months of a project are filed oldest first, whatever the file's order, so that each is
    checked against the one before it."""
    rights.scope_of(access)
    read = read_sheet(data, PROGRESS)
    report = ImportReport(errors=list(read.errors), ignored_headers=list(read.ignored_headers))
    for row in sorted(read.rows, key=lambda r: (str(r.values["code"]), str(r.values["month"]))):
        values = dict(row.values)
        project = service.registry.project_by_code(str(values.pop("code")))
        if project is None:
            report.errors.append(
                RowError(
                    row.number, "code", "not_found", "没有这个项目编号", "no such project code"
                )
            )
            continue
        for key in ("investment_month_wan", "investment_to_date_wan"):
            values[key] = _as_text(values.get(key))
        month = values.pop("month")
        known = {r.month for r in service.registry.progress_of([project.id]).get(project.id, [])}
        try:
            filed = service.file_progress(access, project.id, month, values)
        except ShuguError as exc:
            report.errors.append(_refused(row.number, exc))
            continue
        if filed.month in known:
            report.updated += 1
        else:
            report.created += 1
    report.errors.sort(key=lambda e: (e.number, e.column))
    return report


LIST_COLUMNS = (
    Column("code", "项目编号", "Project code"),
    Column("name", "项目名称", "Project name"),
    Column("owner_name", "业主单位", "Owner"),
    Column("park", "所在园区", "Park"),
    Column("industry_code", "行业代码", "Industry class"),
    Column("project_type", "项目类型", "Project type"),
    Column("total_investment_wan", "总投资（万元）", "Total investment (10,000 yuan)", "decimal"),
    Column("to_date_wan", "累计完成投资（万元）", "Invested to date (10,000 yuan)", "decimal"),
    Column("stage", "所处阶段", "Stage reached"),
    Column("last_month", "最近填报月份", "Last month reported"),
    Column("official", "责任人", "Responsible official"),
    Column("overdue", "逾期事项", "Overdue items", "int"),
)


def list_xlsx(views: Sequence[ProjectView], lang: Lang) -> bytes:
    vocabulary = catalogue()
    rows: list[dict[str, Cell]] = [
        {
            "code": v.project.code,
            "name": v.project.name,
            "owner_name": v.project.owner_name,
            "park": v.park_name,
            "industry_code": v.project.industry_code or "",
            "project_type": vocabulary.type_label(v.project.project_type, lang),
            "total_investment_wan": float(wan(v.project.total_investment_yuan)),
            "to_date_wan": float(wan(v.investment_to_date_yuan)),
            "stage": vocabulary.stage_label(v.stage, lang) if v.stage else "",
            "last_month": f"{v.last_month:%Y-%m}" if v.last_month else "",
            "official": v.project.official,
            "overdue": len(v.overdue),
        }
        for v in views
    ]
    return write_table("项目库" if lang == "zh" else "Projects", LIST_COLUMNS, rows, lang)


#: What is late, as the overdue page names it.
OVERDUE_KINDS: dict[str, tuple[str, str]] = {
    "stage": ("阶段逾期", "Stage late"),
    "report": ("月报未报", "Report missing"),
}
OVERDUE_COLUMNS = (
    Column("code", "项目编号", "Project code"),
    Column("name", "项目名称", "Project name"),
    Column("owner_name", "业主单位", "Owner"),
    Column("park", "所在园区", "Park"),
    Column("official", "责任人", "Responsible official"),
    Column("kind", "逾期事项", "What is late"),
    Column("item", "逾期阶段或月份", "Stage or month"),
    Column("due", "应完成日期", "Due", "date"),
    Column("days_late", "逾期天数", "Days late", "int"),
)


def _late_item(item: Overdue, vocabulary: Catalogue, lang: Lang) -> str:
    if item.stage:
        return vocabulary.stage_label(item.stage, lang)
    return f"{item.month:%Y-%m}" if item.month else ""


def overdue_xlsx(found: Sequence[OverdueRow], lang: Lang) -> bytes:
    """What is late today as ``GET /api/projects/overdue`` gives it, most days late first: a
    stage by its name, a missing report by its month."""
    vocabulary, zh = catalogue(), lang == "zh"
    rows: list[dict[str, Cell]] = [
        {
            "code": r.project.code,
            "name": r.project.name,
            "owner_name": r.project.owner_name,
            "park": r.park_name,
            "official": r.project.official,
            "kind": OVERDUE_KINDS[r.item.kind][0 if zh else 1],
            "item": _late_item(r.item, vocabulary, lang),
            "due": r.item.due,
            "days_late": r.item.days_late,
        }
        for r in found
    ]
    return write_table("逾期项目" if zh else "Overdue projects", OVERDUE_COLUMNS, rows, lang)


def summary_sheets(summary: Summary, lang: Lang) -> list[Sheet]:
    zh = lang == "zh"
    headers = (
        ["", "项目数", "总投资（万元）", "本月完成投资（万元）", "累计完成投资（万元）"]
        if zh
        else [
            "",
            "Projects",
            "Total investment (10,000 yuan)",
            "Invested in the month (10,000 yuan)",
            "Invested to date (10,000 yuan)",
        ]
    )

    def rows(found: Sequence[SummaryRow]) -> list[list[Any]]:
        out: list[list[Any]] = [
            [
                r.label or "—",
                r.projects,
                float(wan(r.planned_yuan)),
                float(wan(r.month_yuan)),
                float(wan(r.to_date_yuan)),
            ]
            for r in (*found, summary.total)
        ]
        out[-1][0] = "合计" if zh else "Total"
        return out

    month = f"{summary.month:%Y-%m}"
    titles = ("按阶段", "按园区", "按行业") if zh else ("By stage", "By park", "By industry")
    parts = (summary.by_stage, summary.by_park, summary.by_industry)
    return [
        Sheet(title=title, info=[month], headers=headers, rows=rows(part))
        for title, part in zip(titles, parts, strict=True)
    ]


def summary_xlsx(summary: Summary, lang: Lang) -> bytes:
    title = f"项目月度汇总 {summary.month:%Y-%m}" if lang == "zh" else "Project summary"
    return workbook(title, summary_sheets(summary, lang))
