"""Tier evaluation: qualifies, close, far and held, with each shortfall and by how much; missing
data, exactly at a threshold, the CAGR base condition, a certification already held, and
versions saved by the bureau."""

from __future__ import annotations

from datetime import date

import pytest

from shugu.domain.errors import ValidationError
from shugu.region.files.text import shortfall_text
from shugu.region.files.tiers import TierBook, TierStanding, standing_of, tier_def, tier_defs
from tests.region.files.conftest import Files

GAZELLE = {
    "years_since_established": 8.0,
    "rd_share_avg_4y": 3.0,
    "revenue_cagr_3y": 20.0,
    "revenue_base_3y_wan": 1500.0,
    "certifications": [],
}


def _standing(files: Files, facts: dict[str, object], tier: str = "dengling") -> TierStanding:
    criteria = TierBook(files.registry).in_force(date(2026, 1, 1))[tier]
    return standing_of(criteria, facts, tier_def(tier).certification)


def test_exactly_at_the_threshold_qualifies(files: Files) -> None:
    result = _standing(files, GAZELLE)
    assert result.standing == "qualifies" and result.shortfalls == ()


def test_close_names_the_criterion_and_the_gap(files: Files) -> None:
    result = _standing(files, {**GAZELLE, "revenue_cagr_3y": 17.2})
    assert result.standing == "close"
    (short,) = result.shortfalls
    assert short.fact == "revenue_cagr_3y" and short.gap == pytest.approx(0.14)
    assert shortfall_text(short, "zh") == "营收三年复合增长率 17.2 %，需 ≥ 20 %"
    assert shortfall_text(short, "en") == "revenue CAGR over 3 years 17.2 %, needs ≥ 20 %"


def test_growth_on_too_small_a_base_does_not_count(files: Files) -> None:
    result = _standing(files, {**GAZELLE, "revenue_cagr_3y": 45.0, "revenue_base_3y_wan": 1000.0})
    assert result.standing == "close"
    assert [s.fact for s in result.shortfalls] == ["revenue_base_3y_wan"]


def test_missing_data_is_far_and_said_to_be_missing(files: Files) -> None:
    facts = {k: v for k, v in GAZELLE.items() if k != "rd_share_avg_4y"}
    result = _standing(files, facts)
    assert result.standing == "far"
    (short,) = result.shortfalls
    assert short.missing_data
    assert "无数据" in shortfall_text(short, "zh")


def test_far_when_any_gap_exceeds_the_close_share(files: Files) -> None:
    result = _standing(files, {**GAZELLE, "revenue_cagr_3y": 10.0})
    assert result.standing == "far"


def test_a_certification_already_held(files: Files) -> None:
    result = _standing(files, {"certifications": ["瞪羚"]})
    assert result.standing == "held"


def test_every_seed_tier_parses_and_the_ladder_is_complete() -> None:
    certs = {d.certification for d in tier_defs()}
    assert certs == {"科小", "高企", "雏鹰", "瞪羚", "独角兽", "专精特新", "小巨人", "单项冠军"}


def test_high_tech_rd_share_depends_on_revenue_band(files: Files) -> None:
    base = {
        "years_since_established": 3.0,
        "tech_staff_share": 12.0,
        "high_tech_revenue_share": 65.0,
        "certifications": [],
    }
    small = {**base, "revenue_wan": 4000.0, "rd_share_avg_3y": 4.5}
    large = {**base, "revenue_wan": 30000.0, "rd_share_avg_3y": 3.0}
    assert _standing(files, small, "gaoqi").standing == "close"
    assert _standing(files, large, "gaoqi").standing == "qualifies"


def test_a_saved_version_is_used_from_its_date_and_named(files: Files) -> None:
    book = TierBook(files.registry)
    looser = {"fact": "revenue_cagr_3y", "op": ">=", "value": 15}
    saved = book.save("dengling", looser, date(2026, 3, 1), "2026 年新标准", "bureau")
    assert saved.version == 1
    assert book.in_force(date(2026, 2, 28))["dengling"].version == 0
    now = book.in_force(date(2026, 3, 1))["dengling"]
    assert now.version == 1
    assert standing_of(now, {"revenue_cagr_3y": 17.2}, "瞪羚").standing == "qualifies"
    assert [v.version for v in book.versions("dengling")] == [0, 1]
    with pytest.raises(ValidationError) as bad:
        book.save("dengling", {"fact": "x", "op": "~"}, date(2026, 3, 1), "", "bureau")
    assert bad.value.code == "condition_invalid"
