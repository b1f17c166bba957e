"""XLSX imports of the bureau's system: templates shugu generates, and rows read back typed, with
every bad cell reported by its Excel row number and a reason, and every good row kept.

A sheet is declared as data (:class:`SheetSpec`): its columns with their Chinese and English
headers, kinds and limits. The template has the headers in the first row (each with a note saying
what goes in it) and drop-downs for choices and yes/no columns; data starts on row 2, so the row
numbers in a report are the ones the person sees in Excel. Headers are matched in either language
or by the column's key, in any order; blank rows are skipped. What a row *means* (which enterprise,
insert or update, idempotent by which key) is the importing area's business, not this module's.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]
from openpyxl.comments import Comment  # type: ignore[import-untyped]
from openpyxl.styles import Font, PatternFill  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet.datavalidation import DataValidation  # type: ignore[import-untyped]

from shugu.domain.errors import ValidationError
from shugu.domain.xlsx_book import Cell, Sheet, workbook

Kind = Literal["text", "int", "decimal", "date", "month", "bool", "choice"]
Lang = Literal["zh", "en"]
#: An upload larger than this many rows is refused whole: split it.
MAX_ROWS = 20_000
MAX_COLUMNS = 200
#: Excel's own limit for a cell's text.
MAX_CELL_TEXT = 32_767

_BOLD = Font(bold=True)
_REQUIRED_FILL = PatternFill("solid", fgColor="FDE9D9")
_HEAD_FILL = PatternFill("solid", fgColor="E8E8E8")
_YES = {"是", "yes", "y", "true", "1", "√", "✓"}
_NO = {"否", "no", "n", "false", "0", "×"}
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_MONTH_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，－＋", "0123456789.,-+")


@dataclass(frozen=True, slots=True)
class Choice:
    key: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    zh: str
    en: str
    kind: Kind = "text"
    required: bool = False
    choices: tuple[Choice, ...] = ()
    #: What goes in the column, shown as the header's note in the template.
    note_zh: str = ""
    note_en: str = ""
    max_length: int = 200
    minimum: float | None = None
    maximum: float | None = None

    def header(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True, slots=True)
class SheetSpec:
    name: str
    title_zh: str
    title_en: str
    columns: tuple[Column, ...]
    #: Columns whose values together name a row (USCC; USCC and month): a second row with the
    #: same key in one file is reported, not silently merged.
    key: tuple[str, ...] = ()

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)


@dataclass(frozen=True, slots=True)
class RowError:
    #: The row number as Excel shows it.
    number: int
    #: The column's key; "" for the row as a whole.
    column: str
    code: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.number,
            "column": self.column,
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


@dataclass(frozen=True, slots=True)
class SheetRow:
    number: int
    #: Every column of the spec by key: typed values, None where the cell was empty.
    values: dict[str, Any]


@dataclass(slots=True)
class SheetRead:
    rows: list[SheetRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    #: Headers in the file that name no column of the spec (ignored, and said so).
    ignored_headers: list[str] = field(default_factory=list)

    def reject(self, row: SheetRow, column: str, code: str, zh: str, en: str) -> None:
        """An importer's own refusal of a row that read well (an unknown park, say)."""
        self.errors.append(RowError(row.number, column, code, zh, en))


@dataclass(slots=True)
class ImportReport:
    """What an import did: rows new, updated and unchanged, every refused row with its reason,
    and the file's headers that name no column."""

    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [e.as_dict() for e in sorted(self.errors, key=lambda e: e.number)],
            "ignored_headers": self.ignored_headers,
        }


# -- the template ---------------------------------------------------------------------------------


