"""The energy baseline's numbers: a known linear model is recovered, weather is kept only when
energy depends on it, a 10 % efficiency gain shows as about 10 % savings, and days without data
are in neither side."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from shugu.analytics.baseline import (
    DAY_MS,
    MIN_REFERENCE_DAYS,
    BaselineModel,
    fit_baseline,
    savings,
)
from shugu.domain.errors import ValidationError
from shugu.domain.timeutil import CHINA_OFFSET_MS

Floats = npt.NDArray[np.float64]
Days = npt.NDArray[np.int64]


def local_midnight(date: str) -> int:
    """ms of a date's midnight in Asia/Shanghai."""
    return int(np.datetime64(date, "D").astype(np.int64)) * DAY_MS - CHINA_OFFSET_MS


REFERENCE_START = local_midnight("2024-01-01")
REPORTING_START = local_midnight("2025-01-01")


def year_of_days(start_ms: int, n: int, seed: int) -> tuple[npt.NDArray[np.int64], Floats, Floats]:
    """Days, a daily output that varies (3,000 to 9,000 m) and a seasonal mean temperature."""
    rng = np.random.default_rng(seed)
    days = start_ms + np.arange(n, dtype=np.int64) * DAY_MS
    day_of_year = (days + CHINA_OFFSET_MS) // DAY_MS % 365
    temperature = 17.0 - 11.0 * np.cos(2 * np.pi * (day_of_year - 15) / 365) + rng.normal(0, 2, n)
    output = rng.uniform(3_000, 9_000, n)
    return days, output, temperature


def energy_of(output: Floats, temperature: Floats, *, weather: float, seed: int) -> Floats:
    """The true model: 1,200 kWh a day standing, 0.45 kWh per metre, ``weather`` kWh per
    cooling degree-day above 22 °C, and noise of 120 kWh (about 3 %)."""
    rng = np.random.default_rng(seed)
    cdd = np.maximum(temperature - 22.0, 0.0)
    return 1_200.0 + 0.45 * output + weather * cdd + rng.normal(0, 120, output.shape[0])


def coefficient(model: BaselineModel, name: str) -> tuple[float, float, str]:
    found = next(c for c in model.coefficients if c.name == name)
    return found.value, found.std_error or 0.0, found.unit


def test_the_fit_recovers_a_known_linear_model() -> None:
    days, output, temperature = year_of_days(REFERENCE_START, 366, seed=1)
    energy = energy_of(output, temperature, weather=0.0, seed=2)
    model = fit_baseline(days, energy, output, use_weather=False, output_unit="m")
    intercept, intercept_se, intercept_unit = coefficient(model, "intercept")
    slope, slope_se, slope_unit = coefficient(model, "output")
    assert abs(intercept - 1_200.0) < 3 * intercept_se
    assert abs(slope - 0.45) < 3 * slope_se
    assert slope == pytest.approx(0.45, rel=0.03)
    assert (intercept_unit, slope_unit) == ("kWh/d", "kWh/m")
    quality = model.quality
    assert quality.n_days == 366 and quality.parameters == 2 and quality.n_months == 12
    assert quality.r2 > 0.95 and quality.adj_r2 <= quality.r2
    assert quality.cv_rmse_pct == pytest.approx(120 / energy.mean() * 100, rel=0.15)
    assert quality.nmbe_pct == pytest.approx(0.0, abs=1e-6)
    assert quality.monthly_cv_rmse_pct is not None and quality.monthly_cv_rmse_pct < 15
    assert quality.meets_guideline14
    assert model.weather.reason == "not_requested" and not model.uses_weather


def test_weather_dependence_is_detected_with_its_base_temperature() -> None:
    days, output, temperature = year_of_days(REFERENCE_START, 366, seed=3)
    energy = energy_of(output, temperature, weather=90.0, seed=4)
    model = fit_baseline(days, energy, output, temperature, output_unit="m")
    assert model.uses_weather and model.weather.kept and model.weather.reason == "kept"
    assert model.base_temperature_c is not None and abs(model.base_temperature_c - 22.0) <= 1.0
    slope, slope_se, unit = coefficient(model, "cooling_degree_days")
    assert slope == pytest.approx(90.0, rel=0.1) and unit == "kWh/(°C·d)"
    assert slope / slope_se >= 3.0
    assert model.weather.adj_r2_with is not None and model.weather.adj_r2_without is not None
    assert model.weather.adj_r2_with > model.weather.adj_r2_without
    assert coefficient(model, "output")[0] == pytest.approx(0.45, rel=0.03)
    assert model.quality.parameters == 4  # the base temperature counts as a parameter


def test_weather_is_left_out_when_energy_does_not_depend_on_it() -> None:
    days, output, temperature = year_of_days(REFERENCE_START, 366, seed=5)
    energy = energy_of(output, temperature, weather=0.0, seed=6)
    model = fit_baseline(days, energy, output, temperature, output_unit="m")
    assert model.weather.requested and not model.weather.kept and not model.uses_weather
    assert model.weather.reason in {"negative_slope", "not_significant", "too_small_gain"}
    assert [c.name for c in model.coefficients] == ["intercept", "output"]


