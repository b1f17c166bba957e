"""What a profile's KPIs are made of, as data: additive facts per device and hour, and KPIs as
formulas over summed facts.

A *fact* is a quantity that adds up: seconds a loom ran, stops into a cause, kWh drawn, heat
rejected. Facts are kept per device and hour (local time) and summed over any group of devices
and any span of hours. A *KPI* is a formula over a group's summed facts, so that a ratio is always
recomputed from summed times and counts (availability = Σ running / Σ planned), never averaged
from the members' percentages.

How each kind of fact is measured from a device's points (sample-and-hold: a value holds from its
timestamp until the device's next point, as the device reported it):

``state_time``
    seconds the state metric was in one of ``states``;
``state_entries``
    times the state metric entered one of ``states`` from a state outside them;
``counter``
    the increase of a counter metric, reset-aware (a drop below half the last reading means the
    counter restarted from zero; a smaller drop is jitter and counts nothing),
    spread evenly over the span between two readings and split at hour boundaries;
``integral``
    the time integral of ``expr`` in value·hours (kW → kWh, m³/h → m³);
``time_within``
    seconds in which every bound holds (``min <= expr <= max``);
``data_time``
    seconds in which every metric ``expr`` names had a value.

A span between two points longer than the profile's ``max_gap_s`` counts for no fact except
``counter`` (energy drawn while a device was silent was still drawn); a counter's increase over a
span longer than ``COUNTER_MAX_SPAN_S`` is dropped, because when it happened cannot be known.
``planned_only`` limits a fact to the enterprise's planned production time (its shift calendar).

Planned busy time (ISO 22400's PBT) is not a stored fact: it comes from the calendar when a query
is answered, under the reserved fact name ``planned_s``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shugu.domain.expr import Expression

FactKind = Literal["state_time", "state_entries", "counter", "integral", "time_within", "data_time"]
FACT_KINDS: tuple[FactKind, ...] = (
    "state_time",
    "state_entries",
    "counter",
    "integral",
    "time_within",
    "data_time",
)
#: The calendar's planned production seconds, available to every KPI formula.
PLANNED_FACT = "planned_s"
#: A counter's increase over a longer silence is dropped (when it happened cannot be known).
COUNTER_MAX_SPAN_S = 6 * 3600
HOUR_MS = 3_600_000

Level = Literal["device", "line", "enterprise", "park", "industry", "region"]
LEVELS: tuple[Level, ...] = ("device", "line", "enterprise", "park", "industry", "region")
Grain = Literal["hour", "shift", "day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("hour", "shift", "day", "week", "month")


@dataclass(frozen=True, slots=True)
class Bound:
    """One condition of a ``time_within`` fact: ``minimum <= expr <= maximum`` (None: open)."""

    expr: Expression
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True, slots=True)
class FactSpec:
    name: str
    kind: FactKind
    #: The metric of ``state_time``, ``state_entries`` and ``counter``.
    metric: str | None = None
    #: The state codes of ``state_time`` and ``state_entries``.
    states: tuple[int, ...] = ()
    #: What ``integral`` integrates and whose metrics ``data_time`` needs.
    expr: Expression | None = None
    #: The conditions of ``time_within``.
    bounds: tuple[Bound, ...] = ()
    planned_only: bool = False
    unit: str = ""

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics this fact reads."""
        names: list[str] = []
        if self.metric is not None:
            names.append(self.metric)
        if self.expr is not None:
            names.extend(self.expr.names)
        for bound in self.bounds:
            names.extend(bound.expr.names)
        return tuple(dict.fromkeys(names))


@dataclass(frozen=True, slots=True)
class ParameterSpec:
    """A constant of one machine a formula needs (a loom's rated speed): the device's attribute of
    that name where it has one (client or shared scope), else ``default``."""

    name: str
    default: float
    unit: str = ""
    attribute: str | None = None


@dataclass(frozen=True, slots=True)
class DerivedFact:
    """A fact computed per device from its summed facts and parameters before devices are summed
    (ideal picks = rated speed × running minutes): a per-machine constant must multiply that
    machine's own time, not the group's."""

    name: str
    formula: Expression
    unit: str = ""


@dataclass(frozen=True, slots=True)
class KpiSpec:
    name: str
    #: A formula over fact names (and ``planned_s``); NaN where a divisor is zero.
    formula: Expression
    unit: str
    label_zh: str
    label_en: str
    #: Multiplies the formula's value for display: 100 for a percentage.
    scale: float = 1.0
    #: Which way is good, for league tables (best first) and the console's colours.
    better: Literal["higher", "lower"] | None = None
    #: The coarsest level at which the KPI means something (an approach of a park does not).
    up_to: Level = "region"
    #: Output, energy, time: a quantity shown summed, not as a ratio.
    quantity: bool = False


@dataclass(frozen=True, slots=True)
class ProfileKpis:
    """The facts and KPIs of one device profile."""

    profile: str
    facts: tuple[FactSpec, ...]
    kpis: tuple[KpiSpec, ...]
    parameters: tuple[ParameterSpec, ...] = ()
    derived: tuple[DerivedFact, ...] = ()
    #: A span between points longer than this is a gap: no value held across it.
    max_gap_s: float = 300.0
    #: The fact that is this profile's output (fabric metres, MWh rejected), for energy per unit.
    output_fact: str | None = None
    #: The fact that is the energy this profile's machines draw themselves (their own counters).
    energy_fact: str | None = None
    #: True for meters whose energy stands for everything behind them (a line's or a site's
    #: meter): a group's energy is its meters' where it has any.
    is_meter: bool = False
    #: The state metric whose states make the time model (ISO 22400), if the profile has one.
    state_metric: str | None = None
    kpi_index: dict[str, KpiSpec] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.kpi_index.update({k.name: k for k in self.kpis})

    @property
    def fact_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.facts)

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric any fact reads, in a fixed order."""
        names: list[str] = []
        for fact in self.facts:
            names.extend(fact.metrics)
        return tuple(dict.fromkeys(names))
