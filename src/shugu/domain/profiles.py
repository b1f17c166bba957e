"""Device profiles: what a kind of machine reports, as data.

Each profile lives in a YAML file under ``profiles/`` next to this module and is validated by the
pydantic models below when loaded. A profile names its metrics with unit, kind, plausible range and
labels in Chinese and English. A *strict* profile rejects metrics it does not declare; the
``generic`` profile is not strict and takes any metric.

A state metric's states may be sent as text: each state is known by its ``name`` (``RUNNING``),
its labels (``Running``, ``运行``) and its ``aliases``, compared without regard to case or
separators, so ``"running"``, ``"WARP_BREAK"`` and ``"Warp break"`` all name their state.
"""

from __future__ import annotations

import functools
import math
import re
from enum import StrEnum
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Self

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from shugu.domain.digits import ascii_int
from shugu.domain.errors import ValidationError

_SNAKE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

#: Units a metric may declare. A closed set catches typos ("kwh", "degC") when a profile is
#: loaded instead of when a chart is drawn; add a unit here when a new profile needs one.
KNOWN_UNITS = frozenset(
    {
        "",  # dimensionless: states, power factor
        "°C",
        "%",
        "%RH",
        "rpm",
        "pick",
        "m",
        "m³/h",
        "kW",
        "kWh",
        "mm/s",
        "µS/cm",
        "Pa",
        "V",
        "A",
    }
)


class MetricKind(StrEnum):
    #: A value that goes up and down (a temperature, a speed).
    GAUGE = "gauge"
    #: A running total that only grows, apart from resets (energy, picks, metres of fabric).
    COUNTER = "counter"
    #: A code from a fixed set (running or not, the cause of a stop).
    STATE = "state"


class PlantRole(StrEnum):
    """What a gauge is to a model of the whole machine (a plant rule, decision 0072).

    Declared so that whoever writes a plant rule sees it, and the simulated week's bench builds
    its rules from the same declaration."""

    #: What the machine is given rather than how it answers (the weather, its load): a plant
    #: rule judges its sensors against it.
    CONDITION = "condition"
    #: What a controller holds at a set point and lets go only at its limits (a tower's cold
    #: water): a plant rule is better without it, as it moves only at those limits.
    SET_POINT = "set_point"


_SEPARATORS = re.compile(r"[\W_]+")
#: A state code sent in digits has at most nine (see domain/digits.py for why not isdecimal).
_CODE_DIGITS = 9


def state_key(text: str) -> str:
    """How a state's text is compared: case, spaces, dashes, underscores and punctuation aside
    (``"Warp break"``, ``"WARP_BREAK"`` and ``"warp-break"`` are one key)."""
    return _SEPARATORS.sub("_", text.casefold()).strip("_")


class StateSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The state's name as devices and PLCs spell it (``RUNNING``, ``WARP_BREAK``).
    name: str | None = Field(default=None, min_length=1, max_length=64)
    label_zh: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    #: Other spellings devices send for this state (``RUN``, ``ON``).
    aliases: tuple[str, ...] = ()

    def texts(self) -> list[str]:
        """Every text that names this state, the name first."""
        named = [self.name] if self.name else []
        return [*named, self.label_en, self.label_zh, *self.aliases]