def test_weather_is_kept_for_a_modest_dependence_and_rarely_for_none() -> None:
    """20 kWh per degree-day is about 1 % of the year's energy but 4 % of a hot day's: the term
    must stay. Without any dependence, the best of many base temperatures must seldom pass."""
    kept_modest = kept_none = 0
    for seed in range(40):
        days, output, temperature = year_of_days(REFERENCE_START, 366, seed=100 + seed)
        modest = energy_of(output, temperature, weather=20.0, seed=200 + seed)
        none = energy_of(output, temperature, weather=0.0, seed=300 + seed)
        kept_modest += fit_baseline(days, modest, output, temperature).weather.kept
        kept_none += fit_baseline(days, none, output, temperature).weather.kept
    assert kept_modest == 40
    assert kept_none <= 2


def test_weather_needs_enough_days_with_a_temperature_and_warm_days() -> None:
    days, output, temperature = year_of_days(REFERENCE_START, 60, seed=7)
    energy = energy_of(output, temperature, weather=90.0, seed=8)
    no_temperature = fit_baseline(days, energy, output, np.full(60, np.nan))
    assert no_temperature.weather.reason == "too_few_temperature_days"
    winter = fit_baseline(days, energy, output, np.full(60, 5.0))
    assert winter.weather.reason == "too_few_warm_days"


def test_a_ten_percent_efficiency_gain_shows_as_about_ten_percent_savings() -> None:
    days, output, temperature = year_of_days(REFERENCE_START, 366, seed=9)
    model = fit_baseline(
        days, energy_of(output, temperature, weather=90.0, seed=10), output, temperature
    )
    later, later_output, later_temperature = year_of_days(REPORTING_START, 181, seed=11)
    later_energy = 0.9 * energy_of(later_output, later_temperature, weather=90.0, seed=12)
    result = savings(model, later, later_energy, later_output, later_temperature)
    assert [m.month for m in result.months] == [f"2025-0{i}" for i in range(1, 7)]
    for month in result.months:
        assert month.savings_pct == pytest.approx(10.0, abs=1.5)
        assert month.avoided_kwh == pytest.approx(month.baseline_kwh - month.actual_kwh)
        assert month.days_left_out == 0
    assert result.total.savings_pct == pytest.approx(10.0, abs=0.6)
    assert result.total.days_with_data == 181
    assert result.total.actual_kwh == pytest.approx(later_energy.sum())


def test_the_reference_period_itself_shows_no_savings() -> None:
    days, output, temperature = year_of_days(REFERENCE_START, 366, seed=13)
    energy = energy_of(output, temperature, weather=90.0, seed=14)
    model = fit_baseline(days, energy, output, temperature)
    result = savings(model, days, energy, output, temperature)
    assert result.total.avoided_kwh == pytest.approx(0.0, abs=1e-6 * energy.sum())


def test_days_without_data_are_in_neither_side_never_zero() -> None:
    days, output, temperature = year_of_days(REFERENCE_START, 366, seed=15)
    model = fit_baseline(
        days, energy_of(output, temperature, weather=90.0, seed=16), output, temperature
    )
    later, later_output, later_temperature = year_of_days(REPORTING_START, 59, seed=17)
    later_energy = 0.9 * energy_of(later_output, later_temperature, weather=90.0, seed=18)
    gappy_energy, gappy_output, gappy_temperature = (
        later_energy.copy(),
        later_output.copy(),
        later_temperature.copy(),
    )
    gappy_energy[3:13] = np.nan  # a meter down for ten days in January
    gappy_output[40] = np.nan  # one day's output lost in February
    gappy_temperature[41] = np.nan  # and one day's weather: the model needs it
    kept = np.ones(59, bool)
    kept[3:13] = kept[40] = kept[41] = False
    # Day 50's row is missing altogether; the period says it should be there.
    rows = np.arange(59) != 50
    kept &= rows
    period = (REPORTING_START, REPORTING_START + 59 * DAY_MS)
    result = savings(
        model,
        later[rows],
        gappy_energy[rows],
        gappy_output[rows],
        gappy_temperature[rows],
        period=period,
    )
    only_complete = savings(
        model, later[kept], later_energy[kept], later_output[kept], later_temperature[kept]
    )
    january, february = result.months
    assert (january.days_with_data, january.days_left_out) == (21, 10)
    assert (february.days_with_data, february.days_left_out) == (25, 3)
    for gappy, complete in zip(result.months, only_complete.months, strict=True):
        assert gappy.actual_kwh == pytest.approx(complete.actual_kwh)
        assert gappy.baseline_kwh == pytest.approx(complete.baseline_kwh)
        assert gappy.savings_pct == pytest.approx(10.0, abs=2.0)
    assert result.total.days_left_out == 13


