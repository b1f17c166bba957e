"""Conditions over an enterprise's facts: parsing refuses what is malformed, evaluation says
what falls short and by how much, and missing data never passes."""

from __future__ import annotations

from datetime import date

import pytest

from shugu.domain.errors import ValidationError
from shugu.region.conditions import describe, evaluate, parse_condition

GAZELLE = {
    "all": [
        {"fact": "years_since_established", "op": "<=", "value": 20},
        {
            "any": [
                {
                    "all": [
                        {"fact": "years_since_established", "op": "<=", "value": 5},
                        {"fact": "revenue_wan", "op": ">=", "value": 50000},
                    ]
                },
                {
                    "all": [
                        {"fact": "revenue_cagr_3y", "op": ">=", "value": 0.20},
                        {"fact": "revenue_base_wan", "op": ">", "value": 1000},
                    ]
                },
            ]
        },
    ]
}


def test_a_threshold_met_exactly_holds() -> None:
    cond = parse_condition({"fact": "staff", "op": "<=", "value": 500})
    assert evaluate(cond, {"staff": 500}).ok
    assert not evaluate(cond, {"staff": 501}).ok


def test_the_closest_branch_of_any_explains_the_miss_with_its_gap() -> None:
    facts = {
        "years_since_established": 8,
        "revenue_wan": 9000,
        "revenue_cagr_3y": 0.172,
        "revenue_base_wan": 4000,
    }
    verdict = evaluate(parse_condition(GAZELLE), facts)
    assert not verdict.ok
    (short,) = verdict.shortfalls
    assert short.fact == "revenue_cagr_3y" and short.actual == 0.172
    assert short.gap == pytest.approx(0.14)
    text = describe(short, "zh", label="营收三年复合增长率", fmt=lambda v: f"{float(v):.1%}")
    assert text == "营收三年复合增长率 17.2%，需 ≥ 20.0%"
    facts["revenue_cagr_3y"] = 0.2
    assert evaluate(parse_condition(GAZELLE), facts).ok


def test_missing_data_never_passes_and_is_said_to_be_missing() -> None:
    cond = parse_condition({"fact": "rd_share", "op": "<", "value": 0.5})
    verdict = evaluate(cond, {})
    assert not verdict.ok and verdict.shortfalls[0].missing_data
    assert describe(verdict.shortfalls[0], "en") == "rd_share: no data, needs < 0.5"
    # Not over a missing fact: the comparison fails, so "not" holds only by the data it has.
    assert evaluate(parse_condition({"not": {"fact": "listed", "op": "==", "value": True}}), {}).ok


def test_lists_dates_and_sets() -> None:
    facts = {
        "certifications": ["高企", "科小"],
        "nbs_top": "05",
        "established_on": date(2020, 3, 1),
    }
    assert evaluate(
        parse_condition({"fact": "certifications", "op": "has", "value": "高企"}), facts
    ).ok
    assert not evaluate(
        parse_condition({"fact": "certifications", "op": "has", "value": "小巨人"}), facts
    ).ok
    assert evaluate(parse_condition({"fact": "nbs_top", "op": "in", "value": ["05"]}), facts).ok
    after = parse_condition({"fact": "established_on", "op": ">=", "value": date(2019, 1, 1)})
    assert evaluate(after, facts).ok


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"fact": "x"},
        {"fact": "x", "op": "~", "value": 1},
        {"fact": "not a name", "op": ">=", "value": 1},
        {"fact": "x", "op": ">=", "value": "text"},
        {"fact": "x", "op": "in", "value": []},
        {"all": []},
        {"all": [{"fact": "x", "op": ">=", "value": float("nan")}]},
        {"fact": "x", "op": "exists", "value": 1},
        {"all": [{"fact": "x", "op": "==", "value": 1}], "any": []},
    ],
)
def test_malformed_conditions_are_refused_with_a_code(bad: object) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_condition(bad)
    assert caught.value.code == "condition_invalid"


def test_a_tree_too_deep_is_refused() -> None:
    deep: object = {"fact": "x", "op": ">=", "value": 1}
    for _ in range(20):
        deep = {"not": deep}
    with pytest.raises(ValidationError):
        parse_condition(deep)
