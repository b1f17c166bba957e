"""Inspection reports as A4 PDF (reportlab platypus).

Every word is set in one TrueType face, WenQuanYi Micro Hei (see ``fonts.py``), and the PDF embeds
the subset of its glyphs the report uses: a report shows the same on a machine without any
Chinese font, and its text can be copied and searched.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from shugu.monitor.model import CheckOutcome
from shugu.monitor.reports.catalog import Lang, text
from shugu.monitor.reports.fonts import (
    FONT,
    PDF_BUILD_LOCK,
    register_report_font,
    report_style,
)
from shugu.monitor.reports.view import DayView, RoundView

_PAGE_W, _PAGE_H = A4
_MARGIN = 15 * mm
_FRAME_W = _PAGE_W - 2 * _MARGIN
#: A cell taller than a page cannot be laid out at all; names this long are cut, not fatal.
_MAX_CELL_CHARS = 240

_FAIL_FILL = colors.HexColor("#fde2e2")
_HEAD_FILL = colors.HexColor("#e8e8e8")
_TOTAL_FILL = colors.HexColor("#f4f4f4")
_FAIL_INK = colors.HexColor("#a40000")
_GRID = colors.HexColor("#999999")

# Check table: no., device, check, value, limit, result, data time (sums to the frame width).
_CHECK_COLS = [10 * mm, 44 * mm, 44 * mm, 22 * mm, 22 * mm, 16 * mm, 22 * mm]
_TALLY_COLS = [54 * mm, 54 * mm, 18 * mm, 18 * mm, 18 * mm, 18 * mm]
_ROUND_COLS = [16 * mm, 52 * mm, 18 * mm, 26 * mm, 17 * mm, 17 * mm, 17 * mm, 17 * mm]
_META_COLS = [28 * mm, _FRAME_W - 28 * mm]


@cache
def _styles() -> dict[str, Any]:
    style = report_style
    return {
        "title": style("title", 17, spaceAfter=4 * mm),
        "h2": style("h2", 12.5, spaceBefore=4 * mm, spaceAfter=2 * mm, keepWithNext=1),
        "body": style("body", 9.5),
        "note": style("note", 8, textColor=colors.HexColor("#555555")),
        "cell": style("cell", 8.5),
        "num": style("num", 8.5, alignment=2),
        "head": style("head", 8.5),
        "fail": style("fail", 8.5, textColor=_FAIL_INK),
    }


def _markup(value: str) -> str:
    """Plain text as Paragraph markup: escaped (names come from users) and kept printable."""
    if len(value) > _MAX_CELL_CHARS:
        value = value[: _MAX_CELL_CHARS - 1] + "…"
    return escape(value)


def _p(value: str, style: str = "cell") -> Any:
    return Paragraph(_markup(value), _styles()[style])


def _table(
    rows: list[list[Any]],
    widths: Sequence[float],
    fail_rows: Sequence[int] = (),
    total_row: bool = False,
    header: bool = True,
) -> Any:
    commands: list[tuple[Any, ...]] = [
        # A table selects its own font before its cells; reportlab's default is Helvetica.
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("GRID", (0, 0), (-1, -1), 0.4, _GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), _HEAD_FILL))
    commands.extend(("BACKGROUND", (0, i), (-1, i), _FAIL_FILL) for i in fail_rows)
    if total_row:
        commands.append(("BACKGROUND", (0, -1), (-1, -1), _TOTAL_FILL))
    # repeatRows keeps the column titles on every page a long table runs onto.
    return Table(
        rows,
        colWidths=list(widths),
        repeatRows=1 if header else 0,
        hAlign="LEFT",
        style=TableStyle(commands),
    )


def _counts(total: int, failed: int, no_data: int, passed: int, lang: Lang) -> str:
    return (
        f"{text('checks', lang)} {total} · {text('outcome_fail', lang)} {failed} · "
        f"{text('outcome_no_data', lang)} {no_data} · {text('outcome_pass', lang)} {passed}"
    )


def _meta(pairs: Sequence[tuple[str, str]]) -> Any:
    rows = [[_p(label, "head"), _p(value)] for label, value in pairs]
    table = _table(rows, _META_COLS, header=False)
    table.setStyle(TableStyle([("BACKGROUND", (0, 0), (0, -1), _HEAD_FILL)]))
    return table


def _round_flowables(view: RoundView, lang: Lang) -> list[Any]:
    story: list[Any] = [
        _meta(
            [
                (text("enterprise", lang), view.enterprise),
                (text("plan", lang), view.plan),
                (text("round_time", lang), view.at_text),
                (text("trigger", lang), view.trigger_text),
                (text("by", lang), view.by_text),
                (
                    text("summary", lang),
                    _counts(view.total, view.failed, view.no_data, view.passed, lang),
                ),
            ]
        ),
        Spacer(1, 3 * mm),
    ]
    if not view.rows:
        story.append(_p(text("no_checks", lang), "body"))
        return story
    head = [
        _p(text(key, lang), "head")
        for key in ("no", "device", "check", "value", "limit", "outcome", "observed_at")
    ]
    rows: list[list[Any]] = [head]
    fail_rows: list[int] = []
    for index, row in enumerate(view.rows, start=1):
        failed = row.outcome is CheckOutcome.failed
        if failed:
            fail_rows.append(index)
        rows.append(
            [
                _p(str(index), "num"),
                _p(row.device),
                _p(row.check),
                _p(row.value_text, "num"),
                _p(row.limit),
                _p(row.outcome_text, "fail" if failed else "cell"),
                _p(row.observed_text),
            ]
        )
    story.append(_table(rows, _CHECK_COLS, fail_rows))
    return story


def _day_flowables(view: DayView, lang: Lang) -> list[Any]:
    story: list[Any] = [
        _p(text("title_day", lang), "title"),
        _meta(
            [
                (text("enterprise", lang), view.enterprise),
                (text("day", lang), f"{view.day_text} (UTC+8)"),
                (text("rounds", lang), str(len(view.rounds))),
                (
                    text("summary", lang),
                    _counts(view.total, view.failed, view.no_data, view.passed, lang),
                ),
            ]
        ),
    ]
    if not view.rounds:
        story += [Spacer(1, 4 * mm), _p(text("no_rounds", lang), "body")]
        return story

    story.append(_p(text("by_check", lang), "h2"))
    if view.tallies:
        story.append(_p(text("by_check_note", lang), "note"))
        story.append(Spacer(1, 1.5 * mm))
        keys = ("device", "check", "failed_rounds", "no_data_rounds", "checked_rounds")
        rows: list[list[Any]] = [[_p(text(k, lang), "head") for k in (*keys, "last_failed")]]
        fail_rows: list[int] = []
        for index, tally in enumerate(view.tallies, start=1):
            if tally.failed:
                fail_rows.append(index)
            rows.append(
                [
                    _p(tally.device),
                    _p(tally.check),
                    _p(str(tally.failed), "num"),
                    _p(str(tally.no_data), "num"),
                    _p(str(tally.rounds), "num"),
                    _p(tally.last_failed_text),
                ]
            )
        story.append(_table(rows, _TALLY_COLS, fail_rows))
    else:
        story.append(_p(text("all_passed_day", lang), "body"))

    story.append(_p(text("rounds", lang), "h2"))
    keys = ("round_time", "plan", "trigger", "by", "checks")
    outcome_keys = ("outcome_fail", "outcome_no_data", "outcome_pass")
    rows = [[_p(text(k, lang), "head") for k in (*keys, *outcome_keys)]]
    fail_rows = []
    for index, r in enumerate(view.rounds, start=1):
        if r.failed:
            fail_rows.append(index)
        rows.append(
            [_p(r.clock_text), _p(r.plan), _p(r.trigger_text), _p(r.by_text)]
            + [_p(str(n), "num") for n in (r.total, r.failed, r.no_data, r.passed)]
        )
    rows.append(
        [_p(text("total", lang)), "", "", ""]
        + [_p(str(n), "num") for n in (view.total, view.failed, view.no_data, view.passed)]
    )
    table = _table(rows, _ROUND_COLS, fail_rows, total_row=True)
    table.setStyle(TableStyle([("SPAN", (0, -1), (3, -1))]))
    story += [table, _p(text("timezone_note", lang), "note")]

    for index, r in enumerate(view.rounds, start=1):
        # Each round starts on its own page so a round can be handed on by itself.
        story.append(PageBreak())
        heading = f"{text('round_details', lang)} {index}/{len(view.rounds)} · {r.clock_text} "
        story.append(_p(heading + r.plan, "h2"))
        story += _round_flowables(r, lang)
    return story


def _fit(value: str, size: float, width: float) -> str:
    """Cut ``value`` so that it fits ``width`` points when drawn at ``size``."""
    if pdfmetrics.stringWidth(value, FONT, size) <= width:
        return value
    # Cut the bulk at once: even the narrowest glyph is wider than 1.5 pt at these sizes.
    value = value[: int(width / 1.5) + 1]
    while value and pdfmetrics.stringWidth(value + "…", FONT, size) > width:
        value = value[:-1]
    return value + "…"


_FURNITURE_SIZE = 7.5
_FURNITURE_INK = "#666666"
#: The PDF form that holds "N 页" / "N": drawn on every page, filled in once the count is known.
_PAGE_TOTAL_FORM = "page_total"


def _page_parts(lang: Lang) -> tuple[str, str]:
    """The page footer around the total, e.g. ("第 {page} 页，共 ", " 页")."""
    before, _, after = text("page", lang).partition("{pages}")
    return before, after


def _canvas_class(lang: Lang) -> Any:
    """A canvas that, on saving, fills in the page total every footer refers to.

    The footer of page 1 is drawn before the number of pages is known. Each footer therefore
    shows a PDF form object for the total, and the form is defined at the end, so the report
    is laid out once rather than once to count pages and again to print.
    """
    _, after = _page_parts(lang)

    class _Canvas(Canvas):  # type: ignore[misc]
        def save(self) -> None:
            # Called after the last page was shown, when the counter has moved past it.
            pages = self.getPageNumber() - 1
            self.beginForm(_PAGE_TOTAL_FORM)
            self.setFont(FONT, _FURNITURE_SIZE)
            self.setFillColor(colors.HexColor(_FURNITURE_INK))
            self.drawString(0, 0, f"{pages}{after}")
            self.endForm()
            super().save()

    return _Canvas


def _page_decorator(header: str, lang: Lang) -> Callable[[Any, Any], None]:
    before, after = _page_parts(lang)

    def decorate(canvas: Any, doc: Any) -> None:
        size = _FURNITURE_SIZE
        canvas.saveState()
        canvas.setFont(FONT, size)
        canvas.setFillColor(colors.HexColor(_FURNITURE_INK))
        canvas.drawString(_MARGIN, _PAGE_H - 10 * mm, _fit(header, size, _FRAME_W))
        lead = before.format(page=doc.page)
        # Centred on the assumption that the total has as many digits as this page's number;
        # when it has more, the footer sits half a digit off centre.
        width = pdfmetrics.stringWidth(f"{lead}{doc.page}{after}", FONT, size)
        x = (_PAGE_W - width) / 2
        canvas.drawString(x, 8 * mm, lead)
        canvas.translate(x + pdfmetrics.stringWidth(lead, FONT, size), 8 * mm)
        canvas.doForm(_PAGE_TOTAL_FORM)
        canvas.restoreState()

    return decorate


def _build(story: list[Any], title: str, header: str, lang: Lang) -> bytes:
    register_report_font()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=title,
        author="shugu",
        lang="zh-CN" if lang == "zh" else "en",
        # Each page starts by selecting the initial font; left as reportlab's Helvetica, it
        # would be a font the PDF names without embedding it.
        initialFontName=FONT,
    )
    decorate = _page_decorator(header, lang)
    with PDF_BUILD_LOCK:
        doc.build(
            story, onFirstPage=decorate, onLaterPages=decorate, canvasmaker=_canvas_class(lang)
        )
    return out.getvalue()


def pdf_round(view: RoundView, lang: Lang) -> bytes:
    story: list[Any] = [_p(text("title_round", lang), "title")]
    story += _round_flowables(view, lang)
    story += [
        Spacer(1, 3 * mm),
        _p(text("timezone_note", lang), "note"),
        Spacer(1, 10 * mm),
        _p(text("signature", lang), "body"),
    ]

    header = f"{text('title_round', lang)} · {view.enterprise} · {view.plan} · {view.at_text}"
    return _build(story, f"{text('title_round', lang)} · {view.plan}", header, lang)


def pdf_day(view: DayView, lang: Lang) -> bytes:
    story = _day_flowables(view, lang)
    story += [Spacer(1, 10 * mm), _p(text("signature", lang), "body")]

    header = f"{text('title_day', lang)} · {view.enterprise} · {view.day_text} (UTC+8)"
    return _build(story, f"{text('title_day', lang)} · {view.day_text}", header, lang)
