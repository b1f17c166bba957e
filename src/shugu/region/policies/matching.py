"""An enterprise against a policy: which of its conditions hold (each shown), what the benefit
comes to, and whether the enterprise qualifies, nearly qualifies (what is missing, by how much),
or does not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from shugu.region.conditions import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Not,
    Shortfall,
    describe,
    evaluate,
)
from shugu.region.policies.formulas import Benefit, Inputs, Line, compute
from shugu.region.policies.model import Policy
from shugu.region.policies.vocabulary import label, value_text

Status = Literal["qualifies", "nearly", "no"]


@dataclass(frozen=True, slots=True)
class Nearness:
    """How close "nearly qualifies" is: at most this many conditions short, each numeric one
    within this share of what it needs (docs/region.md, Policies)."""

    max_shortfalls: int = 2
    max_gap: float = 0.3


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the eligibility: a comparison held or not, or a group's heading."""

    held: bool | None  # None for a heading (all / any / not)
    zh: str
    en: str
    depth: int

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True, slots=True)
class Match:
    policy: Policy
    enterprise_id: int
    status: Status
    checks: tuple[Check, ...]
    #: Why it does not qualify (empty when it does): conditions short and missing data.
    shortfalls: tuple[Line, ...]
    benefit: Benefit

    @property
    def amount_wan(self) -> float | None:
        return self.benefit.amount_wan if self.status == "qualifies" else None


def _said(shortfall: Shortfall, lang: str) -> str:
    def fmt(value: object) -> str:
        return value_text(shortfall.fact, value, lang)

    return describe(
        shortfall, "en" if lang == "en" else "zh", label=label(shortfall.fact, lang), fmt=fmt
    )


def shortfall_line(shortfall: Shortfall) -> Line:
    return Line(_said(shortfall, "zh"), _said(shortfall, "en"))


def checks_of(condition: Condition | None, inputs: Inputs) -> tuple[Check, ...]:
    if condition is None:
        return (Check(True, "不设条件", "no conditions", 0),)
    out: list[Check] = []
    _walk(condition, inputs, 0, out)
    return tuple(out)


_HEADINGS = {
    AllOf: ("须全部满足：", "all of:"),
    AnyOf: ("满足其一即可：", "any one of:"),
    Not: ("不得满足：", "none of:"),
}


def _walk(condition: Condition, inputs: Inputs, depth: int, out: list[Check]) -> None:
    if isinstance(condition, Compare):
        out.append(_leaf(condition, inputs, depth))
        return
    zh, en = _HEADINGS[type(condition)]
    held = evaluate(condition, inputs.facts).ok
    out.append(Check(None if depth else held, zh, en, depth))
    parts = (condition.part,) if isinstance(condition, Not) else condition.parts
    for part in parts:
        _walk(part, inputs, depth + 1, out)


def _leaf(c: Compare, inputs: Inputs, depth: int) -> Check:
    verdict = evaluate(c, inputs.facts)
    if verdict.ok:
        # Written as a shortfall would be, the comparison shown with the enterprise's value.
        actual = inputs.facts.get(c.fact)
        shown = Shortfall(c.fact, c.op, c.value, actual, None)
        return Check(True, _said(shown, "zh"), _said(shown, "en"), depth)
    line = shortfall_line(verdict.shortfalls[0])
    return Check(False, line.zh, line.en, depth)


def match(
    policy: Policy, enterprise_id: int, inputs: Inputs, nearness: Nearness = Nearness()
) -> Match:
    verdict = evaluate(policy.eligibility, inputs.facts) if policy.eligibility is not None else None
    benefit = compute(policy.benefit, inputs)
    checks = checks_of(policy.eligibility, inputs)
    short = [] if verdict is None else [shortfall_line(s) for s in verdict.shortfalls]
    short += [
        Line(f"{label(m, 'zh')}：无数据", f"{label(m, 'en')}: no data") for m in benefit.missing
    ]
    eligible = verdict is None or verdict.ok
    if eligible and benefit.amount_wan is not None:
        status: Status = "qualifies" if benefit.amount_wan > 0 else "no"
        if status == "no":
            short.append(Line("按公式计得 0 万元", "the formula comes to 0 万元"))
        return Match(policy, enterprise_id, status, checks, tuple(short), benefit)
    shortfalls = () if verdict is None else verdict.shortfalls
    count = len(shortfalls) + len(benefit.missing)
    near = count <= nearness.max_shortfalls and all(
        s.gap is None or s.gap <= nearness.max_gap for s in shortfalls
    )
    return Match(policy, enterprise_id, "nearly" if near else "no", checks, tuple(short), benefit)


def matches_for(
    policies: list[Policy],
    enterprise_id: int,
    inputs: Inputs,
    nearness: Nearness = Nearness(),
) -> list[Match]:
    return [match(p, enterprise_id, inputs, nearness) for p in policies]


InputsOf = Callable[[int], Inputs]
