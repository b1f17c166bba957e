"""Innovation points (创新积分): a scoring model as data (indicators, each with a weight and a
scale over one fact: linear between two values, bands, or points per item held, capped), the
score of an enterprise with its parts, and a ranking.

A fact the enterprise has no data for scores nothing and says so; it is never taken for zero
silently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shugu.region.policies.formulas import num
from shugu.region.policies.model import FACT, invalid

MODEL_FILE = Path(__file__).parent / "points.yaml"


@dataclass(frozen=True, slots=True)
class Linear:
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Band:
    at_least: float
    share: float


@dataclass(frozen=True, slots=True)
class Bands:
    bands: tuple[Band, ...]  # ascending by at_least


@dataclass(frozen=True, slots=True)
class Items:
    #: Points per name held (certifications, say); the sum is capped at the weight.
    points: tuple[tuple[str, float], ...]


Scale = Linear | Bands | Items


@dataclass(frozen=True, slots=True)
class Indicator:
    key: str
    label_zh: str
    label_en: str
    fact: str
    weight: float
    scale: Scale


@dataclass(frozen=True, slots=True)
class Model:
    code: str
    name_zh: str
    name_en: str
    indicators: tuple[Indicator, ...]

    @property
    def max_points(self) -> float:
        return sum(i.weight for i in self.indicators)


@dataclass(frozen=True, slots=True)
class ScorePart:
    key: str
    label_zh: str
    label_en: str
    value: object
    points: float
    max_points: float
    #: The scale in a few words, or "no data".
    note_zh: str
    note_en: str


@dataclass(frozen=True, slots=True)
class Score:
    enterprise_id: int
    points: float
    parts: tuple[ScorePart, ...]


def _number(raw: Mapping[str, Any], key: str, where: str) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid(f"{where}.{key}", "a number")
    return float(value)


def _scale(raw: object, where: str) -> Scale:
    if not isinstance(raw, Mapping):
        raise invalid(where, "an object")
    kind = raw.get("kind")
    if kind == "linear":
        low, high = _number(raw, "from", where), _number(raw, "to", where)
        if high == low:
            raise invalid(f"{where}.to", "differs from 'from'")
        return Linear(low, high)
    if kind == "bands":
        bands = raw.get("bands")
        if not isinstance(bands, Sequence) or not bands:
            raise invalid(f"{where}.bands", "a non-empty list")
        parsed = []
        for i, b in enumerate(bands):
            if not isinstance(b, Mapping):
                raise invalid(f"{where}.bands[{i}]", "an object")
            share = _number(b, "share", f"{where}.bands[{i}]")
            if not 0 <= share <= 1:
                raise invalid(f"{where}.bands[{i}].share", "from 0 to 1")
            parsed.append(Band(_number(b, "at_least", f"{where}.bands[{i}]"), share))
        return Bands(tuple(sorted(parsed, key=lambda b: b.at_least)))
    if kind == "items":
        points = raw.get("points")
        if not isinstance(points, Mapping) or not points:
            raise invalid(f"{where}.points", "names with their points")
        return Items(tuple((str(k), _number(points, k, f"{where}.points")) for k in points))
    raise invalid(f"{where}.kind", "one of linear, bands, items")


def parse_model(raw: object) -> Model:
    if not isinstance(raw, Mapping):
        raise invalid("model", "an object")
    indicators = raw.get("indicators")
    if not isinstance(indicators, Sequence) or not indicators:
        raise invalid("model.indicators", "a non-empty list")
    parsed = []
    for i, ind in enumerate(indicators):
        where = f"model.indicators[{i}]"
        if not isinstance(ind, Mapping) or not isinstance(ind.get("fact"), str):
            raise invalid(where, "an object with a fact")
        if not FACT.match(ind["fact"]):
            raise invalid(f"{where}.fact", "a fact's name")
        weight = _number(ind, "weight", where)
        if weight <= 0:
            raise invalid(f"{where}.weight", "above 0")
        parsed.append(
            Indicator(
                str(ind.get("key", ind["fact"])),
                str(ind.get("label_zh", ind["fact"])),
                str(ind.get("label_en", ind["fact"])),
                ind["fact"],
                weight,
                _scale(ind.get("scale"), f"{where}.scale"),
            )
        )
    return Model(
        str(raw.get("code", "model")),
        str(raw.get("name_zh", "创新积分")),
        str(raw.get("name_en", "Innovation points")),
        tuple(parsed),
    )


def load_model(path: Path = MODEL_FILE) -> Model:
    return parse_model(yaml.safe_load(path.read_text(encoding="utf-8")))


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _part(ind: Indicator, facts: Mapping[str, object]) -> ScorePart:
    value = facts.get(ind.fact)
    scale = ind.scale
    if isinstance(scale, Items):
        held = set(value) if isinstance(value, list | tuple | set | frozenset) else None
        if held is None:
            return _no_data(ind)
        raw = sum(p for name, p in scale.points if name in held)
        points = min(raw, ind.weight)
        names = "、".join(name for name, _ in scale.points if name in held) or "—"
        return ScorePart(
            ind.key,
            ind.label_zh,
            ind.label_en,
            sorted(held),
            round(points, 2),
            ind.weight,
            f"{names}：{num(raw)} 分，上限 {num(ind.weight)}",
            f"{names}: {num(raw)} points, at most {num(ind.weight)}",
        )
    number = _as_number(value)
    if number is None:
        return _no_data(ind)
    if isinstance(scale, Linear):
        share = min(max((number - scale.low) / (scale.high - scale.low), 0.0), 1.0)
        note_zh = f"{num(scale.low)} 得 0 分，{num(scale.high)} 及以上得满分，其间线性"
        note_en = f"0 at {num(scale.low)}, full at {num(scale.high)} or more, linear between"
    else:
        reached = [b for b in scale.bands if number >= b.at_least]
        share = reached[-1].share if reached else 0.0
        floor = num(reached[-1].at_least) if reached else "—"
        note_zh = f"达到 ≥ {floor} 档，得 {pct_text(share)}"
        note_en = f"band ≥ {floor}: {pct_text(share)} of the weight"
    return ScorePart(
        ind.key,
        ind.label_zh,
        ind.label_en,
        number,
        round(share * ind.weight, 2),
        ind.weight,
        note_zh,
        note_en,
    )


def pct_text(share: float) -> str:
    return f"{num(share * 100)} %"


def _no_data(ind: Indicator) -> ScorePart:
    return ScorePart(
        ind.key, ind.label_zh, ind.label_en, None, 0.0, ind.weight, "无数据", "no data"
    )


def score(model: Model, enterprise_id: int, facts: Mapping[str, object]) -> Score:
    parts = tuple(_part(ind, facts) for ind in model.indicators)
    return Score(enterprise_id, round(sum(p.points for p in parts), 2), parts)


def ranking(scores: list[Score]) -> list[Score]:
    """Highest first; equal scores by enterprise id, so the order is stable."""
    return sorted(scores, key=lambda s: (-s.points, s.enterprise_id))
