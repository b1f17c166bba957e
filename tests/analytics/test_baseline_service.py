"""An enterprise's baseline fitted on a reference period from a source of daily figures, kept in
the registry, and applied month by month; a small fake source stands in for the query service."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest
from argon2 import PasswordHasher

from shugu.analytics.baseline import DAY_MS
from shugu.analytics.baseline_service import (
    MAX_PERIOD_DAYS,
    DailySeries,
    delete_enterprise_baseline,
    enterprise_savings,
    fit_enterprise_baseline,
    get_enterprise_baseline,
)
from shugu.domain.errors import ConflictError, NotFoundError, ValidationError
from shugu.domain.timeutil import CHINA_OFFSET_MS
from shugu.store.registry import Registry
from tests.pg import PostgresServer


def local_midnight(date: str) -> int:
    return int(np.datetime64(date, "D").astype(np.int64)) * DAY_MS - CHINA_OFFSET_MS


REFERENCE = (local_midnight("2024-01-01"), local_midnight("2025-01-01"))
REPORTING = (local_midnight("2025-01-01"), local_midnight("2025-07-01"))
#: The mill's true model: 1,200 kWh a day standing, 0.45 kWh per metre, 90 kWh per cooling
#: degree-day above 22 °C; from 2025 it draws 10 % less for the same work.
EFFICIENCY_FROM = REPORTING[0]


@dataclass
class FakeMill:
    """Daily figures of one weaving mill, made up from a known model with noise."""

    weather: float = 90.0
    output_fact: str = "fabric_m"
    #: Local-day starts on which the meter sent nothing (NaN energy).
    silent_days: set[int] = field(default_factory=set)
    calls: list[tuple[int, int, int]] = field(default_factory=list)

    def daily_energy_output(self, enterprise_id: int, start_ms: int, end_ms: int) -> DailySeries:
        self.calls.append((enterprise_id, start_ms, end_ms))
        first = -(-(start_ms + CHINA_OFFSET_MS) // DAY_MS)
        last = -(-(end_ms + CHINA_OFFSET_MS) // DAY_MS)
        local_days = np.arange(first, last, dtype=np.int64)
        days = local_days * DAY_MS - CHINA_OFFSET_MS
        rng = np.random.default_rng(int(first))
        temperature = 17.0 - 11.0 * np.cos(2 * np.pi * ((local_days % 365) - 15) / 365)
        temperature = temperature + rng.normal(0, 2, days.shape[0])
        output = rng.uniform(3_000, 9_000, days.shape[0])
        energy = 1_200.0 + 0.45 * output + self.weather * np.maximum(temperature - 22.0, 0.0)
        energy = energy + rng.normal(0, 120, days.shape[0])
        energy = np.where(days >= EFFICIENCY_FROM, 0.9 * energy, energy)
        energy = np.where(np.isin(days, list(self.silent_days)), np.nan, energy)
        return DailySeries(days, energy, output, temperature, self.output_fact, "m")


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(
    request: pytest.FixtureRequest, tmp_path: Path, password_hasher: PasswordHasher
) -> Iterator[Registry]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database()
    opened = Registry(url, password_hasher=password_hasher)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def mill_id(registry: Registry) -> int:
    region = registry.create_region("350112", "长乐区")
    park = registry.create_park(region.id, "滨海工业园")
    return registry.create_enterprise(park.id, "长乐织造有限公司", "91110000600037341L").id


def test_a_baseline_is_fitted_kept_and_read_back(registry: Registry, mill_id: int) -> None:
    source = FakeMill()
    fitted = fit_enterprise_baseline(registry, source, mill_id, *REFERENCE, "admin_a")
    assert source.calls == [(mill_id, *REFERENCE)]
    assert fitted.model.uses_weather and fitted.model.quality.meets_guideline14
    assert fitted.model.kwh_per_output == pytest.approx(0.45, rel=0.03)
    assert (fitted.output_fact, fitted.output_unit, fitted.fitted_by) == (
        "fabric_m",
        "m",
        "admin_a",
    )
    assert (fitted.reference_days, fitted.days_left_out) == (366, 0)
    again = get_enterprise_baseline(registry, mill_id)
    assert again == fitted
    assert (again.reference_start_ms, again.reference_end_ms) == REFERENCE


def test_fitting_again_replaces_the_baseline(registry: Registry, mill_id: int) -> None:
    fit_enterprise_baseline(registry, FakeMill(), mill_id, *REFERENCE, "admin_a")
    shorter = (REFERENCE[0], local_midnight("2024-04-01"))
    fit_enterprise_baseline(registry, FakeMill(), mill_id, *shorter, "admin_b", use_weather=False)
    kept = get_enterprise_baseline(registry, mill_id)
    assert (kept.reference_end_ms, kept.fitted_by, kept.use_weather) == (
        shorter[1],
        "admin_b",
        False,
    )
    assert kept.model.weather.reason == "not_requested"


def test_savings_show_the_ten_percent_gain_month_by_month(registry: Registry, mill_id: int) -> None:
    source = FakeMill()
    fit_enterprise_baseline(registry, source, mill_id, *REFERENCE, "admin_a")
    result = enterprise_savings(registry, source, mill_id, *REPORTING)
    assert [m.month for m in result.months] == [f"2025-0{i}" for i in range(1, 7)]
    assert all(m.savings_pct == pytest.approx(10.0, abs=1.5) for m in result.months)
    assert result.total.savings_pct == pytest.approx(10.0, abs=0.6)
    assert result.total.days_with_data == 181 and result.uses_weather


def test_days_without_data_are_left_out_of_the_fit_and_the_savings(
    registry: Registry, mill_id: int
) -> None:
    silent = {local_midnight("2024-03-01") + i * DAY_MS for i in range(20)}
    silent |= {local_midnight("2025-02-01") + i * DAY_MS for i in range(10)}
    source = FakeMill(silent_days=silent)
    fitted = fit_enterprise_baseline(registry, source, mill_id, *REFERENCE, "admin_a")
    assert (fitted.model.quality.n_days, fitted.days_left_out) == (346, 20)
    result = enterprise_savings(registry, source, mill_id, *REPORTING)
    february = result.months[1]
    assert (february.days_with_data, february.days_left_out) == (18, 10)
    assert february.savings_pct == pytest.approx(10.0, abs=2.0)


def test_without_a_baseline_there_are_no_savings(registry: Registry, mill_id: int) -> None:
    with pytest.raises(NotFoundError) as missing:
        enterprise_savings(registry, FakeMill(), mill_id, *REPORTING)
    assert missing.value.code == "baseline_not_found"
    with pytest.raises(NotFoundError) as unknown:
        fit_enterprise_baseline(registry, FakeMill(), mill_id + 1, *REFERENCE, "admin_a")
    assert unknown.value.code == "not_found"


def test_a_baseline_is_forgotten(registry: Registry, mill_id: int) -> None:
    fit_enterprise_baseline(registry, FakeMill(), mill_id, *REFERENCE, "admin_a")
    delete_enterprise_baseline(registry, mill_id)
    with pytest.raises(NotFoundError) as gone:
        get_enterprise_baseline(registry, mill_id)
    assert gone.value.code == "baseline_not_found"
    with pytest.raises(NotFoundError):
        delete_enterprise_baseline(registry, mill_id)


def test_savings_refuse_a_baseline_of_another_output(registry: Registry, mill_id: int) -> None:
    fit_enterprise_baseline(registry, FakeMill(), mill_id, *REFERENCE, "admin_a")
    with pytest.raises(ValidationError) as refused:
        enterprise_savings(registry, FakeMill(output_fact="picks"), mill_id, *REPORTING)
    assert refused.value.code == "baseline_output_changed"


def test_a_saved_model_of_an_old_form_asks_to_be_fitted_again(
    registry: Registry, mill_id: int
) -> None:
    fitted = fit_enterprise_baseline(registry, FakeMill(), mill_id, *REFERENCE, "admin_a")
    record = registry.energy_baseline(mill_id)
    assert record is not None
    registry.save_energy_baseline(
        mill_id,
        reference_start=record.reference_start,
        reference_end=record.reference_end,
        output_fact=record.output_fact,
        output_unit=record.output_unit,
        use_weather=record.use_weather,
        model={**fitted.model.to_dict(), "format": 0},
        fitted_by="admin_a",
    )
    with pytest.raises(ConflictError) as stale:
        get_enterprise_baseline(registry, mill_id)
    assert stale.value.code == "baseline_refit_needed"


@pytest.mark.parametrize(
    ("period", "code"),
    [
        ((REFERENCE[1], REFERENCE[0]), "baseline_period_invalid"),
        ((REFERENCE[0], REFERENCE[0]), "baseline_period_invalid"),
        ((-DAY_MS, REFERENCE[0]), "baseline_period_invalid"),
        ((REFERENCE[0], REFERENCE[0] + (MAX_PERIOD_DAYS + 1) * DAY_MS), "baseline_period_too_long"),
        ((REFERENCE[0], REFERENCE[0] + 10 * DAY_MS), "baseline_too_few_days"),
    ],
)
def test_a_bad_reference_period_is_refused(
    registry: Registry, mill_id: int, period: tuple[int, int], code: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        fit_enterprise_baseline(registry, FakeMill(), mill_id, *period, "admin_a")
    assert refused.value.code == code
    assert registry.energy_baseline(mill_id) is None


def test_a_source_with_ragged_arrays_is_refused(registry: Registry, mill_id: int) -> None:
    class Ragged(FakeMill):
        def daily_energy_output(
            self, enterprise_id: int, start_ms: int, end_ms: int
        ) -> DailySeries:
            series = super().daily_energy_output(enterprise_id, start_ms, end_ms)
            return replace(series, output=series.output[:-1])

    with pytest.raises(ValidationError) as refused:
        fit_enterprise_baseline(registry, Ragged(), mill_id, *REFERENCE, "admin_a")
    assert refused.value.code == "baseline_length_mismatch"
