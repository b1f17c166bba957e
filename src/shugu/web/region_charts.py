"""The wall display's charts as ECharts options (JSON), drawn for a dark screen read from afar:
large type, few series, colours that tell states apart at a glance."""

from __future__ import annotations

import math
from typing import Any, Final

from shugu.monitor.alarm_counts import SEVERITIES
from shugu.monitor.model import Severity
from shugu.monitor.region_overview import MachineState, RegionOverview
from shugu.web.i18n import N_, Translator

Option = dict[str, Any]

INK: Final = "#e6f1ff"
MUTED: Final = "#8fa3bf"
GRID_LINE: Final = "#23344d"
FONT: Final = 22
SMALL_FONT: Final = 22
#: Canvas text needs a real family list ("inherit" would void the whole font, size included).
FONT_FAMILY: Final = (
    '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", '
    '"WenQuanYi Micro Hei", sans-serif'
)

SEVERITY_COLOURS: Final = {
    Severity.critical: "#ff4d4f",
    Severity.major: "#ff8c1a",
    Severity.minor: "#fadb14",
    Severity.warning: "#4096ff",
}
STATE_COLOURS: Final = {
    MachineState.RUNNING: "#3ddc84",
    MachineState.NORMAL: "#22c3c3",
    MachineState.STOPPED: "#e0a100",
    MachineState.ALARM: "#ff4d4f",
    MachineState.OFFLINE: "#5b6b80",
}
STATE_LABELS: Final = {
    MachineState.RUNNING: N_("Running"),
    MachineState.NORMAL: N_("Reporting"),
    MachineState.STOPPED: N_("Stopped"),
    MachineState.ALARM: N_("In alarm"),
    MachineState.OFFLINE: N_("Offline"),
}
#: The order of the legend: what a machine does, then what needs looking at.
STATE_ORDER: Final = (
    MachineState.RUNNING,
    MachineState.NORMAL,
    MachineState.STOPPED,
    MachineState.ALARM,
    MachineState.OFFLINE,
)


def _text(size: int = FONT, colour: str = INK) -> dict[str, Any]:
    return {"color": colour, "fontSize": size}


def _legend(names: list[str]) -> dict[str, Any]:
    return {
        "top": 0,
        "right": 0,
        "itemWidth": 22,
        "itemHeight": 16,
        "textStyle": _text(SMALL_FONT),
        "data": names,
    }


def _park_axis(names: list[str]) -> dict[str, Any]:
    return {
        "type": "category",
        "inverse": True,
        "data": names,
        "axisLabel": {
            **_text(FONT),
            "lineHeight": 30,
            "rich": {"sub": {**_text(SMALL_FONT, MUTED), "lineHeight": 26}},
        },
        "axisLine": {"lineStyle": {"color": GRID_LINE}},
        "axisTick": {"show": False},
    }


def _two_lines(name: str, figures: str) -> str:
    """A category label: the park's name, and its figures below in ECharts' rich text (braces
    and bars in a name would be read as rich-text markup, so they are replaced)."""
    clean = name.translate(str.maketrans("{}|", "()/"))
    return f"{clean}\n{{sub|{figures}}}"


#: Ticks on a value axis: at 22 px, more than four labels on a chart a quarter of the screen
#: wide (or high) run into each other.
TICKS: Final = 3


def _value_axis() -> dict[str, Any]:
    return {
        "type": "value",
        "minInterval": 1,
        "splitNumber": TICKS,
        "axisLabel": _text(SMALL_FONT, MUTED),
        "splitLine": {"lineStyle": {"color": GRID_LINE}},
    }


def nice_axis(largest: int, ticks: int = TICKS) -> tuple[int, int]:
    """The top of an axis of counts from zero, and its step: at most ``ticks`` steps of 1, 2 or
    5 times a power of ten (0 / 60 / 120 / 180 rather than seven labels that run together)."""
    rough = max(largest, 1) / ticks
    power = 10 ** max(0, math.floor(math.log10(rough)))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    return max(step, math.ceil(largest / step) * step), step


def _base(grid_left: int = 240) -> Option:
    return {
        "backgroundColor": "transparent",
        "animation": False,
        "textStyle": {"fontFamily": FONT_FAMILY},
        "grid": {"left": grid_left, "right": 30, "top": 44, "bottom": 30},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
    }


def _bar_label() -> dict[str, Any]:
    return {"show": True, **_text(SMALL_FONT, "#0b1626"), "fontWeight": "bold"}


