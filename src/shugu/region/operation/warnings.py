"""Early warnings (预警) as rules over operation facts (``warnings.yaml``, ``signals.py``):
scanned for a report month (by the schedule, or when the bureau asks), listed for the bureau and
parks, and acknowledged by the bureau. A warning stays open while its rule holds and clears on
the first scan that finds it no longer does."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from shugu.region.conditions import Condition, evaluate, parse_condition
from shugu.region.operation import months
from shugu.region.operation.measured import Meters
from shugu.region.operation.signals import Facts, operation_facts
from shugu.store.registry import Registry
from shugu.store.registry.region_operation import WarningRecord

RULES_FILE: Final = Path(__file__).with_name("warnings.yaml")


class _RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    zh: str
    en: str
    subject: Literal["month", "window"]
    since: Literal["month", "deadline", "today"]
    when: dict[str, Any]
    figures: list[str] = Field(default_factory=list)


class _RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[_RuleIn]


@dataclass(frozen=True, slots=True)
class WarningRule:
    id: str
    zh: str
    en: str
    subject: Literal["month", "window"]
    since: Literal["month", "deadline", "today"]
    when: Condition
    figures: tuple[str, ...]

    def name(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def subject_of(self, month: str) -> str:
        return month if self.subject == "month" else ""

    def since_of(self, month: str, today: date, facts: Facts) -> date:
        due = facts.get("report_deadline")
        if self.since == "deadline" and isinstance(due, date):
            return due + timedelta(days=1)
        if self.since == "month":
            return months.first_day(month)
        return today


def parse_rules(data: object) -> tuple[WarningRule, ...]:
    parsed = _RulesIn.model_validate(data)
    return tuple(
        WarningRule(
            r.id,
            r.zh,
            r.en,
            r.subject,
            r.since,
            parse_condition(r.when, field=f"rules.{r.id}.when"),
            tuple(r.figures),
        )
        for r in parsed.rules
    )


@functools.cache
def load_rules(path: Path = RULES_FILE) -> tuple[WarningRule, ...]:
    return parse_rules(yaml.safe_load(path.read_text(encoding="utf-8")))


def rule_by_id() -> dict[str, WarningRule]:
    return {r.id: r for r in load_rules()}


@dataclass(frozen=True, slots=True)
class ScanResult:
    month: str
    raised: list[WarningRecord]
    #: Warnings raised for the first time in this scan.
    new: int
    cleared: int


def _shown(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def scan(
    registry: Registry,
    meters: Meters,
    month: str,
    today: date,
    deadline_day: int,
    rules: tuple[WarningRule, ...] | None = None,
) -> ScanResult:
    """Evaluate every rule for every enterprise for ``month`` as of ``today``."""
    rules = rules if rules is not None else load_rules()
    enterprises = [e.id for e in registry.operation_enterprises()]
    facts = operation_facts(registry, meters, enterprises, month, today, deadline_day)
    raised: list[WarningRecord] = []
    new = 0
    for enterprise_id in enterprises:
        mine = facts[enterprise_id]
        for rule in rules:
            if not evaluate(rule.when, mine).ok:
                continue
            shown = {k: _shown(mine[k]) for k in rule.figures if k in mine}
            record, first = registry.raise_warning(
                enterprise_id,
                rule.id,
                rule.subject_of(month),
                shown,
                rule.since_of(month, today, mine),
            )
            raised.append(record)
            new += first
    keep = {w.id for w in raised}
    cleared = 0
    for kind in ("month", "window"):
        ids = [r.id for r in rules if r.subject == kind]
        if ids:
            subject = month if kind == "month" else ""
            cleared += registry.clear_warnings(ids, keep, [subject])
    return ScanResult(month, raised, new, cleared)
