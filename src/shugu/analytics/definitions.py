"""KPI declarations per device profile, as data: ``kpis/<profile>.yaml`` next to this module.

A KPI file names the additive facts a profile's devices yield per hour and the KPIs computed from
their sums (see ``analytics/model.py`` for what each kind of fact measures), and is checked
against the device profile of the same name when it loads: a state fact's metric must be a state
metric of the profile and its states codes of that metric, a counter fact's metric a counter, an
expression may name only the profile's metrics, a KPI formula only facts, derived facts,
parameters and ``planned_s`` (the calendar's planned seconds), and every unit must be one
shugu knows. A file that fails any check does not load; the error names the file and the field.

The file's shape::

    profile: loom                # the device profile, also the file's name
    max_gap_s: 120               # a longer silence between points holds no value across it
    output_fact: fabric_m        # the profile's output, for energy per unit
    energy_fact: energy_kwh      # the energy its machines draw
    is_meter: false              # a meter standing for everything behind it
    time_model: {...}            # ISO 22400 shorthand (analytics/time_model.py)
    parameters: {rated_speed_rpm: {default: 600, unit: rpm, attribute: rated_speed_rpm}}
    facts: {run_s: {kind: state_time, metric: running, states: [1]}}
    derived: {ideal_picks: {formula: rated_speed_rpm * run_s / 60, unit: pick}}
    kpis: {efficiency: {formula: run_s / (run_s + stop_s), unit: "%", scale: 100, ...}}

A state fact gives ``states`` or ``states_except`` (every code of the metric but these, so that a
cause added to the profile later is counted as "other" without editing the KPI file). A fact's
unit may be left out where its kind implies one: seconds for times, none for entries, the metric's
own unit for a counter.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from shugu.analytics.model import (
    PLANNED_FACT,
    Bound,
    DerivedFact,
    FactKind,
    FactSpec,
    KpiSpec,
    Level,
    ParameterSpec,
    ProfileKpis,
)
from shugu.analytics.time_model import TimeModelIn, expand
from shugu.domain.errors import ValidationError
from shugu.domain.expr import FUNCTION_NAMES, Expression, parse_expression
from shugu.domain.profiles import KNOWN_UNITS, MetricKind, MetricSpec, Profile, get_profile

ERROR_CODE = "kpi_file_invalid"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

#: Units of facts, parameters and KPIs: the profiles' metric units, what integrating them over
#: hours gives, and the ratios shugu reports. A closed set catches a typo ("kwh/m") when the file
#: loads; add a unit here when a KPI needs one.
KPI_UNITS = frozenset(
    {
        *KNOWN_UNITS,
        "s",
        "min",
        "h",
        "K",
        "K·h",
        "°C·h",
        "MWh",
        "m³",
        "µS/cm·h",
        "kWh/m",
        "kWh/MWh",
        "/10⁵ pick",
        "/h",
        "pick/h",
        "m/h",
    }
)


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


class BoundIn(_Strict):
    expr: str
    min: float | None = None
    max: float | None = None


class FactIn(_Strict):
    kind: FactKind
    metric: str | None = None
    states: list[int] | None = None
    states_except: list[int] | None = None
    expr: str | None = None
    bounds: list[BoundIn] | None = None
    planned_only: bool = False
    unit: str | None = None


class ParameterIn(_Strict):
    default: float
    unit: str = ""
    attribute: str | None = Field(default=None, min_length=1, max_length=128)


class DerivedIn(_Strict):
    formula: str
    unit: str = ""


class KpiIn(_Strict):
    formula: str
    unit: str
    label_zh: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    scale: float = 1.0
    better: Literal["higher", "lower"] | None = None
    up_to: Level = "region"
    quantity: bool = False


class KpiFileIn(_Strict):
    profile: str
    max_gap_s: float = Field(default=300.0, gt=0, le=86_400)
    output_fact: str | None = None
    energy_fact: str | None = None
    is_meter: bool = False
    time_model: TimeModelIn | None = None
    parameters: dict[str, ParameterIn] = Field(default_factory=dict)
    facts: dict[str, FactIn] = Field(default_factory=dict)
    derived: dict[str, DerivedIn] = Field(default_factory=dict)
    kpis: dict[str, KpiIn] = Field(default_factory=dict)


class _Refusal(Exception):
    """One thing wrong with a file, at a field; turned into a ValidationError naming the file."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _refused(source: str, field: str, reason: str) -> ValidationError:
    return ValidationError(
        f"KPI file {source} is invalid: {field}: {reason}",
        code=ERROR_CODE,
        file=source,
        field=field,
    )


