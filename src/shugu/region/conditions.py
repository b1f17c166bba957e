"""Conditions over an enterprise's facts: what tags, tier criteria, policy eligibility and warning
rules are written in, as data.

A condition is a comparison ``{fact, op, value}`` or a combination ``{all: [...]}``,
``{any: [...]}``, ``{not: {...}}``. Evaluated over a flat mapping of facts (numbers, text, bools,
dates, lists of names such as certifications and tags), it answers whether it holds and, when it
does not, what falls short and by how much, so a page can say "瞪羚: revenue CAGR 17.2 %, needs
≥ 20 %". An unknown fact never satisfies a comparison: missing data is reported as missing, never
taken for a pass or a zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from shugu.domain.errors import ValidationError

Op = Literal[">=", ">", "<=", "<", "==", "!=", "in", "not_in", "has", "not_has", "exists"]
ORDERED: frozenset[str] = frozenset({">=", ">", "<=", "<"})
OPS: frozenset[str] = ORDERED | {"==", "!=", "in", "not_in", "has", "not_has", "exists"}
#: Deep enough for any criteria a bureau writes; a deeper tree is a mistake or an attack.
MAX_DEPTH = 8
MAX_PARTS = 200

Scalar = float | int | str | bool | date


@dataclass(frozen=True, slots=True)
class Compare:
    fact: str
    op: Op
    value: Scalar | tuple[Scalar, ...] | None


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    part: Condition


Condition = Compare | AllOf | AnyOf | Not


@dataclass(frozen=True, slots=True)
class Shortfall:
    """One comparison that did not hold."""

    fact: str
    op: str
    needed: object
    #: The enterprise's value; None when the fact is unknown (missing data).
    actual: object
    #: How far off, as a share of the needed value, for ordered comparisons of numbers
    #: (17.2 % against ≥ 20 % → 0.14); None where distance has no meaning.
    gap: float | None

    @property
    def missing_data(self) -> bool:
        return self.actual is None


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    #: Why it does not hold: for ``all``, every failing part; for ``any``, the shortfalls of the
    #: branch that came closest; empty when ``ok``.
    shortfalls: tuple[Shortfall, ...] = ()

    @property
    def worst_gap(self) -> float | None:
        """The largest gap among the shortfalls (inf when one has no distance), None if ok."""
        if self.ok:
            return None
        gaps = [math.inf if s.gap is None else s.gap for s in self.shortfalls]
        return max(gaps, default=math.inf)


def _invalid(field: str, reason: str) -> ValidationError:
    return ValidationError(f"{field}: {reason}", code="condition_invalid", field=field)


def parse_condition(obj: object, *, field: str = "condition") -> Condition:
    """A condition from its YAML or JSON form; ``condition_invalid`` names the part refused."""
    count = [0]
    return _parse(obj, field, 0, count)


def _parse(obj: object, where: str, depth: int, count: list[int]) -> Condition:
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_PARTS:
        raise _invalid(where, "nested too deep or too many parts")
    if not isinstance(obj, Mapping):
        raise _invalid(where, "a condition is an object")
    keys = set(obj)
    for combinator in ("all", "any"):
        if keys == {combinator}:
            parts = obj[combinator]
            if not isinstance(parts, Sequence) or isinstance(parts, str) or not parts:
                raise _invalid(where, f"'{combinator}' takes a non-empty list")
            parsed = tuple(
                _parse(p, f"{where}.{combinator}[{i}]", depth + 1, count)
                for i, p in enumerate(parts)
            )
            return AllOf(parsed) if combinator == "all" else AnyOf(parsed)
    if keys == {"not"}:
        return Not(_parse(obj["not"], f"{where}.not", depth + 1, count))
    if not keys <= {"fact", "op", "value"} or "fact" not in keys or "op" not in keys:
        raise _invalid(where, "expected {fact, op, value} or one of all/any/not")
    fact, op = obj["fact"], obj["op"]
    if not isinstance(fact, str) or not fact.isidentifier():
        raise _invalid(f"{where}.fact", "a fact's name")
    if op not in OPS:
        raise _invalid(f"{where}.op", f"one of {', '.join(sorted(OPS))}")
    return Compare(fact, op, _value(op, obj.get("value"), f"{where}.value"))


def _value(op: str, value: object, where: str) -> Scalar | tuple[Scalar, ...] | None:
    if op == "exists":
        if value is not None:
            raise _invalid(where, "'exists' takes no value")
        return None
    if op in ("in", "not_in"):
        if not isinstance(value, Sequence) or isinstance(value, str) or not value:
            raise _invalid(where, f"'{op}' takes a non-empty list")
        return tuple(_scalar(v, where) for v in value)
    scalar = _scalar(value, where)
    if op in ORDERED and isinstance(scalar, (str, bool)):
        raise _invalid(where, f"'{op}' compares numbers or dates")
    return scalar


def _scalar(value: object, where: str) -> Scalar:
    if isinstance(value, bool | str | date):
        return value
    if isinstance(value, int | float) and math.isfinite(value):
        return value
    raise _invalid(where, "a number, text, true/false or a date")


def evaluate(condition: Condition, facts: Mapping[str, object]) -> Verdict:
    if isinstance(condition, Compare):
        shortfall = _compare(condition, facts.get(condition.fact))
        return Verdict(True) if shortfall is None else Verdict(False, (shortfall,))
    if isinstance(condition, AllOf):
        verdicts = [evaluate(p, facts) for p in condition.parts]
        failing = tuple(s for v in verdicts if not v.ok for s in v.shortfalls)
        return Verdict(all(v.ok for v in verdicts), failing)
    if isinstance(condition, AnyOf):
        verdicts = [evaluate(p, facts) for p in condition.parts]
        if any(v.ok for v in verdicts):
            return Verdict(True)
        closest = min(verdicts, key=_distance)
        return Verdict(False, closest.shortfalls)
    inner = evaluate(condition.part, facts)
    if inner.ok:
        return Verdict(False, (Shortfall("not", "not", "false", "true", None),))
    return Verdict(True)


def _distance(verdict: Verdict) -> tuple[int, float]:
    """Fewest shortfalls first, then the smallest worst gap."""
    worst = verdict.worst_gap
    return len(verdict.shortfalls), math.inf if worst is None else worst


def _compare(c: Compare, actual: object) -> Shortfall | None:
    if c.op == "exists":
        return None if actual is not None else Shortfall(c.fact, c.op, None, None, None)
    if actual is None or (isinstance(actual, float) and not math.isfinite(actual)):
        return Shortfall(c.fact, c.op, c.value, None, None)
    held = _holds(c, actual)
    if held:
        return None
    return Shortfall(c.fact, c.op, c.value, actual, _gap(c, actual))


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


_ORDER: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
}


def _holds(c: Compare, actual: object) -> bool:
    if c.op in ORDERED:
        a, b = _as_number(actual), _as_number(c.value)
        if a is not None and b is not None:
            return _ORDER[c.op](a, b)
        if isinstance(actual, date) and isinstance(c.value, date):
            return _ORDER[c.op](actual.toordinal(), c.value.toordinal())
        return False
    if c.op in ("==", "!="):
        equal = _equal(actual, c.value)
        return equal if c.op == "==" else not equal
    if c.op in ("in", "not_in"):
        options = c.value if isinstance(c.value, tuple) else ()
        inside = any(_equal(actual, option) for option in options)
        return inside if c.op == "in" else not inside
    # has / not_has: the fact is a list of names (certifications, tags)
    items = actual if isinstance(actual, list | tuple | set | frozenset) else ()
    present = any(_equal(item, c.value) for item in items)
    return present if c.op == "has" else not present


def _equal(a: object, b: object) -> bool:
    x, y = _as_number(a), _as_number(b)
    if x is not None and y is not None:
        return x == y
    return a == b


def _gap(c: Compare, actual: object) -> float | None:
    if c.op not in ORDERED:
        return None
    a, b = _as_number(actual), _as_number(c.value)
    if a is None or b is None:
        return None
    scale = abs(b) if b != 0 else max(abs(a), 1.0)
    return abs(a - b) / scale


Lang = Literal["zh", "en"]
_OP_TEXT: dict[str, tuple[str, str]] = {
    ">=": ("需 ≥ {v}", "needs ≥ {v}"),
    ">": ("需 > {v}", "needs > {v}"),
    "<=": ("需 ≤ {v}", "needs ≤ {v}"),
    "<": ("需 < {v}", "needs < {v}"),
    "==": ("需为 {v}", "needs {v}"),
    "!=": ("不得为 {v}", "must not be {v}"),
    "in": ("需为 {v} 之一", "needs one of {v}"),
    "not_in": ("不得为 {v}", "must not be one of {v}"),
    "has": ("需具备 {v}", "needs {v}"),
    "not_has": ("不得具备 {v}", "must not hold {v}"),
    "exists": ("需有数据", "needs data"),
    "not": ("条件不得成立", "must not hold"),
}


def describe(
    shortfall: Shortfall,
    lang: Lang,
    *,
    label: str | None = None,
    fmt: Callable[[object], str] = str,
) -> str:
    """ "营收三年复合增长率 17.2 %，需 ≥ 20 %" / "revenue CAGR 17.2 %, needs ≥ 20 %"; ``label``
    names the fact in ``lang`` and ``fmt`` writes a value with its unit."""
    name = label or shortfall.fact
    needed = shortfall.needed
    shown = (
        ("、".join(fmt(v) for v in needed) if isinstance(needed, tuple) else fmt(needed))
        if needed is not None
        else ""
    )
    zh, en = _OP_TEXT.get(shortfall.op, ("{v}", "{v}"))
    rule = (zh if lang == "zh" else en).format(v=shown)
    if shortfall.actual is None and shortfall.op != "not":
        return f"{name}：无数据，{rule}" if lang == "zh" else f"{name}: no data, {rule}"
    if shortfall.op in ("has", "not_has", "not"):
        return f"{name}：{rule}" if lang == "zh" else f"{name}: {rule}"
    actual = fmt(shortfall.actual)
    return f"{name} {actual}，{rule}" if lang == "zh" else f"{name} {actual}, {rule}"
