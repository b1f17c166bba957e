"""An enterprise's energy baseline (能耗基准) fitted, kept, read and applied: energy avoided
against it month by month (节能量), the figure energy-saving policies ask for.

Routes and pages call these functions; the numbers are in ``analytics/baseline.py``. Daily energy,
output and temperature come from a ``DailyEnergySource`` (the analytics query service is one), so
this module reads no telemetry itself.

Periods are half-open, [start ms, end ms); a day belongs to a period when its local midnight
(Asia/Shanghai) does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import numpy as np

from shugu.analytics.baseline import (
    DAY_MS,
    BaselineModel,
    FloatArray,
    IntArray,
    MonthlySavings,
    fit_baseline,
    local_day_span,
    savings,
)
from shugu.domain.errors import ConflictError, NotFoundError, ValidationError
from shugu.domain.timeutil import MAX_INSTANT_MS
from shugu.store.registry import Registry
from shugu.store.registry.baselines import EnergyBaselineRecord

#: The longest reference or savings period, in days (five years).
MAX_PERIOD_DAYS = 5 * 366
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class DailySeries:
    """An enterprise's days: one row per local day, NaN where a day has no value.

    ``days_ms`` are local midnights (Asia/Shanghai) in ms since the epoch; ``energy_kwh`` the
    energy drawn that day; ``output`` the day's sum of ``output_fact`` (in ``output_unit``);
    ``mean_temp_c`` the day's mean outdoor temperature, NaN where none is known. A day may also
    be missing altogether; both mean the same: no data.
    """

    days_ms: IntArray
    energy_kwh: FloatArray
    output: FloatArray
    mean_temp_c: FloatArray
    output_fact: str
    output_unit: str


class DailyEnergySource(Protocol):
    def daily_energy_output(self, enterprise_id: int, start_ms: int, end_ms: int) -> DailySeries:
        """The enterprise's days whose local midnight lies in [start_ms, end_ms)."""
        ...


@dataclass(frozen=True, slots=True)
class FittedBaseline:
    """An enterprise's baseline as saved: its definition and the fitted model."""

    enterprise_id: int
    reference_start_ms: int
    reference_end_ms: int
    output_fact: str
    output_unit: str
    #: Whether the weather term was asked for; ``model.weather.kept`` says whether it was kept.
    use_weather: bool
    model: BaselineModel
    fitted_at: datetime
    fitted_by: str

    @property
    def reference_days(self) -> int:
        """Calendar days in the reference period."""
        first, end = local_day_span(self.reference_start_ms, self.reference_end_ms)
        return max(0, end - first)

    @property
    def days_left_out(self) -> int:
        """Reference days the model was not fitted on, for want of data."""
        return max(0, self.reference_days - self.model.quality.n_days)


def fit_enterprise_baseline(
    registry: Registry,
    source: DailyEnergySource,
    enterprise_id: int,
    reference_start_ms: int,
    reference_end_ms: int,
    by: str,
    *,
    use_weather: bool = True,
) -> FittedBaseline:
    """Fit the enterprise's baseline on the reference period and keep it, replacing any before.

    Days without energy or output are left out; ``use_weather`` tries cooling degree-days, kept
    only where they improve the fit meaningfully. Raises NotFoundError (``not_found``) for an
    unknown enterprise and ValidationError for a bad period (``baseline_period_invalid``,
    ``baseline_period_too_long``) or a reference period that cannot carry a baseline
    (``baseline_too_few_days``, ``baseline_no_output_variance``, …; see ``fit_baseline``).
    """
    registry.get_enterprise(enterprise_id)
    _check_period(reference_start_ms, reference_end_ms, "reference")
    series = source.daily_energy_output(enterprise_id, reference_start_ms, reference_end_ms)
    _check_lengths(series)
    keep = (
        (series.days_ms >= reference_start_ms)
        & (series.days_ms < reference_end_ms)
        & np.isfinite(series.energy_kwh)
        & np.isfinite(series.output)
    )
    model = fit_baseline(
        series.days_ms[keep],
        series.energy_kwh[keep],
        series.output[keep],
        series.mean_temp_c[keep],
        use_weather=use_weather,
        output_unit=series.output_unit,
    )
    record = registry.save_energy_baseline(
        enterprise_id,
        reference_start=_datetime(reference_start_ms),
        reference_end=_datetime(reference_end_ms),
        output_fact=series.output_fact,
        output_unit=series.output_unit,
        use_weather=use_weather,
        model=model.to_dict(),
        fitted_by=by[:64],
    )
    return _fitted(record, model)