def parse_kpis(text: str, source: str) -> ProfileKpis:
    """Parse and check one KPI file's YAML text; ``source`` names the file in error messages."""
    raw = _yaml(text, source)
    try:
        declared = KpiFileIn.model_validate(raw)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ValidationError(
            f"KPI file {source} is invalid: {_pydantic_reasons(exc)}",
            code=ERROR_CODE,
            file=source,
            field=field,
        ) from exc
    try:
        return _build(declared)
    except _Refusal as refusal:
        raise _refused(source, refusal.field, refusal.reason) from None


def _yaml(text: str, source: str) -> dict[str, Any]:
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _refused(source, "(file)", f"not valid YAML: {exc}") from exc
    except RecursionError:
        # PyYAML builds nested collections recursively: thousands of levels exhaust the stack.
        raise _refused(source, "(file)", "collections nested too deeply") from None
    if not isinstance(raw, dict):
        raise _refused(source, "(top level)", "must be a mapping with profile, facts and kpis")
    return raw


def _pydantic_reasons(error: pydantic.ValidationError) -> str:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(top level)"
        problems.append(f"{location}: {item['msg']}")
    return "; ".join(problems)


def _build(declared: KpiFileIn) -> ProfileKpis:
    try:
        profile = get_profile(declared.profile)
    except ValidationError as exc:
        raise _Refusal("profile", exc.message) from None
    facts, derived, kpis = dict(declared.facts), dict(declared.derived), dict(declared.kpis)
    if declared.time_model is not None:
        _check_time_model(declared.time_model, profile, declared.parameters)
        expansion = expand(declared.time_model, profile)
        _merge(facts, expansion.facts, FactIn, "facts")
        _merge(derived, expansion.derived, DerivedIn, "derived")
        _merge(kpis, expansion.kpis, KpiIn, "kpis")
    _check_names(declared.parameters, facts, derived, kpis)
    parameters = tuple(_parameter(name, p) for name, p in declared.parameters.items())
    fact_specs = tuple(_fact(name, fact, profile) for name, fact in facts.items())
    fact_names = {f.name for f in fact_specs}
    parameter_names = {p.name for p in parameters}
    derived_specs = tuple(
        _derived(name, d, fact_names | parameter_names) for name, d in derived.items()
    )
    derived_names = {d.name for d in derived_specs}
    formula_names = fact_names | derived_names | parameter_names | {PLANNED_FACT}
    kpi_specs = tuple(_kpi(name, kpi, formula_names) for name, kpi in kpis.items())
    if not kpi_specs:
        raise _Refusal("kpis", "a KPI file declares at least one KPI")
    for key in ("output_fact", "energy_fact"):
        named: str | None = getattr(declared, key)
        if named is not None and named not in fact_names | derived_names:
            raise _Refusal(key, f"{named!r} is not a fact or derived fact of this file")
    if declared.is_meter and declared.energy_fact is None:
        raise _Refusal("is_meter", "a meter needs energy_fact, the energy it stands for")
    return ProfileKpis(
        profile=profile.name,
        facts=fact_specs,
        kpis=kpi_specs,
        parameters=parameters,
        derived=derived_specs,
        max_gap_s=declared.max_gap_s,
        output_fact=declared.output_fact,
        energy_fact=declared.energy_fact,
        is_meter=declared.is_meter,
        state_metric=declared.time_model.metric if declared.time_model is not None else None,
    )


def _merge(
    into: dict[str, Any], made: dict[str, dict[str, Any]], model: type[BaseModel], section: str
) -> None:
    for name, entry in made.items():
        if name in into:
            raise _Refusal(
                f"{section}.{name}",
                f"time_model makes {section[:-1]} {name!r}: choose another name",
            )
        into[name] = model.model_validate(entry)


def _check_names(
    parameters: dict[str, ParameterIn],
    facts: dict[str, FactIn],
    derived: dict[str, DerivedIn],
    kpis: dict[str, KpiIn],
) -> None:
    seen: dict[str, str] = {}
    for section, names in (
        ("parameters", parameters),
        ("facts", facts),
        ("derived", derived),
        ("kpis", kpis),
    ):
        for name in names:
            field = f"{section}.{name}"
            if not _NAME.match(name):
                raise _Refusal(field, f"{name!r} is not a lower-case snake_case name")
            if name == PLANNED_FACT or name in FUNCTION_NAMES:
                raise _Refusal(field, f"{name!r} is reserved (planned time or a function)")
            if section == "kpis":
                continue  # KPIs have names of their own: a KPI may share its fact's name
            if name in seen:
                raise _Refusal(field, f"{name!r} is already a name in {seen[name]}")
            seen[name] = section


