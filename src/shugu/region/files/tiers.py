"""Cultivation tiers (梯度培育) as versioned data: each tier's criteria are a condition over the
enterprise's facts. ``tiers.yaml`` seeds them (version 0); each save by the bureau adds a
version in the registry, and the newest version in force on a day is the one an evaluation uses
and names.

An enterprise stands to a tier in one of four ways: it already holds the tier's certification
(held), meets the criteria (qualifies), falls short by at most ``CLOSE_GAP`` of every needed
value with no data missing (close), or otherwise (far).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from shugu.domain.errors import NotFoundError, ValidationError
from shugu.region.conditions import Condition, Shortfall, evaluate, parse_condition
from shugu.store.registry import Registry
from shugu.store.registry.region_files import TierVersionRecord

#: A shortfall counts as close when the value is within this share of the needed one.
CLOSE_GAP = 0.2
Standing = Literal["held", "qualifies", "close", "far"]
STANDINGS: tuple[Standing, ...] = ("held", "qualifies", "close", "far")


@dataclass(frozen=True, slots=True)
class TierDef:
    key: str
    #: The certification (资质) that says an enterprise is in the tier.
    certification: str
    label_zh: str
    label_en: str
    seed: Any

    def label(self, lang: str) -> str:
        return self.label_zh if lang.startswith("zh") else self.label_en


@dataclass(frozen=True, slots=True)
class TierCriteria:
    tier: str
    #: 0 for the seed shipped with shugu, 1… for the bureau's saved versions.
    version: int
    source: Any
    condition: Condition
    effective_from: date | None
    note: str
    saved_by: str | None


@dataclass(frozen=True, slots=True)
class TierStanding:
    tier: str
    version: int
    standing: Standing
    #: What is missing and by how much; empty when it qualifies or holds the tier.
    shortfalls: tuple[Shortfall, ...]


@cache
def tier_defs() -> tuple[TierDef, ...]:
    """The tiers in ladder order, with their seed criteria (``region/files/tiers.yaml``)."""
    text = resources.files(__package__).joinpath("tiers.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    defs = tuple(
        TierDef(str(t["key"]), str(t["certification"]), str(t["zh"]), str(t["en"]), t["criteria"])
        for t in data["tiers"]
    )
    for d in defs:
        parse_condition(d.seed, field=f"tiers.{d.key}")
    return defs


def tier_def(key: str) -> TierDef:
    for d in tier_defs():
        if d.key == key:
            return d
    raise NotFoundError("no such tier", code="tier_unknown", field="tier")


def standing_of(
    criteria: TierCriteria,
    facts: Mapping[str, object],
    certification: str,
    close_gap: float = CLOSE_GAP,
) -> TierStanding:
    held = facts.get("certifications")
    if isinstance(held, list) and certification in held:
        return TierStanding(criteria.tier, criteria.version, "held", ())
    verdict = evaluate(criteria.condition, facts)
    if verdict.ok:
        return TierStanding(criteria.tier, criteria.version, "qualifies", ())
    worst = verdict.worst_gap
    close = worst is not None and not math.isinf(worst) and worst <= close_gap
    return TierStanding(
        criteria.tier, criteria.version, "close" if close else "far", verdict.shortfalls
    )


def _seed(d: TierDef) -> TierCriteria:
    return TierCriteria(d.key, 0, d.seed, parse_condition(d.seed), None, "", None)


def _saved(record: TierVersionRecord) -> TierCriteria:
    return TierCriteria(
        record.tier,
        record.version,
        record.criteria,
        parse_condition(record.criteria),
        record.effective_from,
        record.note,
        record.saved_by,
    )


class TierBook:
    """The tiers' criteria in force, from the seed and the bureau's saved versions."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def versions(self, tier: str) -> list[TierCriteria]:
        """Every version of ``tier``'s criteria, the seed first."""
        d = tier_def(tier)
        return [_seed(d), *(_saved(r) for r in self._registry.tier_versions(tier))]

    def in_force(self, day: date) -> dict[str, TierCriteria]:
        """Per tier, the newest saved version in force on ``day`` (the seed where none is)."""
        current = {d.key: _seed(d) for d in tier_defs()}
        for record in self._registry.tier_versions():
            if record.tier in current and record.effective_from <= day:
                current[record.tier] = _saved(record)
        return current

    def save(
        self, tier: str, criteria: object, effective_from: date, note: str, by: str
    ) -> TierCriteria:
        """A new version of ``tier``'s criteria; ``condition_invalid`` if they do not parse."""
        tier_def(tier)
        parse_condition(criteria, field="criteria")
        if len(note) > 2000:
            raise ValidationError("a note has at most 2000 characters", code="tier_note_too_long")
        return _saved(self._registry.save_tier_version(tier, criteria, effective_from, note, by))

    def evaluate(
        self,
        facts: Mapping[str, object],
        in_force: Mapping[str, TierCriteria],
        close_gap: float = CLOSE_GAP,
    ) -> list[TierStanding]:
        """The enterprise against every tier, in ladder order."""
        return [
            standing_of(in_force[d.key], facts, d.certification, close_gap) for d in tier_defs()
        ]


def count_standings(standings: Sequence[TierStanding]) -> dict[Standing, int]:
    out: dict[Standing, int] = dict.fromkeys(STANDINGS, 0)
    for s in standings:
        out[s.standing] += 1
    return out