def template(spec: SheetSpec, lang: Lang = "zh") -> bytes:
    """An empty XLSX for ``spec``: headers, each with its note, and drop-downs."""
    wb = Workbook()
    ws = wb.active
    ws.title = spec.name[:31]
    for index, column in enumerate(spec.columns, start=1):
        cell = ws.cell(
            row=1, column=index, value=column.header(lang) + (" *" if column.required else "")
        )
        cell.font = _BOLD
        cell.fill = _REQUIRED_FILL if column.required else _HEAD_FILL
        note = _note(column, lang)
        if note:
            cell.comment = Comment(note, "shugu", width=320, height=120)
        letter = get_column_letter(index)
        width = sum(2 if ord(ch) > 0x2E7F else 1 for ch in column.header(lang))
        ws.column_dimensions[letter].width = max(12, min(40, width + 4))
        options = _drop_down(column, lang)
        if options is not None:
            validation = DataValidation(type="list", formula1=options, allow_blank=True)
            validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            ws.add_data_validation(validation)
        if column.kind in ("text", "month"):
            # Codes such as USCCs and "2026-11" stay text instead of turning into numbers or dates.
            for row in range(2, 502):
                ws.cell(row=row, column=index).number_format = "@"
    ws.freeze_panes = "A2"
    wb.properties.title = spec.title_zh if lang == "zh" else spec.title_en
    wb.properties.creator = "shugu"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _note(column: Column, lang: Lang) -> str:
    zh = lang == "zh"
    parts = [column.note_zh if zh else column.note_en]
    kinds = {
        "text": ("文本", "text"),
        "int": ("整数", "whole number"),
        "decimal": ("数字", "number"),
        "date": ("日期，如 2026-03-01", "date, e.g. 2026-03-01"),
        "month": ("月份，如 2026-11", "month, e.g. 2026-11"),
        "bool": ("是 / 否", "yes / no"),
        "choice": ("从下拉列表选择", "pick from the list"),
    }
    parts.append(kinds[column.kind][0 if zh else 1])
    if column.required:
        parts.append("必填" if zh else "required")
    if column.choices:
        parts.append(
            "、".join(c.zh for c in column.choices)
            if zh
            else ", ".join(c.en for c in column.choices)
        )
    return "；".join(p for p in parts if p) if zh else "; ".join(p for p in parts if p)


def _drop_down(column: Column, lang: Lang) -> str | None:
    if column.kind == "bool":
        return '"是,否"' if lang == "zh" else '"yes,no"'
    if column.kind == "choice" and column.choices:
        labels = [c.zh if lang == "zh" else c.en for c in column.choices]
        text = ",".join(label.replace(",", " ").replace('"', "") for label in labels)
        # Excel keeps an inline list to 255 characters; a longer one is left to the note.
        return f'"{text}"' if len(text) <= 250 else None
    return None


# -- reading --------------------------------------------------------------------------------------


def read_sheet(data: bytes, spec: SheetSpec, *, max_rows: int = MAX_ROWS) -> SheetRead:
    """The rows of the first sheet of ``data``, typed by ``spec``; refused whole (``xlsx_*``
    codes) only when the file cannot be read, lacks a required column or is too large."""
    ws = _first_sheet(data)
    rows = _guarded(ws.iter_rows(values_only=True))
    header = _header(next(rows, None))
    positions, ignored = _match_headers(header, spec)
    missing = [c for c in spec.columns if c.required and c.key not in positions]
    if missing:
        names = "、".join(c.zh for c in missing)
        raise ValidationError(
            f"the sheet lacks required columns: {', '.join(c.key for c in missing)} ({names})",
            code="xlsx_columns_missing",
            field="file",
        )
    read = SheetRead(ignored_headers=ignored)
    seen_keys: dict[tuple[object, ...], int] = {}
    count = 0
    for number, raw in enumerate(rows, start=2):
        if raw is None or all(_blank(v) for v in raw):
            continue
        count += 1
        if count > max_rows:
            raise ValidationError(
                f"the sheet has more than {max_rows} rows; split it into several files",
                code="xlsx_too_many_rows",
                field="file",
            )
        row = _typed_row(number, raw, positions, spec, read.errors)
        if row is None:
            continue
        if spec.key:
            key = tuple(row.values.get(k) for k in spec.key)
            first = seen_keys.setdefault(key, number)
            if first != number:
                read.errors.append(
                    RowError(
                        number,
                        "",
                        "row_duplicate_key",
                        f"与第 {first} 行重复（同一{_key_names(spec, 'zh')}）",
                        f"repeats row {first} (same {_key_names(spec, 'en')})",
                    )
                )
                continue
        read.rows.append(row)
    return read


