"""The KPI pages' charts as ECharts options (JSON in the page, drawn by ``static/kpi.js``): the
OEE waterfall of losses, the stop Pareto by cause, energy per unit by day against the baseline,
PUE by day and a KPI by hour.

Options are plain data (no functions: the page's content security policy allows no script but
the console's files), with string templates for labels and tooltips. A missing value is null,
which ECharts draws as a gap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

from shugu.web.i18n import Translator
from shugu.web.kpi_energy import EnergyTrend
from shugu.web.kpi_view import CauseBar, Losses

Option = dict[str, Any]

BRAND: Final = "#0f6cbd"
ACCENT: Final = "#0ea5a4"
LOSS: Final = "#e8590c"
BAD: Final = "#c81e1e"
GOOD: Final = "#16a34a"
MUTED: Final = "#6b7280"
GRID_LINE: Final = "#e5e7eb"
FONT_FAMILY: Final = (
    '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", '
    '"WenQuanYi Micro Hei", sans-serif'
)


def _number(value: float, digits: int = 2) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def _numbers(values: Sequence[float]) -> list[float | None]:
    """Values to four significant digits (a ratio near 0.2 keeps its 0.2095)."""
    return [float(f"{v:.4g}") if math.isfinite(v) else None for v in values]


#: A trend's axis spans at least this share of its mean either side, so that a flat line of
#: rounding noise is not drawn as a zigzag.
MIN_SPREAD: Final = 0.1


def _trend_axis(name: str, *series: Sequence[float]) -> Option:
    values = [v for s in series for v in s if math.isfinite(v)]
    if not values:
        return _value_axis(name, scale=True)
    low, high = min(values), max(values)
    middle = (low + high) / 2
    if middle <= 0 or high - low >= 2 * MIN_SPREAD * middle:
        return _value_axis(name, scale=True)
    return _value_axis(
        name,
        min=float(f"{middle * (1 - MIN_SPREAD):.3g}"),
        max=float(f"{middle * (1 + MIN_SPREAD):.3g}"),
    )


def _base() -> Option:
    return {
        "animationDuration": 400,
        "textStyle": {"fontFamily": FONT_FAMILY},
        "grid": {"left": 56, "right": 56, "top": 48, "bottom": 40, "containLabel": True},
    }


def _value_axis(name: str, **more: Any) -> Option:
    return {
        "type": "value",
        "name": name,
        "nameTextStyle": {"color": MUTED},
        "axisLabel": {"color": MUTED},
        "splitLine": {"lineStyle": {"color": GRID_LINE}},
        **more,
    }


def _category_axis(labels: list[str], **more: Any) -> Option:
    return {
        "type": "category",
        "data": labels,
        "axisLabel": {"color": MUTED},
        "axisTick": {"alignWithLabel": True},
        **more,
    }


def waterfall(losses: Losses, tr: Translator) -> Option:
    """Planned time falling step by step to effective time: each loss a floating bar."""
    steps = [
        (tr("Planned time"), 0.0, losses.planned_h, BRAND),
        (
            tr("Availability loss"),
            losses.planned_h - losses.availability_h,
            losses.availability_h,
            LOSS,
        ),
        (
            tr("Performance loss"),
            losses.effective_h + losses.quality_h,
            losses.performance_h,
            LOSS,
        ),
        (tr("Quality loss"), losses.effective_h, losses.quality_h, LOSS),
        (tr("Effective time"), 0.0, losses.effective_h, GOOD),
    ]
    hours = tr("h")
    option = _base()
    option.update(
        tooltip={"trigger": "item", "formatter": "{b}: {c} " + hours},
        # Every step named, long names broken over two lines rather than left out.
        xAxis=_category_axis(
            [s[0] for s in steps],
            axisLabel={"color": MUTED, "interval": 0, "width": 84, "overflow": "break"},
        ),
        yAxis=_value_axis(hours),
        series=[
            {
                # The invisible base each loss floats on.
                "type": "bar",
                "stack": "waterfall",
                "silent": True,
                "tooltip": {"show": False},
                "itemStyle": {"color": "transparent", "borderColor": "transparent"},
                "emphasis": {"disabled": True},
                "data": [_number(s[1]) for s in steps],
            },
            {
                "name": tr("Hours"),
                "type": "bar",
                "stack": "waterfall",
                "barMaxWidth": 64,
                "label": {"show": True, "position": "top", "color": "#1f2937"},
                "data": [{"value": _number(s[2], 1), "itemStyle": {"color": s[3]}} for s in steps],
            },
        ],
    )
    return option


def stop_pareto(bars: list[CauseBar], tr: Translator) -> Option:
    """Stops by cause, most first, and the cumulative share of all stops as a line. The stops'
    axis runs to their total, so that the line's points sit where the bars stacked would end
    (the Pareto chart's convention); the shares are in the tooltip, not over the bars."""
    stops, share = tr("Stops"), tr("Cumulative share")
    total = sum(b.stops for b in bars)
    option = _base()
    option.update(
        tooltip={"trigger": "axis", "axisPointer": {"type": "shadow"}},
        legend={"top": 0, "data": [stops, share]},
        xAxis=_category_axis([b.label for b in bars]),
        yAxis=[
            # The total as the axis' top, without its label crowding the round step below it.
            _value_axis(
                stops,
                min=0,
                max=math.ceil(total) or 1,
                minInterval=1,
                axisLabel={"color": MUTED, "showMaxLabel": False},
            ),
            _value_axis("%", min=0, max=100, splitLine={"show": False}),
        ],
        series=[
            {
                "name": stops,
                "type": "bar",
                "barMaxWidth": 56,
                "itemStyle": {"color": BRAND},
                "label": {"show": True, "position": "top", "color": "#1f2937"},
                "data": [_number(b.stops, 0) for b in bars],
            },
            {
                "name": share,
                "type": "line",
                "yAxisIndex": 1,
                "symbolSize": 7,
                "itemStyle": {"color": LOSS},
                "data": [_number(b.cumulative_pct, 1) for b in bars],
            },
        ],
    )
    return option


def energy_per_unit(trend: EnergyTrend, tr: Translator) -> Option:
    """Energy per unit by day; the baseline's expectation beside it where one is fitted."""
    actual, expected = tr("Actual"), tr("Baseline")
    names = [actual] + ([expected] if trend.baseline_per_unit is not None else [])
    series: list[Option] = [
        {
            "name": actual,
            "type": "line",
            "connectNulls": False,
            "symbolSize": 6,
            "itemStyle": {"color": BRAND},
            "data": _numbers(trend.per_unit),
        }
    ]
    if trend.baseline_per_unit is not None:
        series.append(
            {
                "name": expected,
                "type": "line",
                "symbol": "none",
                "lineStyle": {"type": "dashed", "width": 2},
                "itemStyle": {"color": ACCENT},
                "data": _numbers(trend.baseline_per_unit),
            }
        )
    option = _base()
    option.update(
        tooltip={"trigger": "axis"},
        legend={"top": 0, "data": names},
        xAxis=_category_axis(trend.days, boundaryGap=False),
        yAxis=_trend_axis(trend.unit or "", trend.per_unit, trend.baseline_per_unit or []),
        series=series,
    )
    return option


def pue_by_day(trend: EnergyTrend, tr: Translator) -> Option:
    option = _base()
    option.update(
        tooltip={"trigger": "axis"},
        xAxis=_category_axis(trend.days, boundaryGap=False),
        yAxis=_trend_axis("PUE", trend.pue),
        series=[
            {
                "name": tr("PUE"),
                "type": "line",
                "symbolSize": 6,
                "itemStyle": {"color": ACCENT},
                "data": _numbers(trend.pue),
            }
        ],
    )
    return option


def kpi_by_period(labels: list[str], values: Sequence[float], name: str, unit: str) -> Option:
    """One KPI along periods (hours of a machine's trend), gaps where it is undefined."""
    option = _base()
    option.update(
        tooltip={"trigger": "axis"},
        xAxis=_category_axis(labels, boundaryGap=False),
        yAxis=_value_axis(unit, scale=True),
        dataZoom=[{"type": "inside"}],
        series=[
            {
                "name": name,
                "type": "line",
                "symbolSize": 5,
                "connectNulls": False,
                "itemStyle": {"color": BRAND},
                "areaStyle": {"opacity": 0.08},
                "data": _numbers(values),
            }
        ],
    )
    return option