def _check_time_model(model: TimeModelIn, profile: Profile, parameters: dict[str, Any]) -> None:
    _state_codes("time_model.metric", model.metric, model.running, profile, "time_model.running")
    for key in ("failures", "not_allocated"):
        states = getattr(model, key)
        if states is not None:
            metric = states.metric or model.metric
            at = f"time_model.{key}"
            _state_codes(f"{at}.metric", metric, states.states, profile, f"{at}.states")
    for key in ("produced", "good", "scrap"):
        counter: str | None = getattr(model, key)
        if counter is not None:
            _metric_of_kind(f"time_model.{key}", counter, MetricKind.COUNTER, profile)
    if model.produced is None:
        for key in ("good", "scrap", "ideal_rate"):
            if getattr(model, key) is not None:
                raise _Refusal(f"time_model.{key}", f"{key} needs produced, the counter of output")
    if model.good is not None and model.scrap is not None:
        raise _Refusal("time_model.scrap", "give good or scrap, not both")
    if model.ideal_rate is not None and model.ideal_rate.parameter not in parameters:
        raise _Refusal(
            "time_model.ideal_rate.parameter",
            f"{model.ideal_rate.parameter!r} is not declared under parameters",
        )


def _metric_of_kind(field: str, metric: str, kind: MetricKind, profile: Profile) -> MetricSpec:
    spec = profile.metric(metric)
    if spec is None:
        known = ", ".join(sorted(profile.metrics)) or "none"
        raise _Refusal(field, f"profile {profile.name} has no metric {metric!r} (it has {known})")
    if spec.kind is not kind:
        raise _Refusal(field, f"{metric} is a {spec.kind} metric, not a {kind} metric")
    return spec


def _state_codes(
    field: str, metric: str, codes: Iterable[int], profile: Profile, codes_field: str
) -> tuple[int, ...]:
    spec = _metric_of_kind(field, metric, MetricKind.STATE, profile)
    known = spec.states or {}
    unknown = [code for code in codes if code not in known]
    if unknown:
        states = ", ".join(spec.state_names())
        raise _Refusal(codes_field, f"{metric} has no state {unknown[0]} (its states: {states})")
    return tuple(sorted(set(codes)))


def _unit(field: str, unit: str) -> str:
    if unit not in KPI_UNITS:
        known = ", ".join(repr(u) for u in sorted(KPI_UNITS))
        raise _Refusal(field, f"unknown unit {unit!r}; known units: {known}")
    return unit


def _expression(field: str, text: str, allowed: set[str], what: str) -> Expression:
    try:
        expression = parse_expression(text, field=field)
    except ValidationError as exc:
        raise _Refusal(field, exc.message) from None
    unknown = [name for name in expression.names if name not in allowed]
    if unknown:
        raise _Refusal(field, f"{unknown[0]!r} is not {what}")
    return expression


_FIELDS_OF_KIND: dict[str, frozenset[str]] = {
    "state_time": frozenset({"metric", "states", "states_except"}),
    "state_entries": frozenset({"metric", "states", "states_except"}),
    "counter": frozenset({"metric"}),
    "integral": frozenset({"expr"}),
    "data_time": frozenset({"expr"}),
    "time_within": frozenset({"bounds"}),
}
_DEFAULT_UNIT: dict[str, str] = {
    "state_time": "s",
    "state_entries": "",
    "data_time": "s",
    "time_within": "s",
}


def _fact(name: str, fact: FactIn, profile: Profile) -> FactSpec:
    at = f"facts.{name}"
    wanted = _FIELDS_OF_KIND[fact.kind]
    for key in ("metric", "states", "states_except", "expr", "bounds"):
        if getattr(fact, key) is not None and key not in wanted:
            raise _Refusal(f"{at}.{key}", f"a fact of kind {fact.kind} takes no {key}")
    metrics = set(profile.metrics)
    metric_names = f"a metric of profile {profile.name}"
    states: tuple[int, ...] = ()
    expr = None
    bounds: tuple[Bound, ...] = ()
    default_unit = _DEFAULT_UNIT.get(fact.kind)
    if fact.kind in ("state_time", "state_entries", "counter") and fact.metric is None:
        raise _Refusal(f"{at}.metric", f"a fact of kind {fact.kind} needs metric")
    if fact.kind in ("state_time", "state_entries"):
        states = _fact_states(at, fact, profile)
    elif fact.kind == "counter":
        assert fact.metric is not None
        spec = _metric_of_kind(f"{at}.metric", fact.metric, MetricKind.COUNTER, profile)
        default_unit = spec.unit
    elif fact.kind in ("integral", "data_time"):
        if fact.expr is None:
            raise _Refusal(f"{at}.expr", f"a fact of kind {fact.kind} needs expr")
        expr = _expression(f"{at}.expr", fact.expr, metrics, metric_names)
    else:
        bounds = _bounds(at, fact.bounds or [], metrics, metric_names)
    unit = fact.unit if fact.unit is not None else default_unit
    if unit is None:
        raise _Refusal(
            f"{at}.unit", f"a fact of kind {fact.kind} needs unit (value·hours: kWh for kW)"
        )
    return FactSpec(
        name=name,
        kind=fact.kind,
        metric=fact.metric,
        states=states,
        expr=expr,
        bounds=bounds,
        planned_only=fact.planned_only,
        unit=_unit(f"{at}.unit", unit),
    )


