"""KPI tables as XLSX workbooks (openpyxl), one sheet per ``Rows`` (``kpi_rows.py``).

Every sheet has the same shape: a title in both languages, the notes that say what it covers, a
blank row, the column headers in Chinese and, on the row below, in English (units in both), then
the data. Panes are frozen below the headers, which repeat on printed pages, and the filter sits
on the English header row. Numbers are number cells with a number format, times are date cells,
an undefined figure is an empty cell; text (names chosen by enterprises and devices) is always a
text cell, quote-prefixed where a spreadsheet would read it as a formula
(``domain/formula_guard.py``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from shugu.analytics.kpi_rows import Cell, Column, Lang, Rows
from shugu.domain.errors import ValidationError
from shugu.domain.formula_guard import starts_formula

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Notes shown above the headers at most (a title row first, a blank row after).
MAX_NOTES = 4
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

_SHEET_NAME_MAX = 31
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_TITLE_FONT = Font(bold=True, size=14)
_NOTE_FONT = Font(color="666666")
_HEAD_FONT = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="E8E8E8")
_HEAD_ALIGN = Alignment(vertical="center", wrap_text=True)


def header_row(rows: Rows) -> int:
    """The sheet row (1-based) of the Chinese headers; the English ones are on the next row and
    data starts on the one after."""
    return 2 + len(rows.notes[:MAX_NOTES]) + 1


def number_format(column: Column) -> str:
    if column.kind == "datetime":
        return DATETIME_FORMAT
    if column.kind == "integer":
        return "0"
    if column.kind == "text":
        return "@"
    return "#,##0" if column.decimals <= 0 else "#,##0." + "0" * column.decimals


#: Rows an Excel export holds at most (about 5 s and 100 MB to write).
MAX_XLSX_ROWS = 50_000


def xlsx_rows(sheets: Sequence[Rows], title: str | None = None) -> bytes:
    """A workbook of the sheets, in order; ``title`` names the file's properties (default: the
    first sheet's title). A workbook of more than ``MAX_XLSX_ROWS`` rows is refused: it would
    take a minute and a gigabyte to write, and no one reads it in a spreadsheet."""
    total = sum(len(rows.rows) for rows in sheets)
    if total > MAX_XLSX_ROWS:
        raise ValidationError(
            f"an Excel export holds at most {MAX_XLSX_ROWS:,} rows, this one {total:,}: choose a "
            "coarser level or grain, or a shorter span",
            code="kpi_export_too_large",
            field="format",
        )
    workbook = Workbook()
    taken: set[str] = set()
    first = True
    for rows in sheets:
        sheet = workbook.active if first else workbook.create_sheet()
        first = False
        sheet.title = sheet_name(rows.title_zh, taken)
        _write_sheet(sheet, rows)
    if not sheets:
        workbook.active.title = "空 Empty"
    workbook.properties.creator = "shugu"
    head = sheets[0] if sheets else None
    workbook.properties.title = _clean(
        title or (f"{head.title_zh} {head.title_en}" if head else "shugu")
    )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def sheet_name(wanted: str, taken: set[str]) -> str:
    """A valid sheet name close to ``wanted`` not in ``taken`` (compared without case), recorded
    there: at most 31 characters, none of []:*?/\\, no apostrophe at either end, not "History"."""
    base = _SHEET_NAME_BAD.sub("_", _clean(wanted))[:_SHEET_NAME_MAX].strip().strip("'").strip()
    base = base or "Sheet"
    name, n = base, 1
    while name.casefold() in taken or name.casefold() == "history":
        n += 1
        suffix = f" ({n})"
        name = base[: _SHEET_NAME_MAX - len(suffix)].rstrip() + suffix
    taken.add(name.casefold())
    return name


def _clean(text: str) -> str:
    # The file format has no place for control characters: openpyxl refuses the whole cell.
    return str(ILLEGAL_CHARACTERS_RE.sub("", text))


def _put(sheet: Any, row: int, column: int, value: Cell, fmt: str | None = None) -> Any:
    if isinstance(value, str):
        text = _clean(value)
        cell = sheet.cell(row=row, column=column, value=text)
        # A text cell, and quote-prefixed so that editing it does not make it a formula either.
        cell.data_type = "s"
        if starts_formula(text):
            cell.quotePrefix = True
        return cell
    cell = sheet.cell(row=row, column=column, value=value)
    if fmt is not None and value is not None:
        cell.number_format = fmt
    return cell


def _display_width(text: str) -> int:
    # A CJK character takes about two of Excel's width units.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _width(column: Column, rows: Rows, index: int) -> float:
    headers = [column.header("zh"), column.header("en")]
    widest = max(_display_width(h) for h in headers)
    if column.kind == "text":
        for row in rows.rows[:500]:
            value = row[index]
            if isinstance(value, str):
                widest = max(widest, _display_width(value))
    elif column.kind == "datetime":
        widest = max(widest, 16)
    else:
        widest = max(widest, 10)
    return float(min(max(widest + 2, 8), 48))


def _write_sheet(sheet: Any, rows: Rows) -> None:
    _put(sheet, 1, 1, f"{rows.title_zh} · {rows.title_en}").font = _TITLE_FONT
    for offset, note in enumerate(rows.notes[:MAX_NOTES]):
        _put(sheet, 2 + offset, 1, note).font = _NOTE_FONT
    top = header_row(rows)
    formats = [number_format(c) for c in rows.columns]
    for index, column in enumerate(rows.columns):
        languages: tuple[tuple[Lang, int], ...] = (("zh", top), ("en", top + 1))
        for lang, row in languages:
            cell = _put(sheet, row, index + 1, column.header(lang))
            cell.font = _HEAD_FONT
            cell.fill = _HEAD_FILL
            cell.alignment = _HEAD_ALIGN
        letter = get_column_letter(index + 1)
        sheet.column_dimensions[letter].width = _width(column, rows, index)
    for offset, values in enumerate(rows.rows):
        for index, value in enumerate(values):
            _put(sheet, top + 2 + offset, index + 1, value, formats[index])
    last_row = top + 1 + len(rows.rows)
    if rows.columns:
        sheet.freeze_panes = sheet.cell(row=top + 2, column=1).coordinate
        last = get_column_letter(len(rows.columns))
        sheet.auto_filter.ref = f"A{top + 1}:{last}{max(last_row, top + 1)}"
    sheet.print_title_rows = f"{top}:{top + 1}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
