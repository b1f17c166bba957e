"""Hostile policy definitions (the body of ``POST /api/region/policies`` and ``PUT …/{code}``)
and hostile facts: a definition is refused with ``policy_invalid`` or ``condition_invalid`` naming
the part, or accepted and then sound: it reads back to the same policy from what a version
stores, and over any facts its amount is unknown (a fact missing) or a finite sum of 万元 no
larger than its cap."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from bench.fuzz_cases import hostile_numbers, hostile_text, json_scalars
from hypothesis import given
from hypothesis import strategies as st

from shugu.domain.errors import ValidationError
from shugu.region.policies.formulas import Inputs, compute
from shugu.region.policies.matching import match
from shugu.region.policies.model import parse_policy
from shugu.region.policies.seed import load_seed
from tests.fuzz.fuzzing import fuzz

SEEDS = [p.definition for p in load_seed().policies]
anything = st.one_of(
    hostile_text, hostile_numbers, st.none(), st.booleans(), json_scalars, st.just([]), st.just({})
)
PATHS = [
    ("code",),
    ("name_zh",),
    ("redeem",),
    ("eligibility",),
    ("benefit", "kind"),
    ("benefit", "rate"),
    ("benefit", "cap_wan"),
    ("benefit", "base"),
    ("benefit", "schedule"),
    ("benefit", "area_m2"),
    ("benefit", "per_device_wan"),
    ("benefit", "window_from"),
    ("benefit", "parts"),
    ("extra",),
]


def _mutated(seed: dict[str, Any], path: tuple[str, ...], value: object) -> dict[str, Any]:
    body = {**seed, "benefit": dict(seed["benefit"])}
    if len(path) == 1:
        body[path[0]] = value
    else:
        body["benefit"][path[1]] = value
    return body


facts = st.dictionaries(
    st.sampled_from(
        [
            "rd_spend_wan",
            "key_enterprise",
            "certifications",
            "years_since_established",
            "leased_area_m2",
            "rent_yuan_m2_month",
            "devices_connected",
            "cloud_spend_wan",
        ]
    ),
    st.one_of(hostile_numbers, st.booleans(), st.lists(st.sampled_from(["高企", "雏鹰", "科小"]))),
    max_size=8,
)


@fuzz()
@given(
    seed=st.sampled_from(SEEDS),
    path=st.sampled_from(PATHS),
    value=anything,
    known=facts,
    first=st.lists(st.dates(date(2020, 1, 1), date(2030, 1, 1)), max_size=20),
)
def test_hostile_policy_bodies(
    seed: dict[str, Any],
    path: tuple[str, ...],
    value: object,
    known: dict[str, object],
    first: list[date],
) -> None:
    body = _mutated(seed, path, value)
    try:
        policy = parse_policy(body)
    except ValidationError as refused:
        assert refused.code in ("policy_invalid", "condition_invalid")
        assert refused.details.get("field")
        return
    assert parse_policy(policy.definition) == policy
    inputs = Inputs(known, first)
    benefit = compute(policy.benefit, inputs)
    if benefit.amount_wan is not None:
        assert math.isfinite(benefit.amount_wan) and benefit.amount_wan >= 0
        cap = getattr(policy.benefit, "cap_wan", None)
        if cap is not None:
            assert benefit.amount_wan <= cap
    match(policy, 1, inputs)
