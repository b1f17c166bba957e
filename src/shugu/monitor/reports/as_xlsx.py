"""Inspection reports as XLSX workbooks (openpyxl).

Every sheet has the same shape: a title and a few lines saying what it is, a blank row, then one
table whose header is on ``HEADER_ROW``. Panes are frozen below the header and the header repeats
on printed pages. Numbers and times are stored as numbers and dates, so people can sort, filter
and chart them; text typed in by users is always stored as text, never as a formula.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet.hyperlink import Hyperlink  # type: ignore[import-untyped]

from shugu.domain.formula_guard import starts_formula
from shugu.monitor.model import CheckOutcome
from shugu.monitor.reports.catalog import Lang, text
from shugu.monitor.reports.view import DayView, RoundView, china_time

#: The table header's row on every sheet (1-based); data starts on the next row.
HEADER_ROW = 7
_INFO_ROWS = HEADER_ROW - 3  # title on row 1, these lines, a blank row, the header

_MAX_SHEET_NAME = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_NOTE = Font(color="666666")
_HEAD_FILL = PatternFill("solid", fgColor="E8E8E8")
_FAIL_FILL = PatternFill("solid", fgColor="FDE2E2")
_FAIL_FONT = Font(color="A40000", bold=True)
_WRAP = Alignment(vertical="top", wrap_text=True)


def _clean(value: str) -> str:
    # Control characters are not allowed in the file format; openpyxl refuses the whole cell.
    return str(ILLEGAL_CHARACTERS_RE.sub("", value))


def _put(ws: Any, row: int, col: int, value: object, number_format: str | None = None) -> Any:
    """Write one cell; strings stay strings even when they start with "=" (no formula injection):
    a string cell, quote-prefixed when it looks like a formula, so that editing it in Excel does
    not turn it into one either (``domain/formula_guard.py``)."""
    if isinstance(value, str):
        cleaned = _clean(value)
        cell = ws.cell(row=row, column=col, value=cleaned)
        cell.data_type = "s"
        if starts_formula(cleaned):
            cell.quotePrefix = True
    else:
        cell = ws.cell(row=row, column=col, value=value)
    if number_format is not None:
        cell.number_format = number_format
    return cell


def _display_width(value: str) -> int:
    # A CJK character takes about two columns of Excel's width unit.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in value)


def sheet_name(wanted: str, taken: set[str]) -> str:
    """A valid, unused sheet name close to ``wanted``; records it in ``taken`` (casefolded).

    Excel allows at most 31 characters, none of []:*?/\\, no apostrophe at either end, not
    "History" (it keeps that name for itself), and compares names without regard to case.
    """
    base = _BAD_SHEET_CHARS.sub("_", _clean(wanted))[:_MAX_SHEET_NAME]
    base = base.strip().strip("'").strip() or "_"
    name, n = base, 1
    while name.casefold() in taken or name.casefold() == "history":
        n += 1
        suffix = f" ({n})"
        name = base[: _MAX_SHEET_NAME - len(suffix)].rstrip() + suffix
    taken.add(name.casefold())
    return name


def _start_sheet(
    ws: Any,
    title: str,
    info: Sequence[str],
    headers: Sequence[str],
    widths: Sequence[float],
) -> None:
    _put(ws, 1, 1, title).font = _TITLE
    for offset, line in enumerate(info[:_INFO_ROWS]):
        _put(ws, 2 + offset, 1, line)
    for col, (header, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = _put(ws, HEADER_ROW, col, header)
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1).coordinate
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _finish_table(ws: Any, columns: int, last_row: int) -> None:
    if last_row > HEADER_ROW:
        last = get_column_letter(columns)
        ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{last_row}"


def _fill_row(ws: Any, row: int, columns: int, fill: Any) -> None:
    for col in range(1, columns + 1):
        ws.cell(row=row, column=col).fill = fill


def _fit_width(values: Iterable[str], least: float, most: float) -> float:
    widest = max((_display_width(v) for v in values), default=0)
    return float(min(max(least, widest + 2), most))


def _labelled(key: str, value: str, lang: Lang) -> str:
    return f"{text(key, lang)}{'：' if lang == 'zh' else ': '}{value}"


def _counts_line(total: int, failed: int, no_data: int, passed: int, lang: Lang) -> str:
    return (
        f"{text('checks', lang)} {total} · {text('outcome_fail', lang)} {failed} · "
        f"{text('outcome_no_data', lang)} {no_data} · {text('outcome_pass', lang)} {passed}"
    )


def _number_format(decimals: int | None) -> str:
    if decimals is None:
        # "0.##" would print a whole number as "5."; General shows 5 and 5.25 as they are.
        return "General"
    return "0" if decimals == 0 else "0." + "0" * decimals


def _round_sheet(ws: Any, view: RoundView, lang: Lang) -> None:
    keys = ("no", "device", "check", "subject", "value", "unit", "limit", "outcome", "observed_at")
    headers = [text(k, lang) for k in keys]
    headers[-1] += " (UTC+8)"
    widths = [
        6,
        _fit_width((r.device for r in view.rows), 12, 40),
        _fit_width((r.check for r in view.rows), 14, 40),
        _fit_width((r.subject for r in view.rows), 12, 36),
        11,
        8,
        12,
        9,
        17,
    ]
    info = [
        _labelled("enterprise", view.enterprise, lang),
        _labelled("plan", view.plan, lang),
        "    ".join(
            (
                _labelled("round_time", view.at_text, lang),
                _labelled("trigger", view.trigger_text, lang),
                _labelled("by", view.by_text, lang),
            )
        ),
        _counts_line(view.total, view.failed, view.no_data, view.passed, lang),
    ]
    _start_sheet(ws, text("title_round", lang), info, headers, widths)
    row = HEADER_ROW
    for index, check in enumerate(view.rows, start=1):
        row = HEADER_ROW + index
        observed = None if check.observed_at_ms is None else china_time(check.observed_at_ms)
        # No data stays an empty cell, not "—": a dash would be charted as zero by Excel.
        values: list[tuple[object, str | None]] = [
            (index, None),
            (check.device, None),
            (check.check, None),
            (check.subject, None),
            (check.value, _number_format(check.decimals)),
            (check.unit, None),
            (check.limit, None),
            (check.outcome_text, None),
            (observed, _DATETIME_FORMAT),
        ]
        for col, (value, fmt) in enumerate(values, start=1):
            _put(ws, row, col, value, fmt).alignment = _WRAP
        if check.outcome is CheckOutcome.failed:
            _fill_row(ws, row, len(headers), _FAIL_FILL)
            ws.cell(row=row, column=8).font = _FAIL_FONT
    if not view.rows:
        _put(ws, HEADER_ROW + 1, 1, text("no_checks", lang))
    _finish_table(ws, len(headers), row)


def _summary_sheet(
    ws: Any,
    title: str,
    info: Sequence[str],
    rounds: Sequence[tuple[RoundView, str]],
    totals: tuple[int, int, int, int],
    lang: Lang,
) -> None:
    keys = (
        *("round_time", "plan", "trigger", "by", "checks"),
        *("outcome_fail", "outcome_no_data", "outcome_pass", "round_details"),
    )
    headers = [text(k, lang) for k in keys]
    headers[0] += " (UTC+8)"
    widths = [
        17,
        _fit_width((r.plan for r, _ in rounds), 14, 40),
        10,
        _fit_width((r.by_text for r, _ in rounds), 10, 24),
        10,
        9,
        9,
        9,
        _fit_width((name for _, name in rounds), 12, 34),
    ]
    _start_sheet(ws, title, info, headers, widths)
    row = HEADER_ROW
    for index, (view, sheet) in enumerate(rounds, start=1):
        row = HEADER_ROW + index
        _put(ws, row, 1, china_time(view.at_ms), _DATETIME_FORMAT)
        for col, value in enumerate(
            (view.plan, view.trigger_text, view.by_text, view.total, view.failed),
            start=2,
        ):
            _put(ws, row, col, value)
        _put(ws, row, 7, view.no_data)
        _put(ws, row, 8, view.passed)
        link = _put(ws, row, 9, sheet)
        # An in-workbook link; apostrophes in a quoted sheet name are doubled.
        quoted = sheet.replace("'", "''")
        link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{quoted}'!A1")
        link.font = Font(color="0563C1", underline="single")
        if view.failed:
            _fill_row(ws, row, len(headers), _FAIL_FILL)
    if rounds:
        row += 1
        _put(ws, row, 1, text("total", lang)).font = _BOLD
        for col, value in enumerate(totals, start=5):
            _put(ws, row, col, value).font = _BOLD
    else:
        _put(ws, HEADER_ROW + 1, 1, text("no_rounds", lang))
    # The filter covers the rounds only, so sorting never moves the total row.
    _finish_table(ws, len(headers), row - 1 if rounds else row)


def _tally_sheet(ws: Any, view: DayView, info: Sequence[str], lang: Lang) -> None:
    keys = ("device", "check", "failed_rounds", "no_data_rounds", "checked_rounds", "last_failed")
    headers = [text(k, lang) for k in keys]
    widths = [
        _fit_width((t.device for t in view.tallies), 14, 40),
        _fit_width((t.check for t in view.tallies), 14, 40),
        12,
        12,
        12,
        12,
    ]
    _start_sheet(ws, text("by_check", lang), info, headers, widths)
    row = HEADER_ROW
    for index, tally in enumerate(view.tallies, start=1):
        row = HEADER_ROW + index
        values = (tally.device, tally.check, tally.failed, tally.no_data, tally.rounds)
        for col, value in enumerate(values, start=1):
            _put(ws, row, col, value)
        _put(ws, row, 6, tally.last_failed_text)
        if tally.failed:
            _fill_row(ws, row, len(headers), _FAIL_FILL)
    if not view.tallies:
        message = "all_passed_day" if view.rounds else "no_rounds"
        _put(ws, HEADER_ROW + 1, 1, text(message, lang))
    _finish_table(ws, len(headers), row)


def _round_sheet_title(view: RoundView) -> str:
    # ":" is not allowed in sheet names, hence 08.00 for 08:00.
    return f"{view.clock_text.replace(':', '.')} {view.plan}"


def _save(wb: Any, title: str) -> bytes:
    wb.properties.title = title
    wb.properties.creator = "shugu"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def xlsx_round(view: RoundView, lang: Lang) -> bytes:
    """Two sheets: the summary (one row, numeric counts) and the round's checks."""
    wb = Workbook()
    taken: set[str] = set()
    summary = wb.active
    summary.title = sheet_name(text("summary", lang), taken)
    detail = wb.create_sheet(sheet_name(_round_sheet_title(view), taken))
    info = [
        _labelled("enterprise", view.enterprise, lang),
        _labelled("round_time", view.at_text, lang),
    ]
    totals = (view.total, view.failed, view.no_data, view.passed)
    _summary_sheet(summary, text("title_round", lang), info, [(view, detail.title)], totals, lang)
    _round_sheet(detail, view, lang)
    return _save(wb, f"{text('title_round', lang)} · {view.plan} · {view.at_text}")


def xlsx_day(view: DayView, lang: Lang) -> bytes:
    """The summary sheet, the by-check sheet, then one sheet per round in time order."""
    wb = Workbook()
    taken: set[str] = set()
    summary = wb.active
    summary.title = sheet_name(text("summary", lang), taken)
    tallies = wb.create_sheet(sheet_name(text("by_check", lang), taken))
    named: list[tuple[RoundView, str]] = []
    for round_view in view.rounds:
        ws = wb.create_sheet(sheet_name(_round_sheet_title(round_view), taken))
        _round_sheet(ws, round_view, lang)
        named.append((round_view, ws.title))
    info = [
        _labelled("enterprise", view.enterprise, lang),
        _labelled("day", f"{view.day_text} (UTC+8)", lang),
        _labelled("rounds", str(len(view.rounds)), lang),
        _counts_line(view.total, view.failed, view.no_data, view.passed, lang),
    ]
    totals = (view.total, view.failed, view.no_data, view.passed)
    _summary_sheet(summary, text("title_day", lang), info, named, totals, lang)
    _tally_sheet(tallies, view, [*info[:2], text("by_check_note", lang)], lang)
    return _save(wb, f"{text('title_day', lang)} · {view.enterprise} · {view.day_text}")
