"""Alarm rules as data: what to watch, on which devices, and when it is wrong.

A rule is a pydantic model validated with errors that name the field. Default rules ship in each
device profile's YAML (``rules:``) and apply to every device of that profile; an enterprise adds
its own rules scoped to a profile, an asset subtree or one device, and overrides a rule's limits
for one device.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Self

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shugu.domain.errors import ValidationError
from shugu.domain.expr import Expression, parse_expression
from shugu.domain.profiles import Profile, load_profiles
from shugu.domain.timeutil import MAX_INSTANT_MS, china_datetime, parse_instant
from shugu.monitor.anomaly import DEFAULT_SENSITIVITY, PATTERN_SENSITIVITY
from shugu.monitor.model import Severity

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: The fewest and most rows a plant rule may be fitted on (its fit buffer is held per device
#: until fitted).
MIN_FIT_POINTS = 8
MAX_FIT_POINTS = 100_000
#: Registry ids are 64-bit; a larger number names nothing (and the database cannot take it).
MAX_ID = 2**63 - 1


class RuleKind(StrEnum):
    #: Above or below a limit, cleared with a deadband (hysteresis).
    threshold = "threshold"
    #: Like threshold, but only once the condition has held for ``for_s`` seconds.
    duration = "duration"
    #: Change faster than ``max_rise_per_h`` / ``max_fall_per_h`` over ``window_s``.
    rate = "rate"
    #: No point from the device for ``for_s`` seconds (offline).
    no_data = "no_data"
    #: A limit on arithmetic over several metrics of one device (ΔT, approach).
    expression = "expression"
    #: A counter that does not rise for ``for_s`` while ``running_metric`` says running.
    counter_stalled = "counter_stalled"
    #: At least ``at_least`` entries of ``metric`` into one of ``into`` within ``window_s``.
    burst = "burst"
    #: The streaming anomaly detector's alarm on one metric.
    anomaly = "anomaly"
    #: The plant detector over several ``metrics`` of a device, fitted on its first
    #: ``fit_points`` rows (设备多传感器模型); the alarm names the sensor that drove it.
    plant = "plant"


#: The limits a per-device override may change, per kind of rule; everything else but
#: :data:`COMMON_OVERRIDES` defines what the rule is. A device's own sensitivity makes one noisy
#: machine quieter without making the rule deaf on the others.
KIND_OVERRIDES: Mapping[RuleKind, tuple[str, ...]] = MappingProxyType(
    {
        RuleKind.threshold: ("above", "below", "deadband"),
        RuleKind.duration: ("above", "below", "deadband", "for_s"),
        RuleKind.expression: ("above", "below", "deadband", "for_s"),
        RuleKind.rate: ("max_rise_per_h", "max_fall_per_h"),
        RuleKind.no_data: ("for_s",),
        RuleKind.counter_stalled: ("for_s",),
        RuleKind.burst: ("at_least",),
        RuleKind.anomaly: ("sensitivity",),
        RuleKind.plant: ("sensitivity",),
    }
)
#: What every kind's override may change besides its limits.
COMMON_OVERRIDES = ("severity", "enabled", "flap_window_s", "flap_start", "flap_stop")
#: Parameters a per-device override may change on some kind of rule.
OVERRIDABLE = frozenset(
    {name for names in KIND_OVERRIDES.values() for name in names} | set(COMMON_OVERRIDES)
)


def fit_instant(value: str | int | float) -> datetime:
    """A plant rule's ``fit_from`` as the API's ranges read instants: milliseconds since 1970 or
    ISO 8601 (without an offset: China time); ValueError saying what is wrong."""
    between = "fit_from must lie between 1970 and the year 9999"
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("fit_from takes whole milliseconds since 1970 or ISO 8601")
        value = int(value)
    try:
        ms = parse_instant(str(value), "fit_from")
        if not 0 <= ms <= MAX_INSTANT_MS:
            raise ValueError(between)
        return china_datetime(ms)
    except ValidationError as exc:
        raise ValueError(exc.message) from None
    except (OverflowError, ValueError, OSError):
        raise ValueError(between) from None


class RuleSpec(BaseModel):
    # A NaN or infinite limit would be accepted and then never (or always) fire.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    key: str
    kind: RuleKind
    label_zh: str = Field(min_length=1, max_length=200)
    label_en: str = Field(min_length=1, max_length=200)
    severity: Severity = Severity.major
    enabled: bool = True
    metric: str | None = None
    expr: str | None = None
    unit: str = ""
    above: float | None = None
    below: float | None = None
    deadband: float = Field(default=0.0, ge=0)
    for_s: float = Field(default=0.0, ge=0, le=7 * 86400)
    max_rise_per_h: float | None = Field(default=None, gt=0)
    max_fall_per_h: float | None = Field(default=None, gt=0)
    window_s: float = Field(default=600.0, gt=0, le=86400)
    #: A counter_stalled rule's running flag; an anomaly or plant rule judges (and learns) its
    #: metrics only while this reads running (non-zero), so planned stops are neither learned
    #: nor alarmed on (decisions 0069 and 0071).
    running_metric: str | None = None
    into: tuple[float, ...] | None = None
    at_least: int | None = Field(default=None, ge=1, le=64)
    sensitivity: float | None = Field(default=None, ge=0, le=1)
    #: An anomaly rule's detector also judges the series' pattern (how surprising the next value
    #: range is after the last few), unless this is false (decision 0062). Its sensitivity
    #: defaults to 0.34 with the pattern and to 0.4 without.
    pattern: bool | None = None
    #: An anomaly alarm clears after this long without a new departure.
    clear_after_s: float = Field(default=3600.0, gt=0)
    #: A plant rule's sensors, and how many rows of each device's normal running it is fitted
    #: on before it judges anything. The console's form proposes a day of the profile's rows
    #: (decision 0074); left out here, it is SKAB's protocol, 400.
    metrics: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=64)
    fit_points: int = Field(default=400, ge=MIN_FIT_POINTS, le=MAX_FIT_POINTS)
    #: Where a plant rule's fit is taken from (拟合起点, decision 0076): each device's first
    #: ``fit_points`` rows of running from this instant on are read back from the store when
    #: the rule is saved, so the rule judges at once. None: the rows that come after the save.
    #: Milliseconds since 1970 or ISO 8601 (without an offset: China time), as the API's ranges.
    fit_from: datetime | None = None
    #: A plant rule's conditions (工况): metrics of what the machine is given, the weather or
    #: its load, that its sensors are judged against rather than judged themselves (decision
    #: 0072).
    conditions: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=16)
    #: Flap detection: ``flap_start`` changes of state (raised or cleared) within
    #: ``flap_window_s`` make the alarm flap: one alarm held open and marked, counting its
    #: flips, with no new alarm or notice per flip. It stops flapping once fewer than
    #: ``flap_stop`` changes fall within the window, and settles into the rule's verdict.
    flap_window_s: float = Field(default=600.0, gt=0, le=86400)
    flap_start: int = Field(default=8, ge=2, le=10_000)
    flap_stop: int = Field(default=3, ge=1, le=10_000)

    @field_validator("fit_from", mode="before")
    @classmethod
    def _instant(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return value
        return fit_instant(value)

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        if not _KEY.match(self.key):
            raise ValueError(f"key: {self.key!r} is not a lower-case snake_case name")
        kind = self.kind
        needs_metric = kind not in (RuleKind.expression, RuleKind.no_data, RuleKind.plant)
        if needs_metric and not self.metric:
            raise ValueError(f"metric: a {kind} rule needs metric")
        if kind is RuleKind.expression:
            if not self.expr:
                raise ValueError("expr: an expression rule needs expr")
            parse_expression(self.expr)
        elif self.expr is not None:
            raise ValueError(f"expr: belongs to expression rules, not to {kind}")
        if kind in (RuleKind.threshold, RuleKind.duration, RuleKind.expression):
            if self.above is None and self.below is None:
                raise ValueError(f"above: a {kind} rule needs above, below or both")
            if self.above is not None and self.below is not None and self.below >= self.above:
                raise ValueError(f"below: ({self.below}) must be less than above ({self.above})")
        if kind is RuleKind.duration and self.for_s <= 0:
            raise ValueError("for_s: a duration rule needs for_s greater than 0")
        if kind in (RuleKind.no_data, RuleKind.counter_stalled) and self.for_s <= 0:
            raise ValueError(f"for_s: a {kind} rule needs for_s greater than 0")
        if kind is RuleKind.rate and self.max_rise_per_h is None and self.max_fall_per_h is None:
            raise ValueError(
                "max_rise_per_h: a rate rule needs max_rise_per_h, max_fall_per_h or both"
            )
        if kind is RuleKind.counter_stalled and not self.running_metric:
            raise ValueError("running_metric: a counter_stalled rule needs running_metric")
        judged_while = (RuleKind.counter_stalled, RuleKind.anomaly, RuleKind.plant)
        if self.running_metric and kind not in judged_while:
            raise ValueError(
                "running_metric: belongs to counter_stalled, anomaly and plant rules, "
                f"not to {kind}"
            )
        own = (self.metric, *(self.metrics or ()), *(self.conditions or ()))
        if self.running_metric and self.running_metric in own:
            raise ValueError("running_metric: must be another metric than the rule's own")
        if self.flap_stop >= self.flap_start:
            raise ValueError(
                f"flap_stop: ({self.flap_stop}) must be less than flap_start ({self.flap_start})"
            )
        if kind is RuleKind.plant:
            if not self.metrics:
                raise ValueError("metrics: a plant rule needs metrics (the sensors it models)")
            if len(set(self.metrics)) != len(self.metrics):
                raise ValueError("metrics: a sensor is named twice")
            if self.metric is not None:
                raise ValueError("metric: a plant rule names its sensors in metrics")
        elif self.metrics is not None:
            raise ValueError(f"metrics: belongs to plant rules, not to {kind}")
        if self.fit_from is not None:
            if kind is not RuleKind.plant:
                raise ValueError(f"fit_from: belongs to plant rules, not to {kind}")
            if self.fit_from.tzinfo is None:
                raise ValueError("fit_from: give the time with its offset, e.g. +08:00")
        if self.conditions is not None:
            if kind is not RuleKind.plant:
                raise ValueError(f"conditions: belongs to plant rules, not to {kind}")
            if len(set(self.conditions)) != len(self.conditions):
                raise ValueError("conditions: a metric is named twice")
            if set(self.conditions) & set(self.metrics or ()):
                raise ValueError("conditions: a sensor of the model cannot be its condition too")
        if self.pattern and kind is not RuleKind.anomaly:
            raise ValueError(f"pattern: belongs to anomaly rules, not to {kind}")
        if kind is RuleKind.burst and (not self.into or self.at_least is None):
            raise ValueError("at_least: a burst rule needs into (the states counted) and at_least")
        return self

    @property
    def uses_pattern(self) -> bool:
        """An anomaly rule judges the series' pattern unless ``pattern`` is false."""
        return self.kind is RuleKind.anomaly and self.pattern is not False

    @functools.cached_property
    def expression(self) -> Expression | None:
        return parse_expression(self.expr) if self.expr else None

    def inputs(self) -> tuple[str, ...]:
        """The metrics the rule reads."""
        if self.expression is not None:
            return self.expression.names
        if self.metrics:
            flag = (self.running_metric,) if self.running_metric else ()
            return (*self.metrics, *(self.conditions or ()), *flag)
        names = tuple(n for n in (self.metric, self.running_metric) if n)
        return names

    def subject(self) -> str:
        if self.metrics:
            return ", ".join(self.metrics)
        return self.expr or self.metric or "*"

    def limit_text(self) -> str:
        """The limit as a person reads it, e.g. "18–27", "≤ 7", "≥ 3 in 3600 s"."""
        kind = self.kind
        if kind in (RuleKind.threshold, RuleKind.duration, RuleKind.expression):
            if self.above is not None and self.below is not None:
                text = f"{_num(self.below)}–{_num(self.above)}"
            elif self.above is not None:
                text = f"≤ {_num(self.above)}"
            else:
                text = f"≥ {_num(self.below)}"
            return text + (f" ({_num(self.for_s)} s)" if self.for_s else "")
        if kind is RuleKind.rate:
            parts = []
            if self.max_rise_per_h is not None:
                parts.append(f"+{_num(self.max_rise_per_h)}/h")
            if self.max_fall_per_h is not None:
                parts.append(f"-{_num(self.max_fall_per_h)}/h")
            return " ".join(parts)
        if kind is RuleKind.burst:
            return f"< {self.at_least} / {_num(self.window_s)} s"
        if kind is RuleKind.anomaly:
            shown = _num(self.effective_sensitivity)
            text = f"sensitivity {shown}" + ("" if self.uses_pattern else ", no pattern")
            return text + (f", while {self.running_metric}" if self.running_metric else "")
        if kind is RuleKind.plant:
            shown = _num(self.effective_sensitivity)
            since = f" from {self.fit_from.isoformat()}" if self.fit_from else ""
            text = f"fit {self.fit_points} rows{since}, sensitivity {shown}"
            if self.conditions:
                text += f", given {', '.join(self.conditions)}"
            return text + (f", while {self.running_metric}" if self.running_metric else "")
        return f"{_num(self.for_s)} s"

    @property
    def effective_sensitivity(self) -> float:
        """An anomaly or plant rule's sensitivity, its default where none is given."""
        if self.sensitivity is not None:
            return self.sensitivity
        return PATTERN_SENSITIVITY if self.uses_pattern else DEFAULT_SENSITIVITY

    def with_overrides(self, params: dict[str, Any]) -> RuleSpec:
        """The rule with a device's own limits; errors name the overridden field."""
        allowed = (*KIND_OVERRIDES[self.kind], *COMMON_OVERRIDES)
        for known, problem in (
            (OVERRIDABLE, "cannot be overridden per device; overridable"),
            (allowed, f"is not a limit of {self.kind.value} rules; overridable for them"),
        ):
            outside = sorted(set(params) - set(known))
            if outside:
                raise ValidationError(
                    f"{outside[0]} {problem}: " + ", ".join(sorted(known)),
                    code="override_invalid",
                    field=outside[0],
                )
        return validate_rule({**self.model_dump(), **params}, source="override")


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}"


