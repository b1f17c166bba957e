"""The figures of a monthly report: their names in both languages, units, and the checks a
value must pass (finite, within a plausible range, a whole number of people)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from shugu.domain.errors import ValidationError
from shugu.store.registry.region_operation import FIGURE_FIELDS, ReportFigures

#: Larger than any enterprise's month in 万元 (10¹⁰ 元 = 100 亿元 a month is 1 万亿元 a year).
MAX_WAN = 1_000_000.0
MAX_KWH = 10_000_000_000.0
MAX_STAFF = 1_000_000
MAX_NOTE = 2000


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    zh: str
    en: str
    unit_zh: str
    unit_en: str
    #: A loss is negative; other figures are not.
    may_be_negative: bool
    whole: bool
    maximum: float

    def label(self, lang: str) -> str:
        return f"{self.zh}（{self.unit_zh}）" if lang != "en" else f"{self.en} ({self.unit_en})"


FIGURES: tuple[Figure, ...] = (
    Figure(
        "output_value_wan", "工业总产值", "Output value", "万元", "10k yuan", False, False, MAX_WAN
    ),
    Figure("revenue_wan", "营业收入", "Revenue", "万元", "10k yuan", False, False, MAX_WAN),
    Figure("profit_wan", "利润总额", "Total profit", "万元", "10k yuan", True, False, MAX_WAN),
    Figure("power_kwh", "用电量", "Power use", "千瓦时", "kWh", False, False, MAX_KWH),
    Figure("staff", "从业人员", "Staff", "人", "people", False, True, MAX_STAFF),
    Figure("new_orders_wan", "新增订单", "New orders", "万元", "10k yuan", False, False, MAX_WAN),
)
FIGURE_BY_KEY = {f.key: f for f in FIGURES}
assert tuple(FIGURE_BY_KEY) == FIGURE_FIELDS


def _bad(figure: Figure, why: str) -> ValidationError:
    return ValidationError(f"{figure.key} {why}", code="report_figure_invalid", field=figure.key)


def figure_value(figure: Figure, raw: object) -> float | int | None:
    """One figure checked; None (or an empty text) stays unknown."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise _bad(figure, "must be a number")
    if isinstance(raw, str):
        try:
            raw = float(raw.strip().replace(",", ""))
        except ValueError:
            raise _bad(figure, "must be a number") from None
    if not isinstance(raw, int | float):
        raise _bad(figure, "must be a number")
    value = float(raw)
    if not math.isfinite(value):
        raise _bad(figure, "must be a finite number")
    low = -figure.maximum if figure.may_be_negative else 0.0
    if not low <= value <= figure.maximum:
        raise _bad(figure, f"must lie between {low:g} and {figure.maximum:g}")
    if figure.whole:
        if value != int(value):
            raise _bad(figure, "must be a whole number")
        return int(value)
    return round(value, 4)


def check_note(raw: object) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValidationError("note must be text", code="report_note_invalid", field="note")
    note = raw.strip()
    if len(note) > MAX_NOTE or any(ord(c) < 32 and c not in "\n\t" for c in note):
        raise ValidationError(
            f"note must be at most {MAX_NOTE} characters of text",
            code="report_note_invalid",
            field="note",
        )
    if any(0xD800 <= ord(c) <= 0xDFFF for c in note):
        raise ValidationError("note is not text", code="report_note_invalid", field="note")
    return note


def check_figures(raw: Mapping[str, object]) -> ReportFigures:
    """A report's figures from what a form, a JSON body or a sheet row gave."""
    values = {f.key: figure_value(f, raw.get(f.key)) for f in FIGURES}
    return ReportFigures(
        output_value_wan=_float(values["output_value_wan"]),
        revenue_wan=_float(values["revenue_wan"]),
        profit_wan=_float(values["profit_wan"]),
        power_kwh=_float(values["power_kwh"]),
        staff=None if values["staff"] is None else int(values["staff"]),
        new_orders_wan=_float(values["new_orders_wan"]),
        note=check_note(raw.get("note")),
    )


def _float(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def missing_figures(figures: ReportFigures) -> list[str]:
    """The figures a report must have before it is submitted and does not."""
    return [key for key in FIGURE_FIELDS if getattr(figures, key) is None]
