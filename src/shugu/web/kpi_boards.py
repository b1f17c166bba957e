"""What the KPI pages show of each profile (``kpi_boards.yaml``), loaded and checked against the
profiles' KPI files once per process.

A board names KPIs of its profile and *figures*: formulas over the profile's summed facts that a
page wants but the profile does not declare (all stops per 10⁵ picks, the sum of the causes).
Both come back as ``KpiSpec`` so that a page treats them alike; ``values`` reads a KPI from a
table and evaluates a figure on the table's summed facts, the way the service evaluates KPIs.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import yaml
from pydantic import BaseModel, ConfigDict, Field

from shugu.analytics.definitions import load_kpis
from shugu.analytics.model import LEVELS, KpiSpec, Level, ProfileKpis
from shugu.analytics.query import KpiTable
from shugu.domain.expr import parse_expression

BOARDS_FILE: Final = Path(__file__).parent / "kpi_boards.yaml"

F64 = npt.NDArray[np.float64]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class FigureIn(_Strict):
    formula: str
    unit: str
    label_zh: str
    label_en: str
    scale: float = 1.0
    better: Literal["higher", "lower"] | None = None


class CauseIn(_Strict):
    count: str
    time: str
    label_zh: str
    label_en: str


class BoardIn(_Strict):
    headline: list[str]
    table: list[str]
    rank_by: str
    league: list[str]
    shift_table: list[str]
    hour_trend: str
    pareto: list[CauseIn] = Field(default_factory=list)
    figures: dict[str, FigureIn] = Field(default_factory=dict)


class BoardsIn(_Strict):
    outlier_pct: float = Field(gt=0, lt=100)
    boards: dict[str, BoardIn]


@dataclass(frozen=True, slots=True)
class Cause:
    """One stop cause of a Pareto chart: the facts counting its stops and the time they held."""

    count: str
    time: str
    label_zh: str
    label_en: str

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh-CN" else self.label_en


@dataclass(frozen=True, slots=True)
class Board:
    profile: str
    kpis: ProfileKpis
    headline: tuple[str, ...]
    table: tuple[str, ...]
    rank_by: str
    league: tuple[str, ...]
    shift_table: tuple[str, ...]
    hour_trend: str
    pareto: tuple[Cause, ...]
    #: The board's own figures by name (not KPIs of the profile).
    figures: Mapping[str, KpiSpec]

    def spec(self, name: str) -> KpiSpec:
        figure = self.figures.get(name)
        return figure if figure is not None else self.kpis.kpi_index[name]

    def specs(self, names: tuple[str, ...], level: Level = "device") -> list[KpiSpec]:
        """The specs of ``names`` that mean something at ``level`` (an approach has no park)."""
        rank = {lv: i for i, lv in enumerate(LEVELS)}
        out = [self.spec(n) for n in names]
        return [s for s in out if rank[s.up_to] >= rank[level]]

    def kpi_names(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The profile KPIs among ``names``: what a table must be asked for (figures come from
        its facts)."""
        return tuple(n for n in names if n not in self.figures)

    def values(self, table: KpiTable, name: str) -> F64:
        """A KPI or figure of every group and period of ``table`` (NaN: undefined)."""
        if name in table.kpis:
            return table.kpis[name]
        figure = self.figures.get(name)
        if figure is None or not table.groups:
            return np.full((len(table.groups), len(table.periods)), np.nan)
        inputs = {n: table.facts[n] for n in figure.formula.names}
        with np.errstate(divide="ignore", invalid="ignore"):
            value = figure.formula.evaluate(inputs) * figure.scale
        return np.where(np.isfinite(value), value, np.nan)

    @property
    def has_waterfall(self) -> bool:
        """The ISO 22400 losses can be drawn: the profile has an OEE from the time model."""
        return "oee" in self.kpis.kpi_index and "ideal_q" in _fact_names(self.kpis)


def _fact_names(kpis: ProfileKpis) -> set[str]:
    return set(kpis.fact_names) | {d.name for d in kpis.derived}


@dataclass(frozen=True, slots=True)
class Boards:
    outlier_pct: float
    #: Boards in the file's order.
    by_profile: Mapping[str, Board]

    def get(self, profile: str) -> Board | None:
        return self.by_profile.get(profile)


def _figure(name: str, spec: FigureIn, kpis: ProfileKpis) -> KpiSpec:
    formula = parse_expression(spec.formula, field=f"boards.{kpis.profile}.figures.{name}")
    unknown = [n for n in formula.names if n not in _fact_names(kpis)]
    if unknown:
        raise ValueError(f"board {kpis.profile}: figure {name} names no fact {unknown[0]!r}")
    return KpiSpec(
        name=name,
        formula=formula,
        unit=spec.unit,
        label_zh=spec.label_zh,
        label_en=spec.label_en,
        scale=spec.scale,
        better=spec.better,
    )


def _board(profile: str, spec: BoardIn, kpis: ProfileKpis) -> Board:
    figures = {name: _figure(name, f, kpis) for name, f in spec.figures.items()}
    known = set(kpis.kpi_index) | set(figures)
    named = [
        *spec.headline,
        *spec.table,
        spec.rank_by,
        *spec.league,
        *spec.shift_table,
        spec.hour_trend,
    ]
    unknown = [n for n in named if n not in known]
    if unknown:
        raise ValueError(f"board {profile}: {unknown[0]!r} is neither a KPI nor a figure")
    figures_ranked = [n for n in spec.league if n in figures]
    if figures_ranked:
        raise ValueError(f"board {profile}: league {figures_ranked[0]!r} must be a KPI")
    facts = _fact_names(kpis)
    for cause in spec.pareto:
        if cause.count not in facts or cause.time not in facts:
            raise ValueError(f"board {profile}: a stop cause names facts the profile lacks")
    return Board(
        profile=profile,
        kpis=kpis,
        headline=tuple(spec.headline),
        table=tuple(spec.table),
        rank_by=spec.rank_by,
        league=tuple(spec.league),
        shift_table=tuple(spec.shift_table),
        hour_trend=spec.hour_trend,
        pareto=tuple(Cause(c.count, c.time, c.label_zh, c.label_en) for c in spec.pareto),
        figures=figures,
    )


def read_boards(text: str, profiles: Mapping[str, ProfileKpis]) -> Boards:
    """Boards from YAML text, checked against ``profiles`` (ValueError names what is wrong)."""
    parsed = BoardsIn.model_validate(yaml.safe_load(text))
    boards: dict[str, Board] = {}
    for profile, spec in parsed.boards.items():
        kpis = profiles.get(profile)
        if kpis is None:
            raise ValueError(f"board {profile}: no KPI file for this profile")
        boards[profile] = _board(profile, spec, kpis)
    return Boards(parsed.outlier_pct, boards)


@functools.cache
def boards() -> Boards:
    """The shipped boards, read once per process."""
    return read_boards(BOARDS_FILE.read_text(encoding="utf-8"), load_kpis())
