"""Progress towards a target and being on track, worked by hand."""

from __future__ import annotations

import pytest

from shugu.domain.errors import ValidationError
from shugu.region.indicators.periods import PeriodKey, parse_period, year_share_elapsed
from shugu.region.indicators.progress import progress


def test_a_count_from_its_baseline() -> None:
    # 620 enterprises at the start, 1,000 wanted, 810 now: (810 - 620) / (1000 - 620) = 0.5.
    result = progress("higher", 1000, 620, 810, expected=0.45)
    assert result.share == pytest.approx(0.5)
    assert result.on_track is True and result.met is False
    assert progress("higher", 1000, 620, 810, expected=0.55).on_track is False


def test_a_flow_without_baseline_starts_from_zero() -> None:
    result = progress("higher", 1_800_000, None, 900_000, expected=0.5)
    assert result.share == pytest.approx(0.5) and result.on_track is True


def test_lower_is_better_runs_from_the_baseline_down() -> None:
    # 0.42 → 0.407 tce per 10k yuan; at 0.4135 half the way is done.
    result = progress("lower", 0.407, 0.42, 0.4135, expected=0.6)
    assert result.share == pytest.approx(0.5)
    assert result.on_track is False
    assert progress("lower", 0.407, 0.42, 0.40, expected=0.6).met is True
    # Worse than the baseline: negative progress.
    worse = progress("lower", 0.407, 0.42, 0.433, expected=0.1)
    assert worse.share == pytest.approx(-1.0) and worse.on_track is False


def test_lower_without_baseline_is_met_or_not() -> None:
    assert progress("lower", 18.0, None, 17.5, expected=0.9).on_track is True
    missed = progress("lower", 18.0, None, 20.0, expected=0.1)
    assert missed.share == pytest.approx(0.9) and missed.on_track is False


def test_a_target_met_is_on_track_whatever_the_date() -> None:
    assert progress("higher", 100, 100, 100, expected=1.0).on_track is True
    assert progress("higher", 100, 100, 99, expected=0.0).share == 0.0


def test_no_actual_no_verdict() -> None:
    result = progress("higher", 10, None, None, expected=2.0)
    assert result.share is None and result.on_track is None and result.expected == 1.0


def test_periods() -> None:
    assert parse_period("2026-03") == PeriodKey(2026, 3)
    assert parse_period(" 2025 ") == PeriodKey(2025)
    for bad in ("2026-13", "2026-3", "26-03", "1999", "", None, 2026, "2026-03-01"):
        with pytest.raises(ValidationError) as caught:
            parse_period(bad)
        assert caught.value.code == "indicator_period_invalid"
    assert PeriodKey(2026, 1).previous_month() == PeriodKey(2025, 12)
    july = PeriodKey(2026, 7).start_ms
    assert year_share_elapsed(2026, july) == pytest.approx(181 / 365)
    assert year_share_elapsed(2025, july) == 1.0 and year_share_elapsed(2027, july) == 0.0


def test_progress_as_shown() -> None:
    from shugu.web.bureau_indicators_view import pct, sparkline

    assert pct(None) == "—" and pct(0.4567) == "45.7%" and pct(-18.6) == "< 0%"
    assert sparkline((("2026-01", None), ("2026-02", 1.0))) == ""
    assert (
        sparkline((("2026-01", 1.0), ("2026-02", None), ("2026-03", 3.0))) == "0.0,26.0 120.0,2.0"
    )
