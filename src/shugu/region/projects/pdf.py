"""The project library's monthly summary as a PDF (A4 portrait, in the reports' embedded Chinese
typeface from ``monitor/reports/fonts.py``): the same three tables as the XLSX, by stage, park
and industry."""

from __future__ import annotations

import io
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Paragraph,
    SimpleDocTemplate,
    Table,
    TableStyle,
)

from shugu.domain.xlsx_book import Cell
from shugu.monitor.reports.fonts import (
    PDF_BUILD_LOCK,
    report_style,
)
from shugu.region.projects.service import ProjectService
from shugu.region.projects.sheets import summary_sheets, summary_xlsx
from shugu.region.projects.summary import Summary
from shugu.region.sheets import Lang

_MARGIN = 15 * mm
_WIDTH = A4[0] - 2 * _MARGIN


@cache
def _styles() -> dict[str, Any]:
    return {
        name: report_style(f"projects_{name}", size)
        for name, size in (("title", 16), ("h2", 11), ("cell", 8))
    }


def _text(value: Cell) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return str(value)


def _table(headers: list[str], rows: list[list[Cell]]) -> Any:
    cell = _styles()["cell"]
    data = [[Paragraph(escape(h), cell) for h in headers]]
    data += [[Paragraph(escape(_text(v)), cell) for v in row] for row in rows]
    first = 45 * mm
    rest = (_WIDTH - first) / (len(headers) - 1)
    style = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
            ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f4f4f4")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    return Table(data, colWidths=[first] + [rest] * (len(headers) - 1), repeatRows=1, style=style)


def summary_pdf(summary: Summary, lang: Lang) -> bytes:
    styles = _styles()
    title = (
        f"项目库月度汇总 · {summary.month:%Y-%m}"
        if lang == "zh"
        else f"Project library, monthly summary · {summary.month:%Y-%m}"
    )
    story: list[Any] = [Paragraph(escape(title), styles["title"])]
    for sheet in summary_sheets(summary, lang):
        story.append(Paragraph(escape(sheet.title), styles["h2"]))
        story.append(_table(list(sheet.headers), [list(r) for r in sheet.rows]))
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=_MARGIN, rightMargin=_MARGIN, title=title
    )
    with PDF_BUILD_LOCK:
        document.build(story)
    return out.getvalue()


def project_summary_files(service: ProjectService, month: str) -> tuple[bytes, bytes]:
    """The district's project summary for ``month`` as a workbook and a PDF, in Chinese: kept
    each month with the monthly operation report."""
    summary = service.district_summary(month, "zh")
    return summary_xlsx(summary, "zh"), summary_pdf(summary, "zh")