class MetricSpec(BaseModel):
    """One metric of a profile. ``min``/``max`` bound the physically plausible values: a value
    outside is stored but flagged, because a sensor fault should be visible, not dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    unit: str
    kind: MetricKind
    min: float | None = None
    max: float | None = None
    #: Accept JSON true/false for this metric as 1/0. Off by default so that a boolean sent for a
    #: numeric metric is caught as an error rather than silently read as 0 or 1.
    bool_as_number: bool = False
    label_zh: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    states: dict[int, StateSpec] | None = None
    #: What the gauge is to a plant rule, when it is not one of the sensors it judges.
    plant_role: PlantRole | None = None
    #: state_key(text) → code, for states sent as text.
    _state_codes: dict[str, int] = PrivateAttr(default_factory=dict)

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str) -> str:
        if unit not in KNOWN_UNITS:
            known = ", ".join(repr(u) for u in sorted(KNOWN_UNITS))
            raise ValueError(f"unknown unit {unit!r}; known units: {known}")
        return unit

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        if self.kind is MetricKind.COUNTER and self.min is not None and self.min < 0:
            raise ValueError("a counter never goes below zero; min must be 0 or more")
        if self.kind is MetricKind.STATE:
            if not self.states:
                raise ValueError("a state metric must list its states")
        elif self.states is not None:
            raise ValueError(f"only state metrics have states, this one is a {self.kind}")
        if self.plant_role is not None and self.kind is not MetricKind.GAUGE:
            raise ValueError(f"only gauges have a plant_role, this one is a {self.kind}")
        if self.bool_as_number:
            if self.kind is not MetricKind.STATE:
                raise ValueError("bool_as_number is for state metrics (on/off)")
            if self.states is None or set(self.states) != {0, 1}:
                raise ValueError("a metric with bool_as_number has exactly the states 0 and 1")
        self._state_codes = _state_codes(self.states or {})
        return self

    def state_code(self, text: str) -> int | None:
        """The code of the state a text names (its name, a label, an alias or its code in
        digits), or None when it names none of this metric's states."""
        if not self._state_codes:
            return None
        code = self._state_codes.get(state_key(text))
        if code is None and self.states is not None:
            number = ascii_int(text.strip(), _CODE_DIGITS)
            if number is not None and number in self.states:
                code = number
        return code

    def state_names(self) -> list[str]:
        """The states as a person reads them in a refusal: ``RUNNING (1, 运行)``."""
        return [
            f"{spec.name or spec.label_en} ({code}, {spec.label_zh})"
            for code, spec in sorted((self.states or {}).items())
        ]

    def is_plausible(self, value: float) -> bool:
        """Whether a value lies in the plausible range (and, for states, is a declared state)."""
        if math.isnan(value):
            return False
        if self.min is not None and value < self.min:
            return False
        if self.max is not None and value > self.max:
            return False
        if self.states is not None:
            return float(value).is_integer() and int(value) in self.states
        return True


def _state_codes(states: dict[int, StateSpec]) -> dict[str, int]:
    codes: dict[str, int] = {}
    for code, spec in states.items():
        for text in spec.texts():
            key = state_key(text)
            if not key:
                raise ValueError(f"state {code}: {text!r} has no letters or digits to match")
            earlier = codes.setdefault(key, code)
            if earlier != code:
                raise ValueError(
                    f"states {earlier} and {code} are both named {text!r} "
                    "(case, spaces and punctuation aside); a text must name one state"
                )
    return codes


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    label_zh: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    #: Strict profiles reject metrics they do not declare.
    strict: bool
    metrics: dict[str, MetricSpec] = Field(default_factory=dict)
    #: Default alarm rules for every device of the profile. Kept as data here; the monitor
    #: validates them (a test loads every shipped profile's rules).
    rules: tuple[dict[str, Any], ...] = ()
    #: The few metrics that tell most about a device at a glance (a device list's columns).
    list_metrics: tuple[str, ...] = ()
    #: The longest a healthy device of this profile stays silent (s); a device silent for a few
    #: such intervals is shown as stale. None: the console's default.
    report_interval_s: float | None = Field(default=None, gt=0, le=86_400)

    @field_validator("name")
    @classmethod
    def _snake_name(cls, name: str) -> str:
        if not _SNAKE_NAME.match(name):
            raise ValueError(f"{name!r} is not a lower-case snake_case name")
        return name

    @field_validator("metrics")
    @classmethod
    def _snake_metric_names(cls, metrics: dict[str, MetricSpec]) -> dict[str, MetricSpec]:
        for metric_name in metrics:
            if not _SNAKE_NAME.match(metric_name):
                raise ValueError(f"metric name {metric_name!r} is not a lower-case snake_case name")
        return metrics

    @model_validator(mode="after")
    def _strict_has_metrics(self) -> Self:
        if self.strict and not self.metrics:
            raise ValueError("a strict profile must declare its metrics")
        return self

    @model_validator(mode="after")
    def _list_metrics_declared(self) -> Self:
        unknown = [m for m in self.list_metrics if m not in self.metrics]
        if unknown:
            raise ValueError(f"list_metrics names undeclared metrics: {', '.join(unknown)}")
        return self

    def metric(self, name: str) -> MetricSpec | None:
        return self.metrics.get(name)

    def rows_in(self, seconds: float) -> int | None:
        """How many readings a device of the profile sends in ``seconds`` at its report
        interval (None when the profile states none): what a plant rule is offered to fit on
        (decision 0074)."""
        if self.report_interval_s is None:
            return None
        return max(1, math.ceil(seconds / self.report_interval_s))

    def plant_gauges(self, role: PlantRole | None) -> list[str]:
        """The gauges whose plant role is ``role`` (None: the sensors a plant rule judges), in
        the profile's order."""
        return [
            name
            for name, spec in self.metrics.items()
            if spec.kind is MetricKind.GAUGE and spec.plant_role is role
        ]


