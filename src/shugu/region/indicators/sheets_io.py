"""Indicator values by XLSX: the template (reported indicators in a drop-down), the import with
every bad row reported by its Excel row number and every good row kept (idempotent: keyed by
indicator and period, a re-import changes nothing), and the targets-vs-actual table exported."""

from __future__ import annotations

from typing import Final

from shugu.analytics.periods import local
from shugu.domain.errors import ShuguError
from shugu.domain.xlsx_book import Cell
from shugu.region.indicators.board import Board
from shugu.region.indicators.definitions import MAX_MAGNITUDE, MAX_NOTE
from shugu.region.indicators.periods import parse_period
from shugu.region.sheets import (
    Choice,
    Column,
    ImportReport,
    Lang,
    SheetSpec,
    read_sheet,
    template,
    write_table,
)
from shugu.store.registry import Registry
from shugu.store.registry.region_indicators import IndicatorRecord

SHEET_NAME: Final = "indicator-values"


def values_spec(indicators: list[IndicatorRecord]) -> SheetSpec:
    """The sheet of reported values: the bureau's reported indicators are its choices."""
    choices = tuple(
        Choice(i.code, i.name_zh, i.name_en) for i in indicators if i.computation is None
    )
    return SheetSpec(
        SHEET_NAME,
        "指标数据",
        "Indicator values",
        (
            Column(
                "indicator",
                "指标",
                "indicator",
                "choice",
                required=True,
                choices=choices,
                note_zh="只列报送类指标；平台计算的指标不必填报",
                note_en="reported indicators only; computed ones are not entered",
            ),
            Column(
                "period",
                "期间",
                "period",
                "text",
                required=True,
                max_length=16,
                note_zh="月份如 2026-03，年度如 2026",
                note_en="a month such as 2026-03, or a year such as 2026",
            ),
            Column(
                "value",
                "数值",
                "value",
                "decimal",
                required=True,
                minimum=-MAX_MAGNITUDE,
                maximum=MAX_MAGNITUDE,
                note_zh="按指标的计量单位填写（金额为万元）",
                note_en="in the indicator's unit (money in 10k yuan)",
            ),
            Column("note", "备注", "note", "text", max_length=MAX_NOTE),
        ),
        key=("indicator", "period"),
    )


def values_template(indicators: list[IndicatorRecord], lang: Lang) -> bytes:
    return template(values_spec(indicators), lang)


def import_values(
    registry: Registry, indicators: list[IndicatorRecord], data: bytes, by: str
) -> ImportReport:
    """Every good row stored (a value already there with the same figure and note counts as
    unchanged); ``xlsx_unreadable`` if the upload is no workbook."""
    read = read_sheet(data, values_spec(indicators))
    report = ImportReport(ignored_headers=list(read.ignored_headers))
    by_code = {i.code: i for i in indicators}
    wanted = [by_code[str(r.values["indicator"])] for r in read.rows]
    known = {
        (v.indicator_id, v.period): v
        for v in registry.indicator_values([i.id for i in wanted], "0000", "9999-99")
    }
    for row in read.rows:
        indicator = by_code[str(row.values["indicator"])]
        try:
            key = parse_period(row.values["period"])
        except ShuguError as error:
            read.reject(
                row,
                "period",
                error.code,
                "期间应为月份（如 2026-03）或年度（如 2026）",
                error.message,
            )
            continue
        value = float(row.values["value"])
        note = str(row.values.get("note") or "")
        before = known.get((indicator.id, key.text))
        if before is not None and before.value == value and before.note == note:
            report.unchanged += 1
            continue
        registry.put_indicator_value(
            indicator.id, key.text, value, kind="reported", by=by, note=note
        )
        if before is None:
            report.imported += 1
        else:
            report.updated += 1
    report.errors = list(read.errors)
    return report


BOARD_COLUMNS: Final = (
    Column("code", "代码", "code"),
    Column("name", "指标", "indicator"),
    Column("unit", "单位", "unit"),
    Column("source", "来源", "source"),
    Column("baseline", "基数", "baseline", "decimal"),
    Column("target", "目标", "target", "decimal"),
    Column("actual", "实际", "actual", "decimal"),
    Column("progress_pct", "完成进度（%）", "progress (%)", "decimal"),
    Column("expected_pct", "时间进度（%）", "time elapsed (%)", "decimal"),
    Column("on_track", "是否达到进度", "on track", "bool"),
)

_SOURCE = {"computed": ("平台计算", "computed"), "reported": ("报送", "reported")}


def _rounded(value: float | None, decimals: int) -> float | None:
    return None if value is None else round(value, decimals)


def export_board(board: Board, lang: Lang) -> bytes:
    rows: list[dict[str, Cell]] = []
    for row in board.rows:
        i = row.indicator
        zh = lang == "zh"
        rows.append(
            {
                "code": i.code,
                "name": i.name_zh if zh else i.name_en,
                "unit": i.unit_zh if zh else i.unit_en,
                "source": _SOURCE[i.source][0 if zh else 1],
                "baseline": None if row.target is None else row.target.baseline,
                "target": None if row.target is None else row.target.target,
                "actual": _rounded(row.actual.value, i.decimals),
                "progress_pct": None
                if row.progress is None or row.progress.share is None
                else round(100 * row.progress.share, 1),
                "expected_pct": None
                if row.progress is None
                else round(100 * row.progress.expected, 1),
                "on_track": None if row.progress is None else row.progress.on_track,
            }
        )
    as_of = local(board.as_of_ms).strftime("%Y-%m-%d %H:%M")
    title = f"{board.year}年目标完成情况" if lang == "zh" else f"Targets {board.year}"
    info = [f"截至 {as_of}" if lang == "zh" else f"as of {as_of}"]
    return write_table(title, BOARD_COLUMNS, rows, lang, info=info)
