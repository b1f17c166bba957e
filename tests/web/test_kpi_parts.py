"""What the KPI pages are built of, without a server: the period picker's spans, changes and
their tones, tables sorted worst first with undefined values last and the far-worse marked, the
ISO 22400 losses of a waterfall, the stop Pareto, the boards file checked against the profiles,
and chart options that are plain JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

import numpy as np
import pytest

from shugu.analytics.calendar import CalendarVersion, PlannedClock, Shift, ShiftCalendar
from shugu.analytics.definitions import load_kpis
from shugu.analytics.model import KpiSpec
from shugu.analytics.periods import Period, instant, local
from shugu.analytics.query import Group, KpiQuery, KpiTable
from shugu.web.i18n import Translator
from shugu.web.kpi_boards import boards, read_boards
from shugu.web.kpi_charts import energy_per_unit, stop_pareto, waterfall
from shugu.web.kpi_energy import EnergyTrend
from shugu.web.kpi_links import PageState, table_xlsx
from shugu.web.kpi_periods import choose_span, clip_to_now
from shugu.web.kpi_view import change, group_table, kpi_text, losses, pareto

# Wednesday 2026-01-14 10:30 China time.
NOW = instant(datetime(2026, 1, 14, 10, 30))
HOUR = 3_600_000


def span_days(key: str, **more: str) -> tuple[str, str]:
    span = choose_span(key, more.get("start"), more.get("end"), NOW).span
    return span.first_day, span.last_day


def test_calendar_periods_are_whole_and_in_china_time() -> None:
    assert span_days("today") == ("2026-01-14", "2026-01-14")
    assert span_days("yesterday") == ("2026-01-13", "2026-01-13")
    assert span_days("week") == ("2026-01-12", "2026-01-18")  # Monday to Sunday
    assert span_days("month") == ("2026-01-01", "2026-01-31")
    # Last month of a January is the December before.
    assert span_days("last_month") == ("2025-12-01", "2025-12-31")
    span = choose_span("today", None, None, NOW).span
    assert local(span.start_ms).hour == 0 and span.end_ms - span.start_ms == 24 * HOUR
    assert span_days("custom", start="2025-12-30", end="2026-01-02") == (
        "2025-12-30",
        "2026-01-02",
    )


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2026-01-10", "2026-01-01", "end"),
        ("2024-01-01", "2025-01-02", "end"),  # 368 days
        ("", "2026-01-01", "start"),
        ("x", "2026-01-01", "start"),
        ("2026-01-01", "2026-02-30", "end"),
        ("1999-12-31", "2000-01-01", "start"),
    ],
)
def test_bad_days_fall_back_to_today_with_the_reason(start: str, end: str, field: str) -> None:
    choice = choose_span("custom", start, end, NOW)
    assert field in choice.problems
    assert choice.span.key == "today"


def test_an_unknown_period_or_a_shift_without_a_calendar_is_a_problem() -> None:
    assert "period" in choose_span("fortnight", None, None, NOW).problems
    assert "period" in choose_span("shift", None, None, NOW).problems


def clock_for(shifts: tuple[Shift, ...]) -> Callable[[int, int], PlannedClock]:
    calendar = ShiftCalendar(shifts=shifts)

    def clock(start: int, end: int) -> PlannedClock:
        return PlannedClock([CalendarVersion(date(2020, 1, 1), calendar)], start, end)

    return clock


def test_this_shift_is_the_one_running_or_the_last_that_ended() -> None:
    two = clock_for((Shift("白班", 8 * 60, 20 * 60), Shift("夜班", 20 * 60, 8 * 60)))
    span = choose_span("shift", None, None, NOW, two).span
    assert span.shift_label == "2026-01-14 白班"
    assert (local(span.start_ms).hour, local(span.end_ms).hour) == (8, 20)
    # At 03:00 the night shift that began the evening before is running.
    night = choose_span("shift", None, None, NOW - 7 * HOUR - HOUR // 2, two).span
    assert night.shift_label == "2026-01-13 夜班"
    # Between shifts (only a morning shift), the last one is shown.
    morning = clock_for((Shift("早班", 6 * 60, 10 * 60),))
    last = choose_span("shift", None, None, NOW, morning).span
    assert last.shift_label == "2026-01-14 早班" and last.end_ms < NOW


def test_a_trend_ends_with_the_step_holding_now() -> None:
    start = instant(datetime(2026, 1, 14))
    assert clip_to_now(start, start + 24 * HOUR, NOW, HOUR) == (start, start + 11 * HOUR)
    assert clip_to_now(start, start + 48 * HOUR, NOW, 24 * HOUR) == (start, start + 24 * HOUR)


def spec(unit: str = "%", better: str | None = "higher") -> KpiSpec:
    return replace(load_kpis()["loom"].kpi_index["efficiency"], unit=unit, better=better)


def test_changes_are_points_for_percentages_and_relative_otherwise() -> None:
    tr = Translator("en")
    up = change(90.0, 85.5, spec())
    assert (up.text(tr), up.tone) == ("+4.5 pp", "good")
    assert Translator("zh-CN")("{value} pp", value="+4.5") == "+4.5 个百分点"
    dearer = change(0.22, 0.2, spec("kWh/m", "lower"))
    assert (dearer.text(tr), dearer.tone) == ("+10.0%", "bad")
    assert change(5.0, math.nan, spec()).text(tr) == "—"
    assert change(5.0, 0.0, spec("kWh")).tone == "none"
    assert change(5.0, 4.0, spec("kWh", None)).tone == "flat"
    assert change(0.2, 0.20001, spec("kWh/m", "lower")).text(tr) == "0.0%"
    assert kpi_text(100.0, "%") == "100.00"
    assert [kpi_text(v) for v in (1234.5, 96.15, 0.98412, 0.0, math.nan)] == [
        "1,234",
        "96.15",
        "0.984",
        "0",
        "—",
    ]


def table_of(
    values: dict[str, list[float]], facts: dict[str, list[float]] | None = None
) -> KpiTable:
    n = len(next(iter(values.values())))
    groups = [Group("device", i + 1, f"织机 {i + 1:03d}", 1, 1) for i in range(n)]
    query = KpiQuery("loom", 0, HOUR, "device")
    kpis = {k: np.array(v, np.float64)[:, None] for k, v in values.items()}
    sums = {k: np.array(v, np.float64)[:, None] for k, v in (facts or {}).items()}
    return KpiTable(query, groups, [Period(0, HOUR, "x")], sums, kpis)


def test_tables_sort_worst_first_undefined_last_and_mark_the_far_worse() -> None:
    board = boards().by_profile["loom"]
    table = table_of({"efficiency": [96.0, math.nan, 83.0, 97.5]})
    shown = group_table(
        board,
        table,
        ("efficiency",),
        sort=None,
        order=None,
        lang="zh-CN",
        url_of=lambda g: f"/x/{g.id}",
        whole=95.0,
        outlier_pct=8.0,
    )
    assert (shown.sort, shown.order) == ("efficiency", "asc")
    assert [r.group.id for r in shown.rows] == [3, 1, 4, 2]
    assert [r.outlier for r in shown.rows] == [True, False, False, False]
    descending = group_table(
        board,
        table,
        ("efficiency",),
        sort="efficiency",
        order="desc",
        lang="en",
        url_of=lambda g: None,
    )
    assert [r.group.id for r in descending.rows] == [4, 1, 3, 2]
    by_name = group_table(
        board,
        table,
        ("efficiency",),
        sort="nonsense",
        order="sideways",
        lang="en",
        url_of=lambda g: None,
    )
    assert by_name.sort == "efficiency" and by_name.order == "asc"


def test_the_losses_add_up_to_planned_time() -> None:
    # Planned 8 h, running 6 h, 54 000 picks where 600 rpm × 6 h would give 216 000: 25 %.
    table = table_of(
        {"oee": [0.0]},
        {
            "planned_s": [8 * 3600],
            "apt_s": [6 * 3600],
            "produced_q": [54_000],
            "ideal_q": [216_000],
        },
    )
    lost = losses(table)
    assert lost is not None
    assert (lost.planned_h, lost.availability_h, lost.performance_h) == (8.0, 2.0, 4.5)
    assert (lost.quality_h, lost.effective_h) == (0.0, 1.5)
    option = waterfall(lost, Translator("en"))
    assert option["series"][0]["data"] == [0.0, 6.0, 1.5, 1.5, 0.0]
    assert [d["value"] for d in option["series"][1]["data"]] == [8.0, 2.0, 4.5, 0.0, 1.5]
    json.dumps(option, allow_nan=False)
    assert losses(table_of({"oee": [0.0]}, {"planned_s": [0.0]})) is None


def test_the_pareto_puts_the_most_stops_first_with_the_cumulative_share() -> None:
    board = boards().by_profile["loom"]
    facts = {
        "warp_stops": [12.0],
        "weft_stops": [3.0],
        "mechanical_stops": [1.0],
        "other_stops": [4.0],
        "warp_stop_s": [1200.0],
        "weft_stop_s": [300.0],
        "mechanical_stop_s": [600.0],
        "other_stop_s": [0.0],
    }
    bars = pareto(board, table_of({"efficiency": [0.0]}, facts), "zh-CN")
    assert [b.label for b in bars] == ["经停", "其他", "纬停", "机械电气"]
    assert [b.cumulative_pct for b in bars] == [60.0, 80.0, 95.0, 100.0]
    assert bars[0].minutes == 20.0
    option = stop_pareto(bars, Translator("zh-CN"))
    assert option["series"][0]["data"] == [12, 4, 3, 1]
    quiet = {k: [0.0] for k in facts}
    assert pareto(board, table_of({"efficiency": [0.0]}, quiet), "en") == []


def test_the_boards_name_only_kpis_and_facts_of_their_profiles() -> None:
    shipped = boards()
    assert list(shipped.by_profile)[:2] == ["loom", "cooling_tower"]
    loom = shipped.by_profile["loom"]
    assert loom.has_waterfall and not shipped.by_profile["cooling_tower"].has_waterfall
    figure = loom.values(
        table_of(
            {"efficiency": [0.0]},
            {
                "warp_stops": [3.0],
                "weft_stops": [1.0],
                "mechanical_stops": [0.0],
                "other_stops": [1.0],
                "picks": [250_000.0],
            },
        ),
        "stops_per_1e5",
    )
    assert figure[0, 0] == 2.0
    text = "outlier_pct: 8\nboards:\n  loom: {headline: [speed], table: [], rank_by: efficiency,"
    text += " league: [], shift_table: [], hour_trend: efficiency}\n"
    with pytest.raises(ValueError, match="speed"):
        read_boards(text, load_kpis())
    with pytest.raises(ValueError, match="no KPI file"):
        read_boards(text.replace("loom:", "toaster:"), load_kpis())


def test_links_keep_the_period_and_exports_name_the_api_parameters() -> None:
    state = PageState("/e/1/kpi", "custom", "2026-01-01", "2026-01-31", "loom", "oee", "asc")
    assert state.url(sort="name", order="desc") == (
        "/e/1/kpi?period=custom&start=2026-01-01&end=2026-01-31&profile=loom&sort=name&order=desc"
    )
    assert state.elsewhere("/e/1/kpi/devices/7") == (
        "/e/1/kpi/devices/7?period=custom&start=2026-01-01&end=2026-01-31"
    )
    assert state.sorted_by("oee", "oee", "asc", "asc").endswith("sort=oee&order=desc")
    # Days of another period are not carried along.
    assert PageState("/r", "week", "2026-01-01").url() == "/r?period=week"
    span = choose_span("today", None, None, NOW).span
    link = table_xlsx("loom", "device", span, within=("line", 12), grain="shift")
    assert link.startswith("/api/kpis?profile=loom&level=device&start=")
    assert link.endswith("&grain=shift&line=12&format=xlsx")


def test_a_flat_trend_is_drawn_flat_and_gaps_stay_gaps() -> None:
    days = ["2026-01-12", "2026-01-13", "2026-01-14"]
    flat = EnergyTrend(
        days, [0.2095, math.nan, 0.2101], [0.25, 0.25, 0.25], [math.nan] * 3, "kWh/m"
    )
    option = energy_per_unit(flat, Translator("en"))
    json.dumps(option, allow_nan=False)
    assert option["series"][0]["data"] == [0.2095, None, 0.2101]
    assert [s["name"] for s in option["series"]] == ["Actual", "Baseline"]
    # Within 10 % of their middle either side: the axis spans ±10 %, not the noise.
    assert (option["yAxis"]["min"], option["yAxis"]["max"]) == (0.207, 0.253)
    steep = EnergyTrend(days, [0.1, 0.2, 0.3], None, [math.nan] * 3, "kWh/m")
    option = energy_per_unit(steep, Translator("en"))
    assert option["yAxis"]["scale"] is True and "min" not in option["yAxis"]
    assert [s["name"] for s in option["series"]] == ["Actual"]