#: Labels of narrow bar segments would print over each other: those are left out.
HIDE_OVERLAP: Final = {"hideOverlap": True}
#: The width of a park chart's plot area on the 1920-wide wall (a third of the screen less the
#: parks' labels), and of one digit of a bar's label: a segment narrower than its number
#: would cut it ("16" in a sliver of green), so it goes without; the park's label has it.
PLOT_WIDTH_PX: Final = 240
DIGIT_PX: Final = 14
LABEL_PAD_PX: Final = 10


def bar_segment(value: int, axis_top: float) -> int | dict[str, Any]:
    """A stacked bar's segment, its label hidden where the number would not fit inside it."""
    width = PLOT_WIDTH_PX * value / axis_top
    if not value or width >= len(str(value)) * DIGIT_PX + LABEL_PAD_PX:
        return value
    return {"value": value, "label": {"show": False}}


def online_by_park(overview: RegionOverview, tr: Translator) -> Option:
    online, offline = tr("Online"), tr("Offline")
    names = [
        _two_lines(
            p.park.name,
            tr(
                "{n} enterprises · {online}/{devices} online",
                n=p.enterprises,
                online=p.online,
                devices=p.devices,
            ),
        )
        for p in overview.parks
    ]
    top, step = nice_axis(max((p.devices for p in overview.parks), default=0))
    option = _base(grid_left=280)
    option.update(
        legend=_legend([online, offline]),
        yAxis=_park_axis(names),
        xAxis={**_value_axis(), "max": top, "interval": step},
        series=[
            {
                "name": online,
                "type": "bar",
                "stack": "devices",
                "barMaxWidth": 46,
                "itemStyle": {"color": STATE_COLOURS[MachineState.RUNNING]},
                "label": _bar_label(),
                "labelLayout": HIDE_OVERLAP,
                "data": [bar_segment(p.online, top) for p in overview.parks],
            },
            {
                "name": offline,
                "type": "bar",
                "stack": "devices",
                "barMaxWidth": 46,
                "itemStyle": {"color": STATE_COLOURS[MachineState.OFFLINE]},
                "label": {**_bar_label(), "color": INK},
                "labelLayout": HIDE_OVERLAP,
                "data": [bar_segment(p.devices - p.online, top) for p in overview.parks],
            },
        ],
    )
    return option


def _severity(severity: Severity, tr: Translator) -> str:
    """A severity as a legend names it (English catalogs keep it lower case for running text)."""
    text = tr("severity." + severity.value)
    return text[:1].upper() + text[1:]


def _nothing(
    text: str, grid_left: int, colour: str = STATE_COLOURS[MachineState.RUNNING]
) -> dict[str, Any]:
    """A line in an empty chart's plot area, so that an empty chart reads as "none", not as
    broken; it starts right of the category labels (centred on the whole chart it would be
    drawn over them), and wraps within the plot area."""
    return {
        "type": "text",
        "left": grid_left + 24,
        "top": "middle",
        "style": {
            "text": text,
            "fill": colour,
            "fontSize": 28,
            "fontWeight": "bold",
            "width": 300,
            "overflow": "break",
            "fontFamily": FONT_FAMILY,
        },
    }


def alarms_by_park(overview: RegionOverview, tr: Translator) -> Option:
    names = [_two_lines(p.park.name, tr("{n} open", n=p.alarms.open)) for p in overview.parks]
    grid_left = 280
    option = _base(grid_left=grid_left)
    if not overview.alarms_counted:
        option["graphic"] = [
            _nothing(tr("Alarms are counted with the enterprises' consent"), grid_left, MUTED)
        ]
    elif not overview.alarms.open:
        option["graphic"] = [_nothing(tr("No open alarms"), grid_left)]
    option.update(
        legend=_legend([_severity(s, tr) for s in SEVERITIES]),
        yAxis=_park_axis(names),
        xAxis=_value_axis(),
        series=[
            {
                "name": _severity(s, tr),
                "type": "bar",
                "stack": "alarms",
                "barMaxWidth": 46,
                "itemStyle": {"color": SEVERITY_COLOURS[s]},
                # A zero would print a "0" on an empty bar.
                "label": {**_bar_label(), "formatter": "{c}"},
                "labelLayout": HIDE_OVERLAP,
                "data": [p.alarms.of(s) or None for p in overview.parks],
            }
            for s in SEVERITIES
        ],
    )
    return option