def _describe(source: str, error: pydantic.ValidationError) -> ValidationError:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(top level)"
        problems.append(f"{location}: {item['msg']}")
    first_field = ".".join(str(part) for part in error.errors()[0]["loc"])
    return ValidationError(
        f"profile file {source} is invalid: " + "; ".join(problems),
        code="profile_invalid",
        file=source,
        field=first_field,
    )


def parse_profile(text: str, source: str) -> Profile:
    """Parse one profile from YAML text; ``source`` names the file in error messages."""
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(
            f"profile file {source} is not valid YAML: {exc}", code="profile_invalid", file=source
        ) from exc
    except RecursionError:
        # PyYAML builds nested collections recursively: thousands of levels exhaust the stack.
        raise ValidationError(
            f"profile file {source} nests collections too deeply",
            code="profile_invalid",
            file=source,
        ) from None
    if not isinstance(raw, dict):
        raise ValidationError(
            f"profile file {source} must hold a mapping with name, labels, strict and metrics",
            code="profile_invalid",
            file=source,
        )
    odd = _lone_surrogate(raw)
    if odd is not None:
        # YAML lets one be escaped ("\ud800"); it is not text, and UTF-8 cannot write it.
        raise ValidationError(
            f"profile file {source} contains the lone surrogate U+{ord(odd):04X}, "
            "which is not text",
            code="profile_invalid",
            file=source,
        )
    try:
        return Profile.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise _describe(source, exc) from exc


def _lone_surrogate(raw: Any) -> str | None:
    """The first lone surrogate in any key or string of a loaded document, else None."""
    stack = [raw]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found = next((c for c in item if "\ud800" <= c <= "\udfff"), None)
            if found is not None:
                return found
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _load_directory(files: list[Traversable]) -> dict[str, Profile]:
    profiles: dict[str, Profile] = {}
    for file in sorted(files, key=lambda f: f.name):
        profile = parse_profile(file.read_text(encoding="utf-8"), file.name)
        stem = file.name.rsplit(".", 1)[0]
        if profile.name != stem:
            raise ValidationError(
                f"profile file {file.name} declares name {profile.name!r}; "
                f"the name must match the file name {stem!r}",
                code="profile_invalid",
                file=file.name,
                field="name",
            )
        profiles[profile.name] = profile
    return profiles


def load_profiles_from(directory: Path) -> dict[str, Profile]:
    """Load every ``*.yaml`` profile in a directory (for profiles kept outside the package)."""
    return _load_directory([p for p in directory.iterdir() if p.suffix == ".yaml"])


@functools.cache
def _shipped_profiles() -> dict[str, Profile]:
    directory = resources.files("shugu.domain").joinpath("profiles")
    return _load_directory([f for f in directory.iterdir() if f.name.endswith(".yaml")])


def load_profiles() -> dict[str, Profile]:
    """The profiles shipped with shugu, loaded and validated once per process.

    Returns a fresh dict each call so that a caller adding to it cannot change what others see.
    """
    return dict(_shipped_profiles())


def get_profile(name: str) -> Profile:
    profiles = _shipped_profiles()
    profile = profiles.get(name)
    if profile is None:
        known = ", ".join(sorted(profiles))
        raise ValidationError(
            f"there is no device profile {name!r}; known profiles: {known}",
            code="unknown_profile",
            field="profile",
        )
    return profile
