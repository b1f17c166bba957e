"""A policy (惠企政策) as data: who it is for (a condition over the enterprise's facts) and what
it pays (a benefit formula of a few kinds), read from YAML or a JSON body and checked whole.

Formula kinds (docs/decisions/0039): ``proportional`` (rate × a base fact, capped), ``fixed``
(a sum), ``rent`` (area × rent × a yearly schedule, the area capped: 一免两减半 and the like),
``per_device`` (a sum per device whose first data reached the platform inside the policy's
window, capped) and ``sum`` (parts, each with its own condition, capped together). Money is in
万元 throughout; rent in 元 per m² per month, as leases are written.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from shugu.domain.errors import ValidationError
from shugu.region.conditions import Condition, parse_condition

Redeem = Literal["granted", "quick", "standard"]
#: 免申即享 granted without applying; 快申快享 quick application; the policy's own procedure.
REDEEM_MODES: tuple[Redeem, ...] = ("granted", "quick", "standard")
#: Named yearly schedules: the share of each year's rent the policy pays.
SCHEDULES: dict[str, tuple[float, ...]] = {
    "一免两减半": (1.0, 0.5, 0.5),
    "两免": (1.0, 1.0),
    "两免一减": (1.0, 1.0, 0.5),
    "三免两减半": (1.0, 1.0, 1.0, 0.5, 0.5),
}
CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")
FACT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Larger than any district's single benefit (100亿元): a bigger figure is a typing mistake.
MAX_WAN = 1_000_000.0
MAX_AREA_M2 = 1_000_000.0
MAX_RENT_YUAN = 100_000.0
MAX_YEARS = 10
MAX_PARTS = 10
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class Proportional:
    #: The fact the rate applies to, in 万元 (R&D spend, equipment investment).
    base: str
    rate: float
    cap_wan: float | None


@dataclass(frozen=True, slots=True)
class Fixed:
    amount_wan: float


@dataclass(frozen=True, slots=True)
class Rent:
    #: The enterprise's leased area (a fact, m²); None: the policy's own ``area_m2``.
    area_fact: str | None
    area_m2: float | None
    area_cap_m2: float | None
    #: Rent per m² per month in 元: a fact of the enterprise, or the policy's parameter.
    rent_fact: str | None
    rent_yuan_m2_month: float | None
    #: The share of each year's rent the policy pays, year 1 first.
    schedule: tuple[float, ...]
    schedule_name: str | None


@dataclass(frozen=True, slots=True)
class PerDevice:
    per_device_wan: float
    window_from: date
    window_to: date
    cap_wan: float | None


@dataclass(frozen=True, slots=True)
class Part:
    label_zh: str
    label_en: str
    #: The part applies only where this holds (None: always).
    when: Condition | None
    formula: Formula


@dataclass(frozen=True, slots=True)
class Sum:
    parts: tuple[Part, ...]
    cap_wan: float | None


Formula = Proportional | Fixed | Rent | PerDevice | Sum


@dataclass(frozen=True, slots=True)
class Policy:
    code: str
    name_zh: str
    name_en: str
    #: The policy document's reference (文号) and the department that pays.
    document: str
    department: str
    redeem: Redeem
    eligibility: Condition | None
    benefit: Formula
    #: The definition as given, JSON-safe (dates as ISO text): what a version stores.
    definition: dict[str, Any]

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_zh


def invalid(field: str, reason: str) -> ValidationError:
    return ValidationError(f"{field}: {reason}", code="policy_invalid", field=field)


def _mapping(obj: object, where: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping) or not all(isinstance(k, str) for k in obj):
        raise invalid(where, "an object")
    return obj


def _text(obj: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise invalid(f"{where}.{key}", f"text of 1 to {MAX_TEXT} characters")
    if any(ord(c) < 32 for c in value):
        raise invalid(f"{where}.{key}", "no control characters")
    return value.strip()


def _number(
    obj: Mapping[str, Any],
    key: str,
    where: str,
    *,
    low: float = 0.0,
    high: float = MAX_WAN,
    required: bool = True,
) -> float | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid(f"{where}.{key}", f"a number from {low:g} to {high:g}")
    if not low <= value <= high:
        raise invalid(f"{where}.{key}", f"a number from {low:g} to {high:g}")
    return float(value)


def _required(value: float | None) -> float:
    assert value is not None
    return value


def _fact(obj: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not FACT.match(value):
        raise invalid(f"{where}.{key}", "a fact's name")
    return value


def _date(obj: Mapping[str, Any], key: str, where: str) -> date:
    value = obj.get(key)
    if isinstance(value, date):
        return value
    if isinstance(value, str) and ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise invalid(f"{where}.{key}", "a date, YYYY-MM-DD")


def _only(obj: Mapping[str, Any], keys: set[str], where: str) -> None:
    unknown = sorted(set(obj) - keys)
    if unknown:
        raise invalid(
            f"{where}.{unknown[0]}", f"not a field here (fields: {', '.join(sorted(keys))})"
        )


def with_dates(obj: object) -> object:
    """A condition as JSON writes it, its ISO date texts made dates (YAML reads them so)."""
    if isinstance(obj, Mapping):
        return {k: with_dates(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [with_dates(v) for v in obj]
    if isinstance(obj, str) and ISO_DATE.match(obj):
        try:
            return date.fromisoformat(obj)
        except ValueError:
            return obj
    return obj


def condition_of(obj: object, where: str) -> Condition | None:
    if obj is None:
        return None
    return parse_condition(with_dates(obj), field=where)


def parse_formula(obj: object, where: str = "benefit", *, depth: int = 0) -> Formula:
    raw = _mapping(obj, where)
    kind = raw.get("kind")
    cap = "cap_wan"
    if kind == "proportional":
        _only(raw, {"kind", "base", "rate", cap}, where)
        base = _fact(raw, "base", where)
        assert base is not None
        rate = _required(_number(raw, "rate", where, high=10.0))
        return Proportional(base, rate, _number(raw, cap, where, required=False))
    if kind == "fixed":
        _only(raw, {"kind", "amount_wan"}, where)
        return Fixed(_required(_number(raw, "amount_wan", where)))
    if kind == "rent":
        return _rent(raw, where)
    if kind == "per_device":
        _only(raw, {"kind", "per_device_wan", "window_from", "window_to", cap}, where)
        start, end = _date(raw, "window_from", where), _date(raw, "window_to", where)
        if end < start:
            raise invalid(f"{where}.window_to", "on or after window_from")
        per = _required(_number(raw, "per_device_wan", where))
        return PerDevice(per, start, end, _number(raw, cap, where, required=False))
    if kind == "sum":
        if depth > 0:
            raise invalid(f"{where}.kind", "a part of a sum is not a sum itself")
        _only(raw, {"kind", "parts", cap}, where)
        parts = raw.get("parts")
        if not isinstance(parts, Sequence) or isinstance(parts, str) or not parts:
            raise invalid(f"{where}.parts", "a non-empty list")
        if len(parts) > MAX_PARTS:
            raise invalid(f"{where}.parts", f"at most {MAX_PARTS} parts")
        return Sum(
            tuple(_part(p, f"{where}.parts[{i}]") for i, p in enumerate(parts)),
            _number(raw, cap, where, required=False),
        )
    raise invalid(f"{where}.kind", "one of proportional, fixed, rent, per_device, sum")


def _part(obj: object, where: str) -> Part:
    raw = _mapping(obj, where)
    _only(raw, {"label_zh", "label_en", "when", "formula"}, where)
    return Part(
        _text(raw, "label_zh", where),
        _text(raw, "label_en", where),
        condition_of(raw.get("when"), f"{where}.when"),
        parse_formula(raw.get("formula"), f"{where}.formula", depth=1),
    )


def _rent(raw: Mapping[str, Any], where: str) -> Rent:
    keys = {"kind", "area_fact", "area_m2", "area_cap_m2", "rent_fact", "rent_yuan_m2_month"}
    _only(raw, keys | {"schedule"}, where)
    area_fact = _fact(raw, "area_fact", where, required=False)
    area = _number(raw, "area_m2", where, high=MAX_AREA_M2, required=False)
    if (area_fact is None) == (area is None):
        raise invalid(f"{where}.area_m2", "give area_m2 or area_fact, one of them")
    rent_fact = _fact(raw, "rent_fact", where, required=False)
    rent = _number(raw, "rent_yuan_m2_month", where, high=MAX_RENT_YUAN, required=False)
    if (rent_fact is None) == (rent is None):
        raise invalid(f"{where}.rent_yuan_m2_month", "give it or rent_fact, one of them")
    schedule = raw.get("schedule")
    name: str | None = None
    if isinstance(schedule, str):
        if schedule not in SCHEDULES:
            raise invalid(f"{where}.schedule", f"one of {', '.join(SCHEDULES)} or a list")
        name, shares = schedule, SCHEDULES[schedule]
    elif (
        isinstance(schedule, Sequence)
        and 0 < len(schedule) <= MAX_YEARS
        and all(
            not isinstance(s, bool) and isinstance(s, int | float) and 0 <= s <= 1 for s in schedule
        )
    ):
        shares = tuple(float(s) for s in schedule)
    else:
        raise invalid(f"{where}.schedule", f"1 to {MAX_YEARS} shares from 0 to 1, or a name")
    cap = _number(raw, "area_cap_m2", where, high=MAX_AREA_M2, required=False)
    return Rent(area_fact, area, cap, rent_fact, rent, shares, name)


POLICY_FIELDS = {
    "code",
    "name_zh",
    "name_en",
    "document",
    "department",
    "redeem",
    "eligibility",
    "benefit",
}


def parse_policy(obj: object, *, code: str | None = None) -> Policy:
    """A policy from its YAML or JSON form; ``policy_invalid`` (or ``condition_invalid``) names
    the part refused. ``code``: the code a route's path gives, which the body may not change."""
    raw = _mapping(obj, "policy")
    _only(raw, POLICY_FIELDS, "policy")
    if code is not None and raw.get("code", code) != code:
        raise invalid("policy.code", "the code in the body differs from the path's")
    given = raw.get("code", code)
    if not isinstance(given, str) or not CODE.match(given):
        raise invalid("policy.code", "2 to 40 of a-z, 0-9, _ and -, from a letter or digit")
    redeem = raw.get("redeem")
    if redeem not in REDEEM_MODES:
        raise invalid("policy.redeem", f"one of {', '.join(REDEEM_MODES)}")
    policy = Policy(
        code=given,
        name_zh=_text(raw, "name_zh", "policy"),
        name_en=_text(raw, "name_en", "policy"),
        document=_text(raw, "document", "policy", required=False),
        department=_text(raw, "department", "policy", required=False),
        redeem=redeem,
        eligibility=condition_of(raw.get("eligibility"), "policy.eligibility"),
        benefit=parse_formula(raw.get("benefit")),
        definition={},
    )
    definition = json.loads(json.dumps({**raw, "code": given}, default=_jsonable))
    return Policy(**{**_fields(policy), "definition": definition})


def _fields(policy: Policy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in Policy.__slots__}


def _jsonable(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")
