"""How the console shows targets against actuals: progress as a percentage, a row's mark, the
twelve months as a sparkline, why a figure is missing; shared by the targets page and the wall
display's panel."""

from __future__ import annotations

from typing import Final

from shugu.region.indicators.board import BoardRow
from shugu.web.i18n import N_

#: The sparkline's box, in SVG user units.
SPARK_W: Final = 120
SPARK_H: Final = 28
MISSING_LABELS: Final = {
    "live_only": N_("Live only: kept from month-end snapshots"),
    "no_figures": N_("No figures yet"),
    "no_key_enterprises": N_("No key enterprises marked"),
    "no_output": N_("No fabric woven in the period"),
    "not_reported": N_("Not reported"),
    "future": N_("Not begun"),
}


def sparkline(trend: tuple[tuple[str, float | None], ...]) -> str:
    """The trend as SVG polyline points (months without a value left out)."""
    values = [v for _, v in trend if v is not None]
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = high - low or 1.0
    step = SPARK_W / max(1, len(trend) - 1)
    points = []
    for i, (_, value) in enumerate(trend):
        if value is None:
            continue
        y = SPARK_H - 2 - (value - low) / span * (SPARK_H - 4)
        points.append(f"{i * step:.1f},{y:.1f}")
    return " ".join(points)


def pct(share: float | None) -> str:
    """A share as a percentage; below zero (further from the target than the baseline was)
    says so instead of a large negative number that reads as a fault."""
    if share is None:
        return "—"
    return "< 0%" if share < 0 else f"{100 * share:.1f}%"


def status_of(row: BoardRow) -> str:
    """on-track, behind, met or none: the row's mark and its colour class."""
    if row.progress is None or row.progress.on_track is None:
        return "none"
    if row.progress.met:
        return "met"
    return "on-track" if row.progress.on_track else "behind"
