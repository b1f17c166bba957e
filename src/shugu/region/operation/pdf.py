"""The district's monthly operation report as a PDF: A4 landscape, set in the reports' embedded
Chinese typeface (``monitor/reports/fonts.py``): the district's totals, by park, by industry,
the key enterprises' month, warnings and who still owes a report."""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from shugu.domain.xlsx_book import Cell
from shugu.monitor.reports.fonts import (
    FONT,
    PDF_BUILD_LOCK,
    register_report_font,
    report_style,
)
from shugu.region.operation.exports import group_headers, group_line
from shugu.region.operation.figures import FIGURES
from shugu.region.operation.labels import word
from shugu.region.operation.summary import DistrictSummary
from shugu.region.operation.warnings import rule_by_id

_PAGE = landscape(A4)
_MARGIN = 12 * mm
_FRAME_W = _PAGE[0] - 2 * _MARGIN
_HEAD_FILL = colors.HexColor("#e8e8e8")
_GRID = colors.HexColor("#999999")
_MAX_CELL_CHARS = 120


@cache
def _styles() -> dict[str, Any]:
    style = report_style
    return {
        "title": style("op_title", 17, spaceAfter=3 * mm),
        "h2": style("op_h2", 12, spaceBefore=4 * mm, spaceAfter=2 * mm, keepWithNext=1),
        "note": style("op_note", 8, textColor=colors.HexColor("#555555")),
        "cell": style("op_cell", 7.5),
    }


def _text(value: Cell) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value == value else "–"
    if isinstance(value, bool):
        return "✓" if value else ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return text if len(text) <= _MAX_CELL_CHARS else text[: _MAX_CELL_CHARS - 1] + "…"


def _p(value: Cell, style: str = "cell") -> Any:
    return Paragraph(escape(_text(value)), _styles()[style])


def _table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> Any:
    data = [[_p(h) for h in headers]] + [[_p(v) for v in row] for row in rows]
    first = 40 * mm
    rest = (_FRAME_W - first) / max(1, len(headers) - 1)
    return Table(
        data,
        colWidths=[first] + [rest] * (len(headers) - 1),
        repeatRows=1,
        hAlign="LEFT",
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 7.5),
                ("GRID", (0, 0), (-1, -1), 0.4, _GRID),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), _HEAD_FILL),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
            ]
        ),
    )


def summary_pdf(summary: DistrictSummary, lang: str) -> bytes:
    title = f"{word('summary_title', lang)} · {summary.month}"
    story: list[Any] = [
        _p(title, "title"),
        _p(
            f"{word('as_of', lang)} {summary.as_of.isoformat()}. {word('note_growth', lang)}",
            "note",
        ),
    ]

    def section(heading: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
        story.append(_p(heading, "h2"))
        story.append(_table(headers, rows) if rows else _p(word("none", lang)))

    section(
        word("district", lang),
        group_headers(word("group", lang), lang),
        [group_line(summary.district)],
    )
    section(
        word("by_park", lang),
        group_headers(word("park", lang), lang),
        [group_line(g) for g in summary.by_park],
    )
    section(
        word("by_industry", lang),
        group_headers(word("industry", lang), lang),
        [group_line(g) for g in summary.by_industry],
    )
    key_headers = [word("enterprise", lang), word("state", lang)]
    key_headers += [f"{f.label(lang)} / {word('yoy', lang)}" for f in FIGURES[:4]]
    key_headers.append(word("warnings", lang))
    section(
        word("key_enterprises", lang),
        key_headers,
        [
            [
                row.enterprise.name,
                word(f"state.{row.state}", lang),
                *(
                    f"{_text(row.figures[f.key].value)} / {_text(row.figures[f.key].yoy_pct)}"
                    for f in FIGURES[:4]
                ),
                len(row.warnings),
            ]
            for row in summary.key_enterprises
        ],
    )
    rules = rule_by_id()
    section(
        word("warnings", lang),
        [word("enterprise", lang), word("rule", lang), word("since", lang)],
        [
            [e.name, rules[w.rule].name(lang) if w.rule in rules else w.rule, w.since]
            for e, w in summary.warnings
        ],
    )
    section(
        word("due", lang),
        [
            word("enterprise", lang),
            word("park", lang),
            word("state", lang),
            word("deadline", lang),
            word("days_overdue", lang),
        ],
        [
            [
                d.enterprise.name,
                d.enterprise.park_name,
                word(f"due.{d.due}", lang),
                d.deadline,
                d.days_overdue,
            ]
            for d in summary.due
        ],
    )
    story.append(Spacer(1, 4 * mm))
    return _build(story, title, lang)


def _build(story: list[Any], title: str, lang: str) -> bytes:
    register_report_font()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=_PAGE,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=title,
        author="shugu",
        lang="en" if lang == "en" else "zh-CN",
        initialFontName=FONT,
    )
    with PDF_BUILD_LOCK:
        doc.build(story)
    return out.getvalue()