def describe_errors(error: pydantic.ValidationError, source: str) -> ValidationError:
    problems = []
    fields: list[str] = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        if not location:
            # Checks across fields name their field at the start of the message.
            location, _, message = message.partition(": ")
        fields.append(location)
        problems.append(f"{location}: {message}")
    first = fields[0] or None
    return ValidationError(
        f"{source} is invalid: " + "; ".join(problems), code="rule_invalid", field=first
    )


def validate_rule(raw: dict[str, Any], *, source: str = "rule") -> RuleSpec:
    try:
        return RuleSpec.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise describe_errors(exc, source) from exc


class RuleScope(BaseModel):
    """Where a rule applies: every device of a profile, an asset and all below it, or one
    device. Exactly one is given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: str | None = None
    asset_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    device_id: int | None = Field(default=None, ge=1, le=MAX_ID)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [v for v in (self.profile, self.asset_id, self.device_id) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of profile, asset_id or device_id")
        return self


def default_rule_ref(profile: str, key: str) -> str:
    return f"{profile}.{key}"


def custom_rule_ref(config_id: int) -> str:
    return f"custom.{config_id}"


@dataclass(frozen=True, slots=True)
class InputProblem:
    """A metric a rule reads that its profile cannot give it."""

    #: The rule's field that names the metric (``metric``, ``metrics``, ``conditions``,
    #: ``running_metric``).
    field: str
    message: str


def input_problem(profile: Profile, rule: RuleSpec) -> InputProblem | None:
    """The first metric of ``rule`` that ``profile`` lacks, or a running flag that is not an
    on/off metric; None when the profile's devices can feed the rule.

    A profile that is not strict (``generic``) takes any metric: its devices whose readings lack
    the rule's inputs are skipped by the monitor.
    """
    for name in rule.inputs():
        if profile.strict and name not in profile.metrics:
            return InputProblem(
                _field_naming(rule, name), f"profile {profile.name} has no metric {name!r}"
            )
    flag = profile.metrics.get(rule.running_metric or "")
    if flag is not None and not flag.bool_as_number:
        return InputProblem(
            "running_metric",
            f"running_metric: {rule.running_metric!r} of profile {profile.name} "
            "is not an on/off metric",
        )
    return None


def _field_naming(rule: RuleSpec, name: str) -> str:
    if name == rule.running_metric:
        return "running_metric"
    if name in (rule.conditions or ()):
        return "conditions"
    return "metrics" if name in (rule.metrics or ()) else "metric"


@functools.cache
def default_rules() -> dict[str, tuple[str, RuleSpec]]:
    """Every profile's shipped rules: ref → (profile, rule). Invalid data fails loudly here."""
    rules: dict[str, tuple[str, RuleSpec]] = {}
    for profile in load_profiles().values():
        for index, raw in enumerate(profile.rules):
            rule = validate_rule(dict(raw), source=f"profile {profile.name} rules[{index}]")
            problem = input_problem(profile, rule)
            if problem is not None:
                raise ValidationError(
                    f"profile {profile.name} rule {rule.key}: {problem.message}",
                    code="rule_invalid",
                    field=f"rules[{index}]",
                )
            rules[default_rule_ref(profile.name, rule.key)] = (profile.name, rule)
    return rules
