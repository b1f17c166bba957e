"""What a policy's benefit formula comes to for one enterprise, line by line in both languages:
the base, the rate, the cap where it bites, the schedule year by year, the devices counted.

An amount needs every fact it is computed from; one unknown fact leaves the amount unknown
(``None``) and names the fact, rather than taking it for zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from shugu.region.conditions import evaluate
from shugu.region.policies.model import Fixed, Formula, Part, PerDevice, Proportional, Rent, Sum
from shugu.region.policies.vocabulary import label, number_text


@dataclass(frozen=True, slots=True)
class Line:
    """One step of an explanation, in both languages, with the amount it comes to if any."""

    zh: str
    en: str
    amount_wan: float | None = None
    #: Indentation: 0 for the formula's own steps, 1 for a part of a sum.
    depth: int = 0

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True, slots=True)
class Benefit:
    #: The amount in 万元; None when a fact it needs is unknown.
    amount_wan: float | None
    lines: tuple[Line, ...]
    #: Facts the amount needs that the enterprise's file does not have.
    missing: tuple[str, ...] = ()
    #: 万元 per year, for benefits paid over years (rent schedules); empty otherwise.
    by_year: tuple[float, ...] = ()
    #: The facts the amount was computed from (what a frozen grant keeps).
    used: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Inputs:
    facts: Mapping[str, object]
    #: The day each of the enterprise's devices first sent data to the platform (devices that
    #: never did are left out).
    first_data: Sequence[date] = ()


def wan(value: float) -> float:
    """万元 to the 元 (four decimals)."""
    return round(value + 0.0, 4)


num = number_text


def pct(share: float) -> str:
    return f"{num(share * 100)} %"


def _number(facts: Mapping[str, object], name: str) -> float | None:
    value = facts.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):
        return None
    # A negative spend, area or rent is a mistake in the file, never a negative benefit.
    return max(float(value), 0.0)


def compute(formula: Formula, inputs: Inputs) -> Benefit:
    if isinstance(formula, Proportional):
        return _proportional(formula, inputs)
    if isinstance(formula, Fixed):
        amount = wan(formula.amount_wan)
        return Benefit(amount, (Line(f"定额 {num(amount)} 万元", f"fixed sum {num(amount)} 万元"),))
    if isinstance(formula, Rent):
        return _rent(formula, inputs)
    if isinstance(formula, PerDevice):
        return _per_device(formula, inputs)
    return _sum(formula, inputs)


def _capped(amount: float, cap: float | None, depth: int = 0) -> tuple[float, list[Line]]:
    if cap is None or amount <= cap:
        return wan(amount), []
    line = Line(
        f"封顶 {num(cap)} 万元：{num(wan(amount))} → {num(cap)} 万元",
        f"capped at {num(cap)} 万元: {num(wan(amount))} → {num(cap)} 万元",
        wan(cap),
        depth,
    )
    return wan(cap), [line]


def _unknown(fact: str, inputs: Inputs) -> Line:
    return Line(
        f"{label(fact, 'zh')}：无数据，金额待补",
        f"{label(fact, 'en')}: no data, the amount waits for it",
    )


def _proportional(f: Proportional, inputs: Inputs) -> Benefit:
    base = _number(inputs.facts, f.base)
    if base is None:
        return Benefit(None, (_unknown(f.base, inputs),), (f.base,))
    raw = base * f.rate
    zh, en = label(f.base, "zh"), label(f.base, "en")
    lines = [
        Line(
            f"基数 {zh} {num(base)} 万元 × 比例 {pct(f.rate)} = {num(wan(raw))} 万元",
            f"base {en} {num(base)} 万元 × rate {pct(f.rate)} = {num(wan(raw))} 万元",
            wan(raw),
        )
    ]
    amount, cap_lines = _capped(raw, f.cap_wan)
    return Benefit(amount, (*lines, *cap_lines), used={f.base: base})


def _rent(f: Rent, inputs: Inputs) -> Benefit:
    used: dict[str, object] = {}
    missing: list[str] = []
    area = f.area_m2
    if f.area_fact is not None:
        area = _number(inputs.facts, f.area_fact)
        if area is None:
            missing.append(f.area_fact)
        else:
            used[f.area_fact] = area
    rent = f.rent_yuan_m2_month
    if f.rent_fact is not None:
        rent = _number(inputs.facts, f.rent_fact)
        if rent is None:
            missing.append(f.rent_fact)
        else:
            used[f.rent_fact] = rent
    if area is None or rent is None:
        return Benefit(None, tuple(_unknown(m, inputs) for m in missing), tuple(missing))
    lines: list[Line] = []
    counted = area
    if f.area_cap_m2 is not None and area > f.area_cap_m2:
        counted = f.area_cap_m2
        lines.append(
            Line(
                f"面积 {num(area)} m²，按上限 {num(counted)} m² 计",
                f"area {num(area)} m², counted at the cap of {num(counted)} m²",
            )
        )
    else:
        lines.append(Line(f"面积 {num(area)} m²", f"area {num(area)} m²"))
    yearly_yuan = counted * rent * 12
    lines.append(
        Line(
            f"租金 {num(rent)} 元/m²/月 × {num(counted)} m² × 12 个月 = 每年 {num(yearly_yuan)} 元",
            f"rent {num(rent)} 元/m²/month × {num(counted)} m² × 12 months = "
            f"{num(yearly_yuan)} 元 a year",
        )
    )
    if f.schedule_name is not None:
        lines.append(Line(f"按“{f.schedule_name}”", f"on the schedule “{f.schedule_name}”"))
    by_year: list[float] = []
    for year, share in enumerate(f.schedule, start=1):
        amount = wan(yearly_yuan * share / 10_000)
        by_year.append(amount)
        zh_share = "全免" if share == 1 else f"减免 {pct(share)}"
        en_share = "free" if share == 1 else f"{pct(share)} relieved"
        lines.append(
            Line(
                f"第 {year} 年：{zh_share} = {num(amount)} 万元",
                f"year {year}: {en_share} = {num(amount)} 万元",
                amount,
                1,
            )
        )
    total = wan(sum(by_year))
    lines.append(Line(f"合计 {num(total)} 万元", f"total {num(total)} 万元", total))
    return Benefit(total, tuple(lines), by_year=tuple(by_year), used=used)


def _per_device(f: PerDevice, inputs: Inputs) -> Benefit:
    inside = sum(1 for d in inputs.first_data if f.window_from <= d <= f.window_to)
    before = sum(1 for d in inputs.first_data if d < f.window_from)
    after = len(inputs.first_data) - inside - before
    window = f"{f.window_from.isoformat()} – {f.window_to.isoformat()}"
    lines = [
        Line(
            f"政策期 {window} 内首次向平台发送数据的设备 {inside} 台"
            f"（期前已接入 {before} 台、期后 {after} 台不计）",
            f"devices whose first data reached the platform within {window}: {inside} "
            f"({before} connected before and {after} after are not counted)",
        )
    ]
    raw = inside * f.per_device_wan
    lines.append(
        Line(
            f"{inside} 台 × {num(f.per_device_wan)} 万元 = {num(wan(raw))} 万元",
            f"{inside} devices × {num(f.per_device_wan)} 万元 = {num(wan(raw))} 万元",
            wan(raw),
        )
    )
    amount, cap_lines = _capped(raw, f.cap_wan)
    used: dict[str, object] = {"devices_connected_in_window": inside}
    return Benefit(amount, (*lines, *cap_lines), used=used)


def _sum(f: Sum, inputs: Inputs) -> Benefit:
    lines: list[Line] = []
    missing: list[str] = []
    used: dict[str, object] = {}
    total = 0.0
    by_year: list[float] = []
    spread = False
    for part in f.parts:
        benefit = _part(part, inputs)
        if benefit is None:
            lines.append(
                Line(
                    f"{part.label_zh}：不适用",
                    f"{part.label_en}: does not apply",
                    0.0,
                )
            )
            continue
        shown = "?" if benefit.amount_wan is None else num(benefit.amount_wan)
        lines.append(
            Line(
                f"{part.label_zh}：{shown} 万元",
                f"{part.label_en}: {shown} 万元",
                benefit.amount_wan,
            )
        )
        lines += [Line(x.zh, x.en, x.amount_wan, 1) for x in benefit.lines]
        missing += [m for m in benefit.missing if m not in missing]
        used.update(benefit.used)
        total += benefit.amount_wan or 0.0
        spread = spread or bool(benefit.by_year)
        # A part paid at once (a reward) falls in the first year.
        for year, amount in enumerate(benefit.by_year or (benefit.amount_wan or 0.0,)):
            if year == len(by_year):
                by_year.append(0.0)
            by_year[year] = wan(by_year[year] + amount)
    if missing:
        return Benefit(None, tuple(lines), tuple(missing), used=used)
    amount, cap_lines = _capped(total, f.cap_wan)
    lines += cap_lines
    lines.append(Line(f"合计 {num(amount)} 万元", f"total {num(amount)} 万元", amount))
    years = tuple(by_year) if spread and not cap_lines else ()
    return Benefit(amount, tuple(lines), by_year=years, used=used)


def _part(part: Part, inputs: Inputs) -> Benefit | None:
    if part.when is not None and not evaluate(part.when, inputs.facts).ok:
        return None
    return compute(part.formula, inputs)