def _first_sheet(data: bytes) -> Any:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValidationError(
            "not an XLSX file (save the sheet as .xlsx and upload it again)",
            code="xlsx_unreadable",
            field="file",
        )
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        ws = wb.worksheets[0]
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ValidationError(
            f"the XLSX file cannot be read: {type(exc).__name__}",
            code="xlsx_unreadable",
            field="file",
        ) from exc
    return ws


def _guarded(rows: Iterator[tuple[object, ...]]) -> Iterator[tuple[object, ...]]:
    """The sheet's rows; the XML is parsed as they are read, so a damaged part (a character
    reference XML forbids, a truncated stream) surfaces here, and is refused like a bad file."""
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # expat, zipfile and openpyxl each raise their own kinds
            raise ValidationError(
                f"the XLSX file cannot be read: {type(exc).__name__}",
                code="xlsx_unreadable",
                field="file",
            ) from exc
        yield row


def _header(raw: Sequence[object] | None) -> list[str]:
    if raw is None:
        raise ValidationError("the sheet is empty", code="xlsx_columns_missing", field="file")
    if len(raw) > MAX_COLUMNS:
        raw = raw[:MAX_COLUMNS]
    return ["" if v is None else str(v) for v in raw]


def _normal(text: str) -> str:
    return re.sub(r"[\s*＊]+", "", text).casefold()


def _match_headers(header: list[str], spec: SheetSpec) -> tuple[dict[str, int], list[str]]:
    names: dict[str, str] = {}
    for column in spec.columns:
        for name in (column.key, column.zh, column.en):
            names[_normal(name)] = column.key
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, text in enumerate(header):
        key = names.get(_normal(text))
        if key is None:
            if text.strip():
                ignored.append(text.strip())
        elif key not in positions:
            positions[key] = index
    return positions, ignored


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _key_names(spec: SheetSpec, lang: Lang) -> str:
    return "、".join(spec.column(k).header(lang) for k in spec.key)


def _typed_row(
    number: int,
    raw: Sequence[object],
    positions: Mapping[str, int],
    spec: SheetSpec,
    errors: list[RowError],
) -> SheetRow | None:
    values: dict[str, Any] = {}
    ok = True
    for column in spec.columns:
        index = positions.get(column.key)
        cell = raw[index] if index is not None and index < len(raw) else None
        if _blank(cell):
            values[column.key] = None
            if column.required:
                ok = False
                errors.append(
                    RowError(
                        number,
                        column.key,
                        "cell_required",
                        f"「{column.zh}」必填",
                        f"'{column.en}' is required",
                    )
                )
            continue
        try:
            values[column.key] = _typed(cell, column)
        except _CellError as bad:
            ok = False
            errors.append(RowError(number, column.key, bad.code, bad.zh, bad.en))
    return SheetRow(number, values) if ok else None


class _CellError(Exception):
    def __init__(self, column: Column, code: str, zh: str, en: str) -> None:
        super().__init__(code)
        self.code = code
        self.zh = f"「{column.zh}」{zh}"
        self.en = f"'{column.en}' {en}"


def _text(cell: object) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.date().isoformat() if cell.time() == datetime.min.time() else cell.isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell).strip()


def _typed(cell: object, column: Column) -> object:
    kind = column.kind
    if kind == "text":
        text = _text(cell)
        if len(text) > min(column.max_length, MAX_CELL_TEXT):
            raise _CellError(
                column,
                "cell_too_long",
                f"超过 {column.max_length} 个字符",
                f"is longer than {column.max_length} characters",
            )
        return text
    if kind in ("int", "decimal"):
        return _number(cell, column)
    if kind == "date":
        return _date(cell, column)
    if kind == "month":
        return _month(cell, column)
    if kind == "bool":
        return _bool(cell, column)
    return _choice(cell, column)


