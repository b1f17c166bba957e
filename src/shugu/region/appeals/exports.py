"""Enterprise appeals (企业诉求) as XLSX: the list as the queue shows it (with its filters) and
the bureau's figures (by category and by department, the district's total last).

Times stay numbers (hours) and dates stay dates, so the bureau sorts and sums them in Excel;
titles and names are text that never runs as a formula (``domain/xlsx_book.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from shugu.domain.xlsx_book import Cell, Sheet, workbook
from shugu.region.appeals.catalogue import AppealCatalogue
from shugu.region.appeals.figures import UNASSIGNED, AppealFigures, Figures
from shugu.region.sheets import Column, Lang, write_table
from shugu.store.registry.region_appeals import AppealRecord

#: An appeal's status as the queue names it.
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "open": ("待受理", "Open"),
    "assigned": ("已交办", "Assigned"),
    "answered": ("已答复", "Answered"),
    "closed": ("已办结", "Closed"),
}
_CLOSED_BY: dict[str, tuple[str, str]] = {
    "enterprise": ("企业确认", "Confirmed by the enterprise"),
    "bureau": ("主管部门办结", "Closed by the bureau"),
}

LIST_COLUMNS = (
    Column("id", "诉求编号", "Appeal no.", "int"),
    Column("filed_at", "提交时间", "Filed at", "date"),
    Column("enterprise", "企业名称", "Enterprise"),
    Column("category", "诉求类别", "Category"),
    Column("title", "诉求标题", "Title"),
    Column("status", "办理状态", "Status"),
    Column("department", "承办部门", "Department"),
    Column("first_answer_at", "首次答复时间", "First answer at", "date"),
    Column("closed_at", "办结时间", "Closed at", "date"),
    Column("closed_by", "办结方式", "Closed by"),
    Column("rating", "满意度评分（1–5）", "Rating (1–5)", "int"),
    Column("rating_comment", "评价意见", "Rating comment"),
)


def _label(pair: tuple[str, str] | None, fallback: str, lang: Lang) -> str:
    if pair is None:
        return fallback
    return pair[0] if lang == "zh" else pair[1]


def list_xlsx(
    appeals: Sequence[AppealRecord], catalogue: AppealCatalogue, lang: Lang = "zh"
) -> bytes:
    """The appeals as ``GET /api/appeals`` gives them, newest first."""
    rows: list[dict[str, Cell]] = [
        {
            "id": a.id,
            "filed_at": a.filed_at,
            "enterprise": a.enterprise_name,
            "category": catalogue.category_label(a.category, lang),
            "title": a.title,
            "status": _label(STATUS_LABELS.get(a.status), a.status, lang),
            "department": catalogue.department_label(a.department, lang),
            "first_answer_at": a.first_answer_at,
            "closed_at": a.closed_at,
            "closed_by": _label(
                _CLOSED_BY.get(a.closed_by_side or ""), a.closed_by_side or "", lang
            ),
            "rating": a.rating,
            "rating_comment": a.rating_comment or "",
        }
        for a in appeals
    ]
    return write_table(
        "企业诉求" if lang == "zh" else "Enterprise appeals", LIST_COLUMNS, rows, lang
    )


_FIGURE_HEADERS = {
    "zh": [
        "",
        "诉求数",
        "未办结",
        "已超期",
        "已首次答复",
        "首次答复时长中位数（小时）",
        "首次答复时长P90（小时）",
        "已办结",
        "办结时长中位数（小时）",
        "办结时长P90（小时）",
        "平均满意度（1–5）",
        "评价数",
    ],
    "en": [
        "",
        "Appeals",
        "Open",
        "Overdue",
        "Answered",
        "First answer, median (hours)",
        "First answer, p90 (hours)",
        "Closed",
        "Closing, median (hours)",
        "Closing, p90 (hours)",
        "Average rating (1–5)",
        "Ratings",
    ],
}


def _figure_row(label: str, f: Figures) -> list[Cell]:
    return [
        label,
        f.appeals,
        f.open,
        f.overdue,
        f.first_answer.count,
        f.first_answer.median_h,
        f.first_answer.p90_h,
        f.closing.count,
        f.closing.median_h,
        f.closing.p90_h,
        f.rating_avg,
        f.ratings,
    ]


def figures_xlsx(figures: AppealFigures, catalogue: AppealCatalogue, lang: Lang = "zh") -> bytes:
    """Two sheets, by category and by department, each ending with the total."""
    zh = lang == "zh"
    total = "合计" if zh else "Total"
    unassigned = "未交办" if zh else "Not assigned"
    by_category = [
        _figure_row(catalogue.category_label(f.key, lang), f) for f in figures.by_category
    ]
    by_department = [
        _figure_row(
            unassigned if f.key == UNASSIGNED else catalogue.department_label(f.key, lang), f
        )
        for f in figures.by_department
    ]
    info = ["时长单位：小时" if zh else "Times in hours"]
    headers = _FIGURE_HEADERS[lang]
    sheets = [
        Sheet(
            title="按类别" if zh else "By category",
            info=info,
            headers=[("诉求类别" if zh else "Category"), *headers[1:]],
            rows=[*by_category, _figure_row(total, figures.total)],
        ),
        Sheet(
            title="按承办部门" if zh else "By department",
            info=info,
            headers=[("承办部门" if zh else "Department"), *headers[1:]],
            rows=[*by_department, _figure_row(total, figures.total)],
        ),
    ]
    return workbook("企业诉求办理情况" if zh else "Appeal figures", sheets)