def _fact_states(at: str, fact: FactIn, profile: Profile) -> tuple[int, ...]:
    assert fact.metric is not None
    if (fact.states is None) == (fact.states_except is None):
        raise _Refusal(f"{at}.states", f"a fact of kind {fact.kind} gives states or states_except")
    if fact.states is not None:
        return _state_codes(f"{at}.metric", fact.metric, fact.states, profile, f"{at}.states")
    assert fact.states_except is not None
    excluded = _state_codes(
        f"{at}.metric", fact.metric, fact.states_except, profile, f"{at}.states_except"
    )
    spec = profile.metrics[fact.metric]
    states = tuple(sorted(code for code in spec.states or {} if code not in excluded))
    if not states:
        raise _Refusal(f"{at}.states_except", f"it leaves no state of {fact.metric}")
    return states


def _bounds(at: str, bounds: list[BoundIn], metrics: set[str], what: str) -> tuple[Bound, ...]:
    if not bounds:
        raise _Refusal(f"{at}.bounds", "a time_within fact needs at least one bound")
    out = []
    for i, bound in enumerate(bounds):
        field = f"{at}.bounds.{i}"
        expr = _expression(f"{field}.expr", bound.expr, metrics, what)
        if bound.min is None and bound.max is None:
            raise _Refusal(field, "a bound needs min, max or both")
        if bound.min is not None and bound.max is not None and bound.min > bound.max:
            raise _Refusal(field, f"min ({bound.min}) is greater than max ({bound.max})")
        out.append(Bound(expr, bound.min, bound.max))
    return tuple(out)


def _parameter(name: str, parameter: ParameterIn) -> ParameterSpec:
    unit = _unit(f"parameters.{name}.unit", parameter.unit)
    return ParameterSpec(name, parameter.default, unit, parameter.attribute)


def _derived(name: str, derived: DerivedIn, allowed: set[str]) -> DerivedFact:
    at = f"derived.{name}"
    formula = _expression(
        f"{at}.formula", derived.formula, allowed, "a fact or parameter of this file"
    )
    return DerivedFact(name, formula, _unit(f"{at}.unit", derived.unit))


def _kpi(name: str, kpi: KpiIn, allowed: set[str]) -> KpiSpec:
    at = f"kpis.{name}"
    what = f"a fact, derived fact or parameter of this file, or {PLANNED_FACT}"
    formula = _expression(f"{at}.formula", kpi.formula, allowed, what)
    if kpi.scale == 0:
        raise _Refusal(f"{at}.scale", "a scale of 0 would show every value as 0")
    return KpiSpec(
        name=name,
        formula=formula,
        unit=_unit(f"{at}.unit", kpi.unit),
        label_zh=kpi.label_zh,
        label_en=kpi.label_en,
        scale=kpi.scale,
        better=kpi.better,
        up_to=kpi.up_to,
        quantity=kpi.quantity,
    )


def _load_files(files: Iterable[Traversable]) -> dict[str, ProfileKpis]:
    out: dict[str, ProfileKpis] = {}
    for file in sorted(files, key=lambda f: f.name):
        kpis = parse_kpis(file.read_text(encoding="utf-8"), file.name)
        stem = file.name.rsplit(".", 1)[0]
        if kpis.profile != stem:
            raise _refused(
                file.name,
                "profile",
                f"declares profile {kpis.profile!r}; it must match the file name {stem!r}",
            )
        out[kpis.profile] = kpis
    return out


def load_kpis_from(directory: Path) -> dict[str, ProfileKpis]:
    """Every ``*.yaml`` KPI file of a directory, by profile (for files kept outside the package)."""
    return _load_files(p for p in directory.iterdir() if p.suffix == ".yaml")


@functools.cache
def _shipped() -> dict[str, ProfileKpis]:
    directory = resources.files("shugu.analytics").joinpath("kpis")
    return _load_files(f for f in directory.iterdir() if f.name.endswith(".yaml"))


def load_kpis() -> dict[str, ProfileKpis]:
    """The KPI files shipped with shugu by profile, loaded and checked once per process.

    Returns a fresh dict each call so that a caller adding to it cannot change what others see.
    """
    return dict(_shipped())


def kpis_for(profile: str) -> ProfileKpis | None:
    """The KPIs of a device profile, or None for a profile without a KPI file."""
    return _shipped().get(profile)