def get_enterprise_baseline(registry: Registry, enterprise_id: int) -> FittedBaseline:
    """The enterprise's saved baseline.

    Raises NotFoundError: ``not_found`` for an unknown enterprise, ``baseline_not_found`` when it
    has no baseline yet; ConflictError ``baseline_refit_needed`` when the saved model is of a
    form this version no longer reads.
    """
    registry.get_enterprise(enterprise_id)
    record = registry.energy_baseline(enterprise_id)
    if record is None:
        raise NotFoundError(
            "this enterprise has no energy baseline yet; fit one on a reference period",
            code="baseline_not_found",
        )
    try:
        model = BaselineModel.from_dict(record.model)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConflictError(
            "this enterprise's saved baseline cannot be read any more; fit it again",
            code="baseline_refit_needed",
        ) from exc
    return _fitted(record, model)


def delete_enterprise_baseline(registry: Registry, enterprise_id: int) -> None:
    """Forget the enterprise's baseline (``baseline_not_found`` if it had none)."""
    registry.get_enterprise(enterprise_id)
    if not registry.delete_energy_baseline(enterprise_id):
        raise NotFoundError(
            "this enterprise has no energy baseline yet; fit one on a reference period",
            code="baseline_not_found",
        )


def enterprise_savings(
    registry: Registry,
    source: DailyEnergySource,
    enterprise_id: int,
    start_ms: int,
    end_ms: int,
) -> MonthlySavings:
    """Energy avoided against the enterprise's baseline per calendar month of [start, end).

    Every month the period touches is listed; days without data are in neither the baseline nor
    the actual and are counted as left out. Raises what ``get_enterprise_baseline`` raises, the
    period's ValidationErrors, and ValidationError ``baseline_output_changed`` when the
    enterprise's output is now measured by another fact than the baseline's.
    """
    baseline = get_enterprise_baseline(registry, enterprise_id)
    _check_period(start_ms, end_ms, "savings")
    series = source.daily_energy_output(enterprise_id, start_ms, end_ms)
    _check_lengths(series)
    if series.output_fact != baseline.output_fact:
        raise ValidationError(
            f"the baseline relates energy to {baseline.output_fact!r}, but the enterprise's "
            f"output is now {series.output_fact!r}; fit the baseline again",
            code="baseline_output_changed",
        )
    return savings(
        baseline.model,
        series.days_ms,
        series.energy_kwh,
        series.output,
        series.mean_temp_c,
        period=(start_ms, end_ms),
    )


def _check_period(start_ms: int, end_ms: int, which: str) -> None:
    if not 0 <= start_ms < end_ms <= MAX_INSTANT_MS:
        raise ValidationError(
            f"the {which} period must start before it ends, within 1970 to 9999",
            code="baseline_period_invalid",
            field=f"{which}_end_ms",
        )
    if end_ms - start_ms > MAX_PERIOD_DAYS * DAY_MS:
        raise ValidationError(
            f"the {which} period is longer than {MAX_PERIOD_DAYS} days",
            code="baseline_period_too_long",
            field=f"{which}_end_ms",
        )


def _check_lengths(series: DailySeries) -> None:
    n = series.days_ms.shape
    if not n == series.energy_kwh.shape == series.output.shape == series.mean_temp_c.shape:
        raise ValidationError(
            "days, energy, output and temperature must have one value per day each",
            code="baseline_length_mismatch",
        )


def _fitted(record: EnergyBaselineRecord, model: BaselineModel) -> FittedBaseline:
    return FittedBaseline(
        enterprise_id=record.enterprise_id,
        reference_start_ms=_ms(record.reference_start),
        reference_end_ms=_ms(record.reference_end),
        output_fact=record.output_fact,
        output_unit=record.output_unit,
        use_weather=record.use_weather,
        model=model,
        fitted_at=record.fitted_at,
        fitted_by=record.fitted_by,
    )


def _datetime(ms: int) -> datetime:
    return _EPOCH + ms * _MS


def _ms(at: datetime) -> int:
    return (at - _EPOCH) // _MS