def test_a_period_lists_every_month_it_touches_even_without_rows() -> None:
    days, output, _ = year_of_days(REFERENCE_START, 30, seed=19)
    model = fit_baseline(days, energy_of(output, output * 0, weather=0.0, seed=20), output)
    period = (local_midnight("2025-03-15"), local_midnight("2025-05-02"))
    result = savings(model, [], [], [], period=period)
    assert [(m.month, m.days_with_data, m.days_left_out) for m in result.months] == [
        ("2025-03", 0, 17),
        ("2025-04", 0, 30),
        ("2025-05", 0, 1),
    ]
    assert result.total.savings_pct is None and result.total.baseline_kwh == 0.0


def test_months_are_calendar_months_in_asia_shanghai() -> None:
    days, output, _ = year_of_days(REFERENCE_START, 30, seed=21)
    model = fit_baseline(days, energy_of(output, output * 0, weather=0.0, seed=22), output)
    march_first = local_midnight("2025-03-01")  # 16:00 UTC on 28 February
    result = savings(model, [march_first - DAY_MS, march_first], [5_000.0] * 2, [6_000.0] * 2)
    assert [m.month for m in result.months] == ["2025-02", "2025-03"]
    assert result.months[1].start_ms == march_first


def test_days_outside_the_reference_range_are_counted() -> None:
    days, output, _ = year_of_days(REFERENCE_START, 60, seed=23)
    model = fit_baseline(days, energy_of(output, output * 0, weather=0.0, seed=24), output)
    later = REPORTING_START + np.arange(3) * DAY_MS
    result = savings(model, later, [4_000.0] * 3, [5_000.0, 20_000.0, 100.0])
    assert result.total.days_outside_reference == 2


def test_guideline_14_is_judged_on_monthly_sums_and_needs_enough_months() -> None:
    days, output, temperature = year_of_days(REFERENCE_START, 366, seed=25)
    rng = np.random.default_rng(26)
    # Month-long swings the output does not explain: the monthly sums miss by far more than 15 %.
    month = (days - REFERENCE_START) // (30 * DAY_MS)
    swing = np.where(month % 2 == 0, 1.0, -1.0) * 2_000.0
    erratic = energy_of(output, temperature, weather=0.0, seed=27) + swing + rng.normal(0, 50, 366)
    model = fit_baseline(days, erratic, output, use_weather=False)
    assert model.quality.monthly_cv_rmse_pct is not None
    assert model.quality.monthly_cv_rmse_pct > 15 and not model.quality.meets_guideline14
    short = fit_baseline(
        days[:40], energy_of(output[:40], temperature[:40], weather=0.0, seed=28), output[:40]
    )
    assert short.quality.n_months == 2 and short.quality.monthly_cv_rmse_pct is None
    assert not short.quality.meets_guideline14


def test_the_model_survives_json() -> None:
    days, output, temperature = year_of_days(REFERENCE_START, 366, seed=29)
    model = fit_baseline(
        days, energy_of(output, temperature, weather=90.0, seed=30), output, temperature
    )
    text = json.dumps(model.to_dict(), allow_nan=False)
    assert BaselineModel.from_dict(json.loads(text)) == model
    with pytest.raises(ValueError):
        BaselineModel.from_dict({**json.loads(text), "format": 0})


def reference(n: int = 30) -> tuple[npt.NDArray[np.int64], Floats, Floats]:
    days, output, temperature = year_of_days(REFERENCE_START, n, seed=31)
    return days, energy_of(output, temperature, weather=0.0, seed=32), output


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            lambda d, e, o: (d[: MIN_REFERENCE_DAYS - 1], e[: MIN_REFERENCE_DAYS - 1], o[:13]),
            "baseline_too_few_days",
        ),
        (lambda d, e, o: (d, e, np.full_like(o, 5_000.0)), "baseline_no_output_variance"),
        (lambda d, e, o: (d, np.where(np.arange(30) == 4, np.nan, e), o), "baseline_not_finite"),
        (lambda d, e, o: (d, e, np.where(np.arange(30) == 4, np.inf, o)), "baseline_not_finite"),
        (lambda d, e, o: (d, np.where(np.arange(30) == 4, -1.0, e), o), "baseline_negative_value"),
        (lambda d, e, o: (np.where(np.arange(30) == 4, d[3], d), e, o), "baseline_duplicate_day"),
        (lambda d, e, o: (d, e[:-1], o), "baseline_length_mismatch"),
    ],
    ids=["few days", "constant output", "nan energy", "inf output", "negative", "twice", "lengths"],
)
def test_a_reference_period_that_cannot_carry_a_baseline_is_refused(
    change: Callable[[Days, Floats, Floats], tuple[Days, Floats, Floats]], code: str
) -> None:
    days, energy, output = change(*reference())
    with pytest.raises(ValidationError) as refused:
        fit_baseline(days, energy, output)
    assert refused.value.code == code
