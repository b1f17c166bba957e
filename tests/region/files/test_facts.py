"""An enterprise's facts: the file's fields, the year's figures and ratios, growth over years,
certifications held on the day, and the platform's measurements, unknowns left out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pytest

from shugu.region.facts import FACT_DEFS, FactBook, size_class
from tests.region.files.conftest import Files


class FixedMeasures:
    def measured(self, enterprise_id: int) -> Mapping[str, object]:
        return {"devices_registered": 10, "devices_connected": 8, "connected_share": 80.0}


def _book(files: Files) -> FactBook:
    return FactBook(
        files.registry,
        FixedMeasures(),
        tagger=lambda facts: ["connected"] if facts.get("connected_share") else [],
        today=lambda: date(2026, 6, 1),
    )


def test_file_figures_and_derived_facts(files: Files) -> None:
    reg = files.registry
    reg.update_enterprise_file(
        files.ent_a, {"established_on": date(2016, 6, 1), "industry_code": "1751"}
    )
    for year, revenue, staff, rd in ((2021, 8000, 100, 300), (2022, 9000, 120, 350)):
        reg.put_year_figures(
            files.ent_a, year, {"revenue_wan": revenue, "staff": staff, "rd_spend_wan": rd}, "t"
        )
    reg.put_year_figures(
        files.ent_a,
        2024,
        {
            "revenue_wan": 13824.0,
            "staff": 400,
            "tech_staff": 60,
            "rd_spend_wan": 500.0,
            "total_assets_wan": 10000.0,
            "total_liabilities_wan": 4500.0,
        },
        "t",
    )
    reg.put_year_figures(files.ent_a, 2023, {"revenue_wan": 11000, "rd_spend_wan": 400}, "t")
    facts = _book(files).enterprise_facts(files.ent_a)
    assert facts["figures_year"] == 2024
    assert facts["years_since_established"] == pytest.approx(10.0, abs=0.01)
    assert facts["nbs_top"] == "05" and facts["core_digital"] is False
    assert facts["rd_share"] == pytest.approx(100 * 500 / 13824, abs=1e-3)
    assert facts["tech_staff_share"] == 15.0
    assert facts["debt_ratio"] == 45.0
    # 13824 / 8000 = 1.728 = 1.2 ** 3
    assert facts["revenue_cagr_3y"] == pytest.approx(20.0)
    assert facts["revenue_base_3y_wan"] == 8000
    assert facts["staff_cagr_3y"] == pytest.approx(100 * ((400 / 100) ** (1 / 3) - 1), abs=1e-3)
    assert facts["rd_share_avg_3y"] == pytest.approx(100 * 1250 / 33824, abs=1e-3)
    assert facts["rd_share_avg_4y"] == pytest.approx(100 * 1550 / 41824, abs=1e-3)
    assert facts["size_class"] == "medium"
    assert facts["connected_share"] == 80.0
    assert facts["tags"] == ["connected"]
    assert set(facts) <= set(FACT_DEFS)


def test_unknown_facts_are_left_out(files: Files) -> None:
    files.registry.put_year_figures(files.ent_b, 2024, {"revenue_wan": 100.0}, "t")
    facts = _book(files).enterprise_facts(files.ent_b)
    for name in ("staff", "rd_share", "revenue_cagr_3y", "size_class", "years_since_established"):
        assert name not in facts
    # A zero base gives no growth rate rather than an infinite one.
    files.registry.put_year_figures(files.ent_b, 2021, {"revenue_wan": 0.0}, "t")
    assert "revenue_cagr_3y" not in _book(files).enterprise_facts(files.ent_b)


def test_a_given_year_and_certifications_held_on_its_last_day(files: Files) -> None:
    reg = files.registry
    reg.put_year_figures(files.ent_b, 2023, {"revenue_wan": 1.0}, "t")
    reg.put_year_figures(files.ent_b, 2024, {"revenue_wan": 2.0}, "t")
    reg.add_certification(files.ent_b, "高企", date(2022, 1, 1), date(2024, 12, 31), None, "t")
    reg.add_certification(files.ent_b, "瞪羚", date(2025, 3, 1), None, None, "t")
    book = _book(files)
    assert book.enterprise_facts(files.ent_b, 2023)["revenue_wan"] == 1.0
    assert book.enterprise_facts(files.ent_b, 2023)["certifications"] == ["高企"]
    assert book.enterprise_facts(files.ent_b)["certifications"] == ["瞪羚"]


@pytest.mark.parametrize(
    ("staff", "revenue", "expected"),
    [
        (1000, 40000.0, "large"),
        (999, 90000.0, "medium"),
        (300, 2000.0, "medium"),
        (20, 300.0, "small"),
        (19, 100000.0, "micro"),
        (5000, 299.0, "micro"),
        (None, 1.0, None),
    ],
)
def test_size_class_needs_both_thresholds(
    staff: int | None, revenue: float, expected: str | None
) -> None:
    assert size_class(staff, revenue) == expected


def test_year_figures_upsert_says_what_it_did(files: Files) -> None:
    reg = files.registry
    _, first = reg.put_year_figures(files.ent_a, 2024, {"revenue_wan": 1.0}, "t")
    _, again = reg.put_year_figures(files.ent_a, 2024, {"revenue_wan": 1.0}, "t")
    record, changed = reg.put_year_figures(files.ent_a, 2024, {"staff": 3}, "t")
    assert (first, again, changed) == ("created", "unchanged", "updated")
    assert record.values["revenue_wan"] == 1.0 and record.values["staff"] == 3
