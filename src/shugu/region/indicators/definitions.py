"""What an indicator, a target and a value must be: the shipped register and targets
(``register.yaml``, ``targets.yaml``) and the bureau's edits are read by the same checks, so
that a bad entry is refused with a code and the field it is in, wherever it comes from."""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final, Literal, TypeVar

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from shugu.domain.errors import ValidationError
from shugu.region.indicators.computations import COMPUTATIONS
from shugu.region.indicators.periods import FIRST_YEAR, LAST_YEAR
from shugu.store.registry.region_indicators import IndicatorSpec

#: Figures larger than this are typing mistakes, not a district's (10¹⁵ 万元).
MAX_MAGNITUDE: Final = 1e15
MAX_NOTE: Final = 500
CODE_PATTERN: Final = re.compile(r"[a-z][a-z0-9_]{1,63}")


M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Name = Field(min_length=1, max_length=200)


class IndicatorIn(_Strict):
    code: str = Field(pattern=rf"^{CODE_PATTERN.pattern}$")
    name_zh: str = Name
    name_en: str = Name
    unit_zh: str = Field(min_length=1, max_length=32)
    unit_en: str = Field(min_length=1, max_length=32)
    definition_zh: str = Field(default="", max_length=2000)
    definition_en: str = Field(default="", max_length=2000)
    source: Literal["computed", "reported"]
    direction: Literal["higher", "lower"]
    computation: str | None = None
    aggregate: Literal["sum", "last", "mean"] = "last"
    decimals: int = Field(default=0, ge=0, le=6)
    position: int | None = Field(default=None, ge=0, le=100_000)


def _number(value: float | None) -> float | None:
    if value is not None and (not math.isfinite(value) or abs(value) > MAX_MAGNITUDE):
        raise ValueError(f"must be a finite number of magnitude at most {MAX_MAGNITUDE:g}")
    return value


class TargetIn(_Strict):
    target: float
    baseline: float | None = None
    note: str = Field(default="", max_length=MAX_NOTE)

    _finite = pydantic.field_validator("target", "baseline")(_number)


class ValueIn(_Strict):
    value: float | None
    note: str = Field(default="", max_length=MAX_NOTE)

    _finite = pydantic.field_validator("value")(_number)


def _refusal(exc: pydantic.ValidationError, code: str) -> ValidationError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    message = f"{field}: {first['msg']}" if field else str(first["msg"])
    return ValidationError(message, code=code, field=field)


def _checked(model: type[M], body: object, code: str) -> M:
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", code=code)
    try:
        return model.model_validate(body, strict=False)
    except pydantic.ValidationError as exc:
        raise _refusal(exc, code) from None
    except (TypeError, ValueError) as exc:  # a hostile value pydantic hands on
        raise ValidationError(str(exc)[:200], code=code) from None


def parse_indicator(body: object, *, position: int) -> IndicatorSpec:
    """An indicator's definition, refused with ``indicator_invalid`` (the field named) or
    ``indicator_computation_unknown``."""
    spec = _checked(IndicatorIn, body, "indicator_invalid")
    if spec.source == "computed" and spec.computation not in COMPUTATIONS:
        raise ValidationError(
            f"a computed indicator names one of the computations: {', '.join(COMPUTATIONS)}",
            code="indicator_computation_unknown",
            field="computation",
        )
    if spec.source == "reported" and spec.computation is not None:
        raise ValidationError(
            "a reported indicator has no computation",
            code="indicator_computation_unknown",
            field="computation",
        )
    return IndicatorSpec(
        code=spec.code,
        name_zh=spec.name_zh,
        name_en=spec.name_en,
        unit_zh=spec.unit_zh,
        unit_en=spec.unit_en,
        definition_zh=spec.definition_zh,
        definition_en=spec.definition_en,
        source=spec.source,
        direction=spec.direction,
        computation=spec.computation,
        aggregate=spec.aggregate,
        decimals=spec.decimals,
        position=spec.position if spec.position is not None else position,
    )


def parse_target(body: object) -> TargetIn:
    return _checked(TargetIn, body, "target_invalid")


def parse_value(body: object) -> ValueIn:
    return _checked(ValueIn, body, "indicator_value_invalid")


# -- the shipped register and targets ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShippedTarget:
    code: str
    year: int
    target: TargetIn


def _yaml(name: str) -> Any:
    text = resources.files("shugu.region.indicators").joinpath(name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


@functools.cache
def shipped_register() -> tuple[IndicatorSpec, ...]:
    """The register as shipped, in order; a bad entry fails loudly (it is shugu's own file)."""
    entries = _yaml("register.yaml")["indicators"]
    return tuple(parse_indicator(e, position=10 * (i + 1)) for i, e in enumerate(entries))


@functools.cache
def shipped_targets() -> tuple[ShippedTarget, ...]:
    codes = {s.code for s in shipped_register()}
    out: list[ShippedTarget] = []
    for year, by_code in _yaml("targets.yaml")["targets"].items():
        if not FIRST_YEAR <= int(year) <= LAST_YEAR:
            raise ValueError(f"targets.yaml: year {year} out of range")
        for code, body in by_code.items():
            if code not in codes:
                raise ValueError(f"targets.yaml: {code} is not in register.yaml")
            out.append(ShippedTarget(code, int(year), parse_target(body)))
    return tuple(out)
