"""Tables as XLSX workbooks (the capacity board's, the bureau's exports and reports): one sheet
per table, a title and a few lines saying what it is, then the table with its header frozen and
filtered.

Numbers and days stay numbers and dates, so people sort, sum and chart them; text (fabric names,
notes, enterprise names) is always stored as text and never runs as a formula
(``domain/formula_guard.py``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from openpyxl.styles import Font, PatternFill  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from shugu.domain.formula_guard import starts_formula
from shugu.domain.timeutil import CHINA_TZ

Cell = str | int | float | bool | date | datetime | None

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEAD_FILL = PatternFill("solid", fgColor="E8E8E8")
_MAX_SHEET_NAME = 31
_BAD_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})


@dataclass(frozen=True, slots=True)
class Sheet:
    title: str
    info: Sequence[str]
    headers: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    #: Number formats by column index (0-based), for figures with a fixed number of decimals.
    formats: dict[int, str] | None = None


def _put(ws: Any, row: int, col: int, value: Cell, number_format: str | None = None) -> Any:
    if isinstance(value, str):
        cleaned = str(ILLEGAL_CHARACTERS_RE.sub("", value))
        cell = ws.cell(row=row, column=col, value=cleaned)
        cell.data_type = "s"
        if starts_formula(cleaned):
            cell.quotePrefix = True
        return cell
    if isinstance(value, datetime):
        # Excel keeps no time zone: the district's local time, as the console shows it.
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        value = aware.astimezone(CHINA_TZ).replace(tzinfo=None)
        number_format = number_format or "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        number_format = number_format or "yyyy-mm-dd"
    cell = ws.cell(row=row, column=col, value=value)
    if number_format is not None:
        cell.number_format = number_format
    return cell


def _sheet_name(wanted: str, taken: set[str]) -> str:
    base = str(ILLEGAL_CHARACTERS_RE.sub("", wanted)).translate(_BAD_SHEET_CHARS)
    base = base[:_MAX_SHEET_NAME].strip().strip("'") or "_"
    name, n = base, 1
    while name.casefold() in taken or name.casefold() == "history":
        n += 1
        suffix = f" ({n})"
        name = base[: _MAX_SHEET_NAME - len(suffix)] + suffix
    taken.add(name.casefold())
    return name


def _width(values: Sequence[Cell]) -> float:
    widest = 0
    for value in values:
        text = value if isinstance(value, str) else "" if value is None else str(value)
        widest = max(widest, sum(2 if ord(ch) > 0x2E7F else 1 for ch in text))
    return float(min(max(8, widest + 2), 48))


def _fill(ws: Any, sheet: Sheet) -> None:
    _put(ws, 1, 1, sheet.title).font = _TITLE
    for offset, line in enumerate(sheet.info):
        _put(ws, 2 + offset, 1, line)
    header_row = len(sheet.info) + 3
    formats = sheet.formats or {}
    for col, header in enumerate(sheet.headers, start=1):
        cell = _put(ws, header_row, col, header)
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
        column = [header, *(row[col - 1] for row in sheet.rows[:200])]
        ws.column_dimensions[get_column_letter(col)].width = _width(column)
    for index, row in enumerate(sheet.rows, start=1):
        for col, value in enumerate(row, start=1):
            _put(ws, header_row + index, col, value, formats.get(col - 1))
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1).coordinate
    last = header_row + max(len(sheet.rows), 1)
    ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(sheet.headers))}{last}"


def workbook(title: str, sheets: Sequence[Sheet]) -> bytes:
    """The sheets as one XLSX file."""
    wb = Workbook()
    taken: set[str] = set()
    for index, sheet in enumerate(sheets):
        ws = wb.active if index == 0 else wb.create_sheet()
        ws.title = _sheet_name(sheet.title, taken)
        _fill(ws, sheet)
    wb.properties.title = title
    wb.properties.creator = "shugu"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