def _number(cell: object, column: Column) -> int | float:
    value: float
    if isinstance(cell, bool):
        raise _CellError(column, "cell_not_number", "应为数字", "should be a number")
    if isinstance(cell, int | float):
        value = float(cell)
    else:
        text = str(cell).strip().translate(_FULL_WIDTH).replace(",", "").replace(" ", "")
        try:
            value = float(Decimal(text))
        except (InvalidOperation, ValueError):
            raise _CellError(
                column,
                "cell_not_number",
                f"应为数字（读到「{text[:40]}」）",
                f"should be a number (read '{text[:40]}')",
            ) from None
    if not math.isfinite(value):
        raise _CellError(column, "cell_not_number", "应为数字", "should be a number")
    if column.kind == "int" and not value.is_integer():
        raise _CellError(column, "cell_not_integer", "应为整数", "should be a whole number")
    if column.minimum is not None and value < column.minimum:
        raise _CellError(
            column,
            "cell_out_of_range",
            f"不应小于 {column.minimum:g}",
            f"should be at least {column.minimum:g}",
        )
    if column.maximum is not None and value > column.maximum:
        raise _CellError(
            column,
            "cell_out_of_range",
            f"不应大于 {column.maximum:g}",
            f"should be at most {column.maximum:g}",
        )
    return int(value) if column.kind == "int" else value


def _date(cell: object, column: Column) -> date:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    match = _DATE_RE.match(str(cell).strip().translate(_FULL_WIDTH))
    if match is not None:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise _CellError(
        column, "cell_not_date", "应为日期，如 2026-03-01", "should be a date such as 2026-03-01"
    )


def _month(cell: object, column: Column) -> str:
    if isinstance(cell, date):
        return f"{cell.year:04d}-{cell.month:02d}"
    match = _MONTH_RE.match(str(cell).strip().translate(_FULL_WIDTH))
    if match is not None and 1 <= int(match[2]) <= 12 and 1900 < int(match[1]) < 2200:
        return f"{int(match[1]):04d}-{int(match[2]):02d}"
    raise _CellError(
        column, "cell_not_month", "应为月份，如 2026-11", "should be a month such as 2026-11"
    )


def _bool(cell: object, column: Column) -> bool:
    if isinstance(cell, bool):
        return cell
    text = _text(cell).casefold()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise _CellError(column, "cell_not_bool", "应为“是”或“否”", "should be yes or no")


def _choice(cell: object, column: Column) -> str:
    text = _normal(_text(cell))
    for choice in column.choices:
        if text in (_normal(choice.key), _normal(choice.zh), _normal(choice.en)):
            return choice.key
    listed = "、".join(c.zh for c in column.choices[:12])
    return_en = ", ".join(c.en for c in column.choices[:12])
    raise _CellError(
        column, "cell_not_choice", f"应为以下之一：{listed}", f"should be one of: {return_en}"
    )


def report_rows(read: SheetRead) -> Iterator[dict[str, object]]:
    """The errors of a read as plain dicts, in row order (for an answer or a page)."""
    for error in sorted(read.errors, key=lambda e: (e.number, e.column)):
        yield error.as_dict()


def write_table(
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Cell]],
    lang: Lang = "zh",
    *,
    info: Sequence[str] = (),
) -> bytes:
    """One table as an XLSX export: the columns' headers in ``lang``, rows by column key; text
    never runs as a formula (``domain/xlsx_book.py``)."""
    sheet = Sheet(
        title=title,
        info=info,
        headers=[c.header(lang) for c in columns],
        rows=[[row.get(c.key) for c in columns] for row in rows],
    )
    return workbook(title, [sheet])
