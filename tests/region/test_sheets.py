"""XLSX imports: a template reads back, every bad cell is reported by the row Excel shows, good
rows are kept, and files that are not spreadsheets are refused with a code."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]

from shugu.domain.errors import ValidationError
from shugu.region.sheets import (
    Choice,
    Column,
    SheetSpec,
    read_sheet,
    template,
    write_table,
)

SPEC = SheetSpec(
    name="monthly",
    title_zh="月度报表",
    title_en="Monthly reports",
    columns=(
        Column("uscc", "统一社会信用代码", "USCC", required=True, max_length=18),
        Column("month", "月份", "Month", kind="month", required=True),
        Column(
            "output_wan", "工业总产值（万元）", "Output value (10k yuan)", kind="decimal", minimum=0
        ),
        Column("staff", "从业人员", "Staff", kind="int", minimum=0),
        Column("key", "重点企业", "Key enterprise", kind="bool"),
        Column("opened", "成立日期", "Established", kind="date"),
        Column(
            "size",
            "规模",
            "Size",
            kind="choice",
            choices=(Choice("large", "大型", "large"), Choice("small", "小型", "small")),
        ),
    ),
    key=("uscc", "month"),
)


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_the_template_has_every_header_and_reads_back_empty() -> None:
    data = template(SPEC, "zh")
    ws = load_workbook(io.BytesIO(data)).active
    headers = [c.value for c in ws[1]]
    assert headers[0] == "统一社会信用代码 *" and headers[2] == "工业总产值（万元）"
    read = read_sheet(data, SPEC)
    assert read.rows == [] and read.errors == []
    assert read_sheet(template(SPEC, "en"), SPEC).errors == []


def test_good_rows_are_typed_and_bad_ones_reported_by_row_number() -> None:
    data = _xlsx(
        [
            [
                "Month",
                "统一社会信用代码",
                "工业总产值（万元）",
                "Staff",
                "重点企业",
                "成立日期",
                "规模",
                "备注",
            ],
            ["2026-11", "91350100M000100Y43", "1,234.5", 120, "是", "2019/3/1", "大型", "x"],
            [None, None, None, None, None, None, None, None],
            ["2026年10月", "91350100M000100Y43", -5, 12.5, "maybe", "tomorrow", "huge", ""],
            [
                datetime(2026, 9, 1),
                "91350100M000100Y43",
                10,
                3,
                False,
                date(2020, 1, 2),
                "small",
                "",
            ],
            ["2026-11", "91350100M000100Y43", 1, 1, "否", None, None, ""],
            ["2026-13", None, "abc", None, None, None, None, ""],
        ]
    )
    read = read_sheet(data, SPEC)
    assert [r.number for r in read.rows] == [2, 5]
    first = read.rows[0].values
    assert first == {
        "uscc": "91350100M000100Y43",
        "month": "2026-11",
        "output_wan": 1234.5,
        "staff": 120,
        "key": True,
        "opened": date(2019, 3, 1),
        "size": "large",
    }
    assert read.rows[1].values["month"] == "2026-09" and read.rows[1].values["size"] == "small"
    by_row: dict[int, set[str]] = {}
    for error in read.errors:
        by_row.setdefault(error.number, set()).add(error.code)
    assert by_row == {
        4: {
            "cell_out_of_range",
            "cell_not_integer",
            "cell_not_bool",
            "cell_not_date",
            "cell_not_choice",
        },
        6: {"row_duplicate_key"},
        7: {"cell_not_month", "cell_required", "cell_not_number"},
    }
    assert read.ignored_headers == ["备注"]
    assert all(e.message_zh and e.message_en for e in read.errors)


def test_a_missing_required_column_refuses_the_file_and_names_it() -> None:
    with pytest.raises(ValidationError) as caught:
        read_sheet(_xlsx([["Month", "Staff"], ["2026-11", 3]]), SPEC)
    assert caught.value.code == "xlsx_columns_missing" and "uscc" in caught.value.message


@pytest.mark.parametrize("data", [b"", b"uscc,month\n1,2\n", b"PK\x03\x04broken zip"])
def test_what_is_not_an_xlsx_file_is_refused(data: bytes) -> None:
    with pytest.raises(ValidationError) as caught:
        read_sheet(data, SPEC)
    assert caught.value.code == "xlsx_unreadable"


def test_a_sheet_whose_xml_is_damaged_is_refused_not_crashed_on() -> None:
    good = _xlsx([["USCC", "Month"], ["91350100M000100Y43", "2026-11"]])
    damaged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as zin, zipfile.ZipFile(damaged, "w") as zout:
        for item in zin.infolist():
            content = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                # A character reference XML forbids (a lone surrogate).
                content = content.replace(b"<v>", b"<v>&#xD800;", 1).replace(
                    b"<t>", b"<t>&#xD800;", 1
                )
            zout.writestr(item, content)
    with pytest.raises(ValidationError) as caught:
        read_sheet(damaged.getvalue(), SPEC)
    assert caught.value.code == "xlsx_unreadable"


def test_too_many_rows_are_refused_whole() -> None:
    rows: list[list[object]] = [["USCC", "Month"]]
    rows += [[f"U{i}", "2026-11"] for i in range(12)]
    with pytest.raises(ValidationError) as caught:
        read_sheet(_xlsx(rows), SPEC, max_rows=10)
    assert caught.value.code == "xlsx_too_many_rows"


CELLS = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=7, max_size=7), max_size=8))
def test_any_cells_give_rows_or_row_errors_never_a_crash(cells: list[list[object]]) -> None:
    header: list[object] = [c.zh for c in SPEC.columns]
    # openpyxl refuses control characters on write: Excel files cannot hold them.
    clean = [
        [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in r] for r in cells
    ]
    data = _xlsx([header, *clean])
    read = read_sheet(data, SPEC)
    numbers = {r.number for r in read.rows} | {e.number for e in read.errors}
    assert numbers <= set(range(2, len(cells) + 2))
    assert not {r.number for r in read.rows} & {e.number for e in read.errors}


def test_an_export_keeps_numbers_and_makes_formulas_inert() -> None:
    columns = SPEC.columns[:3]
    data = write_table(
        "月度报表",
        columns,
        [{"uscc": '=HYPERLINK("x")', "month": "2026-11", "output_wan": 12.5}],
    )
    ws = load_workbook(io.BytesIO(data)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    header_at = next(i for i, row in enumerate(values) if row[0] == "统一社会信用代码")
    assert values[header_at + 1][2] == 12.5
    cell = ws.cell(row=header_at + 2, column=1)
    assert cell.data_type == "s" and cell.quotePrefix
