"""KPI tables as rows and XLSX workbooks: bilingual headers with units, numbers as number cells
with their formats, undefined figures as empty cells, names that look like formulas kept as text,
and the rows of league tables, comparisons, energy and savings as the console and the API show
them."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from shugu.analytics.baseline import MonthlySavings, MonthSavings, SavingsFigures
from shugu.analytics.definitions import load_kpis
from shugu.analytics.energy import EnergyTable
from shugu.analytics.kpi_export import header_row, number_format, sheet_name, xlsx_rows
from shugu.analytics.kpi_rows import (
    Column,
    Rows,
    change_pct,
    comparison_rows,
    energy_rows,
    fact_rows,
    kpi_table_rows,
    league_rows,
    profile_labels,
    ranking,
    savings_rows,
)
from shugu.analytics.periods import Period
from shugu.analytics.query import Comparison, Group, KpiQuery, KpiTable, League
from shugu.domain.timeutil import parse_instant

LOOM = load_kpis()["loom"]
EFFICIENCY = LOOM.kpi_index["efficiency"]
KWH_PER_M = LOOM.kpi_index["kwh_per_m"]
T0 = parse_instant("2026-11-10T08:00", "t")
H = 3_600_000
HOURS = [Period(T0, T0 + H, "11-10 08:00"), Period(T0 + H, T0 + 2 * H, "11-10 09:00")]
NAUGHTY = '=HYPERLINK("http://x","open")'


def sheet(content: bytes, index: int = 0) -> Any:
    return load_workbook(io.BytesIO(content)).worksheets[index]


def values(ws: Any) -> list[tuple[Any, ...]]:
    return list(ws.iter_rows(values_only=True))


def test_a_sheet_has_a_title_notes_two_header_rows_and_typed_cells() -> None:
    rows = Rows(
        "织机指标",
        "Loom KPIs",
        (
            Column("name", "机台", "Machine", kind="text"),
            Column("id", "编号", "ID", kind="integer", decimals=0),
            Column("at", "开始", "Start", "UTC+8", kind="datetime"),
            Column("eff", "织机效率", "Loom efficiency", "%", decimals=2),
            Column("picks", "纬纱数", "Picks", "pick", decimals=0),
        ),
        (
            ("loom-002", 7, datetime(2026, 11, 10, 8), 91.666, 66_000.0),
            (NAUGHTY, 8, datetime(2026, 11, 10, 9), None, 0.0),
            ("bell\x07 loom", 9, None, 50.0, 12.5),
        ),
        ("期间 Span: 2026-11-10 08:00 – 10:00 (UTC+8)",),
    )
    ws = sheet(xlsx_rows([rows]))
    top = header_row(rows)
    got = values(ws)
    assert got[0][0] == "织机指标 · Loom KPIs"
    assert got[1][0].startswith("期间 Span")
    assert got[top - 1] == ("机台", "编号", "开始 (UTC+8)", "织机效率 (%)", "纬纱数 (pick)")
    assert got[top] == ("Machine", "ID", "Start (UTC+8)", "Loom efficiency (%)", "Picks (pick)")
    first, naughty, bell = (ws[top + 2], ws[top + 3], ws[top + 4])
    assert [c.value for c in first] == ["loom-002", 7, datetime(2026, 11, 10, 8), 91.666, 66_000]
    assert first[3].data_type == "n" and first[3].number_format == "#,##0.00"
    assert first[4].number_format == "#,##0" and first[1].number_format == "0"
    assert first[2].is_date and first[2].number_format == "yyyy-mm-dd hh:mm"
    # A name that is a formula stays text, marked so that editing it keeps it text.
    assert naughty[0].value == NAUGHTY and naughty[0].data_type == "s"
    assert naughty[0].quotePrefix
    # Undefined: an empty cell, which a chart skips, not a dash it would draw as zero.
    assert naughty[3].value is None
    assert bell[0].value == "bell loom"
    assert ws.freeze_panes == f"A{top + 2}"
    assert ws.auto_filter.ref == f"A{top + 1}:E{top + 4}"


def test_sheet_names_are_valid_and_distinct() -> None:
    taken: set[str] = set()
    assert sheet_name("a/b:c*d?[e]", taken) == "a_b_c_d__e_"
    assert sheet_name("A_B_C_D__E_", taken) == "A_B_C_D__E_ (2)"
    assert sheet_name("History", taken) == "History (2)"
    assert len(sheet_name("长" * 40, taken)) == 31
    empty = Rows("表", "Table", (), ())
    book = load_workbook(io.BytesIO(xlsx_rows([empty, empty])))
    assert book.sheetnames == ["表", "表 (2)"]


def test_number_formats_follow_the_column() -> None:
    assert number_format(Column("x", "x", "x", decimals=3)) == "#,##0.000"
    assert number_format(Column("x", "x", "x", kind="integer")) == "0"
    assert number_format(Column("x", "x", "x", kind="datetime")) == "yyyy-mm-dd hh:mm"


def table(level: str = "device") -> KpiTable:
    groups = [
        Group("device", 7, "loom-002", 1, 1),
        Group("device", 8, NAUGHTY, 1, 1),
    ]
    kpis = {
        "efficiency": np.array([[83.3333, 100.0], [np.nan, np.nan]]),
        "kwh_per_m": np.array([[0.6, 0.5], [np.nan, np.inf]]),
    }
    facts = {"run_s": np.array([[3000.0, 3600.0], [0.0, 0.0]]), "planned_s": np.zeros((2, 2))}
    query = KpiQuery("loom", T0, T0 + 2 * H, "device", "hour")
    return KpiTable(query, groups, HOURS, facts, kpis, (EFFICIENCY, KWH_PER_M))


def test_a_kpi_table_is_one_row_per_group_and_period() -> None:
    zh, en = profile_labels("loom")
    rows = kpi_table_rows(table(), zh, en)
    assert (rows.title_zh, rows.title_en) == ("织机指标", "Loom KPIs")
    assert [c.header("zh") for c in rows.columns] == [
        "机台",
        "编号",
        "期间",
        "开始 (UTC+8)",
        "织机效率 (%)",
        "单位米布电耗 (kWh/m)",
    ]
    assert [c.decimals for c in rows.columns[4:]] == [2, 3]
    assert rows.rows[0] == ("loom-002", 7, "11-10 08:00", datetime(2026, 11, 10, 8), 83.3333, 0.6)
    # NaN and infinity are undefined: None.
    assert rows.rows[3][4:] == (None, None)
    facts = fact_rows(table(), LOOM, zh, en)
    assert [c.header("en") for c in facts.columns[4:]] == ["planned_s (s)", "run_s (s)"]
    assert facts.rows[1][4:] == (0.0, 3600.0)
    ws = sheet(xlsx_rows([rows, facts]))
    assert ws[header_row(rows) + 2][4].value == pytest.approx(83.3333)


def test_a_league_ranks_best_first_and_lists_the_undefined_last() -> None:
    a, b, c = (Group("enterprise", i, n, 3, i) for i, n in ((1, "甲"), (2, "乙"), (3, "丙")))
    league = League(EFFICIENCY, [(a, 90.0)], [(b, 50.0)], [(a, 90.0), (b, 50.0)], [c])
    assert [(r.rank, r.group.name, r.value) for r in ranking(league)] == [
        (1, "甲", 90.0),
        (2, "乙", 50.0),
        (None, "丙", None),
    ]
    rows = league_rows(league, "enterprise", T0, T0 + H)
    assert rows.rows == ((1, "甲", 1, 90.0), (2, "乙", 2, 50.0), (None, "丙", 3, None))
    assert "越高越好" in rows.notes[1]


def first_hour(t: KpiTable) -> KpiTable:
    kpis = {k: v[:, :1] for k, v in t.kpis.items()}
    return KpiTable(t.query, t.groups, HOURS[:1], t.facts, kpis, t.specs)


def test_a_comparison_shows_changes_on_the_span_before_and_last_year() -> None:
    now = table()
    before = KpiTable(
        now.query,
        now.groups[:1],
        HOURS[:1],
        {},
        {"efficiency": np.array([[75.0]]), "kwh_per_m": np.array([[0.0]])},
        now.specs,
    )
    empty = KpiTable(now.query, [], HOURS[:1], {}, {"efficiency": np.zeros((0, 1))}, now.specs)
    rows = comparison_rows(Comparison(first_hour(now), before, empty), "织机", "Loom")
    efficiency = rows.rows[0]
    assert efficiency[:5] == ("loom-002", 7, "织机效率", "Loom efficiency", "%")
    assert efficiency[5:9] == pytest.approx((83.3333, 75.0, 8.3333, 8.3333 / 75 * 100))
    assert efficiency[9:] == (None, None, None)
    # From zero, no relative change can be told.
    per_metre = rows.rows[1]
    assert per_metre[5:9] == (0.6, 0.0, 0.6, None)
    assert change_pct(5.0, -10.0) == pytest.approx(150.0)


def test_energy_and_savings_rows() -> None:
    line = Group("line", 12, "一车间", 3)
    energy = EnergyTable(
        [line],
        HOURS[:1],
        np.array([[60.0]]),
        np.array([[43.0]]),
        np.array([[60 / 43]]),
        np.zeros((1, 1)),
        np.zeros((1, 1)),
        np.array([[np.nan]]),
        ["m"],
        ["loom"],
    )
    rows = energy_rows(energy, "line", T0, T0 + H)
    assert rows.rows[0][4:] == (60.0, 43.0, "m", pytest.approx(60 / 43), 0.0, 0.0, None)
    figures = dict(
        baseline_kwh=1000.0,
        actual_kwh=900.0,
        avoided_kwh=100.0,
        savings_pct=10.0,
        days_with_data=7,
        days_left_out=23,
        days_outside_reference=1,
    )
    monthly = MonthlySavings(
        (MonthSavings(**figures, month="2026-11", start_ms=T0),),
        SavingsFigures(**figures),
        "m",
        False,
    )
    saved = savings_rows(monthly, "甲纺织")
    assert saved.rows == (
        ("2026-11", 1000.0, 900.0, 100.0, 10.0, 7, 23, 1),
        ("合计 Total", 1000.0, 900.0, 100.0, 10.0, 7, 23, 1),
    )
    ws = sheet(xlsx_rows([saved]))
    assert ws[header_row(saved) + 2][5].value == 7
