"""The policies shugu starts with (``policies.yaml``), with the settings beside them: how close
"nearly qualifies" is, and how many days an enterprise has to object to a grant."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from shugu.region.policies.matching import Nearness
from shugu.region.policies.model import Policy, invalid, parse_policy

SEED_FILE = Path(__file__).parent / "policies.yaml"


@dataclass(frozen=True, slots=True)
class Seed:
    policies: tuple[Policy, ...]
    nearness: Nearness
    objection_days: int


def parse_seed(raw: object) -> Seed:
    if not isinstance(raw, Mapping):
        raise invalid("seed", "an object")
    items = raw.get("policies")
    if not isinstance(items, list):
        raise invalid("seed.policies", "a list")
    policies = tuple(parse_policy(item) for item in items)
    codes = [p.code for p in policies]
    if len(set(codes)) != len(codes):
        raise invalid("seed.policies", "each code once")
    near = raw.get("nearness", {})
    if not isinstance(near, Mapping):
        raise invalid("seed.nearness", "an object")
    days = raw.get("objection_days", 15)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
        raise invalid("seed.objection_days", "1 to 365 days")
    default = Nearness()
    nearness = Nearness(
        int(near.get("max_shortfalls", default.max_shortfalls)),
        float(near.get("max_gap", default.max_gap)),
    )
    return Seed(policies, nearness, days)


@functools.cache
def load_seed(path: Path = SEED_FILE) -> Seed:
    return parse_seed(yaml.safe_load(path.read_text(encoding="utf-8")))