#: English short scale as axis labels write it (25k); symbols, the same in any English text.
COMPACT_EN: Final = ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k"))


def compact_scale(largest: float, tr: Translator) -> tuple[int, str]:
    """A divisor and its suffix for an axis of counts, as each language groups digits (Chinese
    by 万 and 亿: 2.5万; English by thousands: 25k): labels of a few characters stay apart on
    a short chart where "25,000" would not."""
    steps: tuple[tuple[int, str], ...]
    if tr.lang == "zh-CN":
        steps = ((100_000_000, tr("hundred million")), (10_000, tr("ten thousand")))
    else:
        steps = COMPACT_EN
    for divisor, suffix in steps:
        if largest >= divisor:
            return divisor, suffix
    return 1, ""


def ingest_by_hour(overview: RegionOverview, tr: Translator) -> Option:
    hourly = [sum(p.points_by_hour[h] for p in overview.parks) for h in range(24)]
    divisor, suffix = compact_scale(max(hourly, default=0), tr)
    option = _base(grid_left=84)
    option["grid"]["top"] = 48 if len(overview.parks) > 1 else 16
    option.update(
        legend=_legend([p.park.name for p in overview.parks]) if len(overview.parks) > 1 else None,
        xAxis={
            "type": "category",
            "data": [f"{h:02d}" for h in range(24)],
            "axisLabel": {**_text(SMALL_FONT, MUTED), "interval": 3},
            "axisLine": {"lineStyle": {"color": GRID_LINE}},
            "axisTick": {"show": False},
        },
        yAxis={
            **_value_axis(),
            # Two steps: three labels 22 px high fit the short chart with room between them.
            "splitNumber": 2,
            "minInterval": 1 / divisor,
            # No "0万" at the foot: the bars stand on the axis line.
            "axisLabel": {
                **_text(SMALL_FONT, MUTED),
                "formatter": "{value}" + suffix,
                "showMinLabel": False,
            },
        },
        series=[
            {
                "name": p.park.name,
                "type": "bar",
                "stack": "points",
                "barCategoryGap": "25%",
                "data": [round(n / divisor, 2) if divisor > 1 else n for n in p.points_by_hour],
            }
            for p in overview.parks
        ],
        color=["#36a3ff", "#a07cff", "#22c3c3", "#ffb54d", "#ff7ab8"],
    )
    if option["legend"] is None:
        del option["legend"]
    return option


def machine_states(overview: RegionOverview, tr: Translator) -> Option:
    counts = overview.machine_states()
    return {
        "backgroundColor": "transparent",
        "animation": False,
        "textStyle": {"fontFamily": FONT_FAMILY},
        "tooltip": {"trigger": "item"},
        "title": {
            # The number and its unit as one block of rich text, centred in the ring's hole
            # (a subtext would be placed below the centre and cut by the ring).
            "text": f"{{n|{counts.total:,}}}\n{{u|{tr('machines')}}}",
            "left": "center",
            "top": "middle",
            "textStyle": {
                "rich": {
                    "n": {**_text(40), "fontWeight": "bold", "lineHeight": 44, "align": "center"},
                    "u": {**_text(SMALL_FONT, MUTED), "lineHeight": 26, "align": "center"},
                }
            },
        },
        "series": [
            {
                "type": "pie",
                # A thin ring: its hole holds the number and its unit at wall-display sizes.
                "radius": ["70%", "94%"],
                "center": ["50%", "50%"],
                "avoidLabelOverlap": True,
                # Without machines, no ring of equal slices that would read as a share.
                "stillShowZeroSum": False,
                "label": {"show": False},
                "itemStyle": {"borderColor": "#0b1626", "borderWidth": 3},
                "data": [
                    {
                        "name": tr(STATE_LABELS[state]),
                        "value": counts.of(state),
                        "itemStyle": {"color": STATE_COLOURS[state]},
                    }
                    for state in STATE_ORDER
                ],
            }
        ],
    }


def wall_charts(overview: RegionOverview, tr: Translator) -> dict[str, Option]:
    """Every chart of the wall display, by the ``data-region-chart`` name of its element."""
    return {
        "online": online_by_park(overview, tr),
        "alarms": alarms_by_park(overview, tr),
        "ingest": ingest_by_hour(overview, tr),
        "machines": machine_states(overview, tr),
    }
