"""Every formula kind and the Dalian examples, against amounts computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from shugu.domain.errors import ValidationError
from shugu.region.policies.formulas import Inputs, compute
from shugu.region.policies.matching import match
from shugu.region.policies.model import parse_formula, parse_policy
from shugu.region.policies.seed import load_seed


def seeded(code: str):  # type: ignore[no-untyped-def]
    return next(p for p in load_seed().policies if p.code == code)


def test_proportional_below_the_cap() -> None:
    # R&D of a major project: 10,000万 × 20 % = 2,000万, under the 5,000万 cap.
    benefit = compute(seeded("dl-rd-major").benefit, Inputs({"rd_spend_wan": 10_000}))
    assert benefit.amount_wan == 2000
    assert not any("封顶" in line.zh for line in benefit.lines)


def test_proportional_capped() -> None:
    # 30,000万 × 20 % = 6,000万, capped at 5,000万.
    benefit = compute(seeded("dl-rd-major").benefit, Inputs({"rd_spend_wan": 30_000}))
    assert benefit.amount_wan == 5000
    assert any("capped at 5,000" in line.en and "6,000" in line.en for line in benefit.lines)
    assert benefit.used == {"rd_spend_wan": 30_000}


def test_proportional_without_its_base_is_unknown_not_zero() -> None:
    benefit = compute(seeded("dl-rd-major").benefit, Inputs({}))
    assert benefit.amount_wan is None
    assert benefit.missing == ("rd_spend_wan",)


def test_fixed() -> None:
    assert compute(parse_formula({"kind": "fixed", "amount_wan": 30}), Inputs({})).amount_wan == 30


def test_one_free_two_half_over_three_years() -> None:
    # 50 m² × 60 元 × 12 = 36,000 元 a year: 3.6万 free, then 1.8万 and 1.8万: 7.2万.
    benefit = compute(seeded("dl-new-tech-sme-rent").benefit, Inputs({}))
    assert benefit.by_year == (3.6, 1.8, 1.8)
    assert benefit.amount_wan == 7.2


def test_rent_area_capped() -> None:
    # Designated building, two years free: 2,600 m² leased, 2,000 m² counted, at 45 元:
    # 2,000 × 45 × 12 = 1,080,000 元 = 108万 a year, 216万 in all.
    facts = {"leased_area_m2": 2600, "rent_yuan_m2_month": 45}
    benefit = compute(seeded("dl-designated-rent").benefit, Inputs(facts))
    assert benefit.by_year == (108.0, 108.0)
    assert benefit.amount_wan == 216.0
    assert any("counted at the cap of 2,000" in line.en for line in benefit.lines)


def test_rent_area_under_the_cap() -> None:
    facts = {"leased_area_m2": 300, "rent_yuan_m2_month": 50}
    # 300 × 50 × 12 = 180,000 元 = 18万 a year.
    assert compute(seeded("dl-designated-rent").benefit, Inputs(facts)).amount_wan == 36.0


def test_per_device_counts_only_devices_connected_inside_the_window() -> None:
    # Window 2024-01-01 – 2026-12-31, 0.2万 a device, at most 50万.
    before = [date(2023, 6, 1)] * 5
    inside = [date(2024, 1, 1), date(2025, 3, 9), date(2026, 12, 31)]
    after = [date(2027, 1, 1)]
    benefit = compute(seeded("cl-cloud-devices").benefit, Inputs({}, before + inside + after))
    assert benefit.amount_wan == 0.6
    assert benefit.used == {"devices_connected_in_window": 3}


def test_per_device_capped() -> None:
    many = [date(2024, 5, 1)] * 300  # 300 × 0.2 = 60万 → 50万
    assert compute(seeded("cl-cloud-devices").benefit, Inputs({}, many)).amount_wan == 50


def test_hightech_sum_of_rent_and_rewards() -> None:
    # 高企 newly registered and growing: 80 m² × 60 × 12 = 57,600 元 = 5.76万 twice (两免)
    # = 11.52万, registration 30万, development 20万: 61.52万.
    facts = {"certifications": ["高企"], "years_since_established": 1, "revenue_cagr_3y": 25.0}
    policy = seeded("dl-hightech-eaglet")
    found = match(policy, 1, Inputs(facts))
    assert found.status == "qualifies"
    assert found.amount_wan == 61.52
    assert found.benefit.by_year == (5.76 + 30 + 20, 5.76)


def test_eaglet_two_free_one_half_without_rewards() -> None:
    # 雏鹰 only, older, not growing: 5.76 + 5.76 + 2.88 = 14.4万.
    facts = {"certifications": ["雏鹰"], "years_since_established": 4, "revenue_cagr_3y": 5.0}
    found = match(seeded("dl-hightech-eaglet"), 1, Inputs(facts))
    assert found.amount_wan == 14.4
    assert any(line.en == "registration reward: does not apply" for line in found.benefit.lines)


def test_ineligible_by_one_condition_is_nearly_with_what_is_missing() -> None:
    facts = {"key_enterprise": True, "rd_spend_wan": 450}  # needs ≥ 500: 10 % short
    found = match(seeded("dl-rd-major"), 1, Inputs(facts))
    assert found.status == "nearly"
    assert found.amount_wan is None
    assert [line.en for line in found.shortfalls] == ["R&D spend 450 万元, needs ≥ 500 万元"]
    assert [c.held for c in found.checks] == [False, True, False]


def test_far_from_a_condition_is_no() -> None:
    found = match(seeded("dl-rd-major"), 1, Inputs({"key_enterprise": False, "rd_spend_wan": 50}))
    assert found.status == "no"


def test_a_policy_with_dates_in_json_reads_them_as_dates() -> None:
    body = {
        "code": "x-devices",
        "name_zh": "测试",
        "name_en": "test",
        "redeem": "granted",
        "benefit": {
            "kind": "per_device",
            "per_device_wan": 0.1,
            "window_from": "2024-01-01",
            "window_to": "2024-12-31",
        },
    }
    policy = parse_policy(body)
    assert policy.definition["benefit"]["window_from"] == "2024-01-01"
    assert parse_policy(policy.definition) == policy


@pytest.mark.parametrize(
    ("benefit", "field"),
    [
        ({"kind": "proportional", "base": "rd_spend_wan", "rate": -1}, "benefit.rate"),
        ({"kind": "rent", "area_m2": 50, "schedule": "一免两减半"}, "benefit.rent_yuan_m2_month"),
        (
            {"kind": "rent", "area_m2": 5, "rent_yuan_m2_month": 1, "schedule": [2]},
            "benefit.schedule",
        ),
        (
            {
                "kind": "sum",
                "parts": [
                    {"label_zh": "a", "label_en": "a", "formula": {"kind": "sum", "parts": []}}
                ],
            },
            "benefit.parts[0].formula.kind",
        ),
        ({"kind": "magic"}, "benefit.kind"),
    ],
)
def test_bad_formulas_are_refused_naming_the_part(benefit: object, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_formula(benefit)
    assert refused.value.code == "policy_invalid"
    assert refused.value.details["field"] == field
