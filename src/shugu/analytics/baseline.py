"""An enterprise's energy baseline (能耗基准) and the energy it avoided against it (节能量).

A baseline is daily energy regressed on daily output and, where it helps, cooling degree-days,
fitted by ordinary least squares on a reference period (IPMVP option C, whole facility; ASHRAE
Guideline 14's inverse models)::

    kWh per day = intercept + kwh_per_output · output + kwh_per_degree_day · CDD(base)
    CDD(base) = max(0, daily mean temperature − base)

The base temperature is the one of ``BASE_TEMPERATURES_C`` that fits the reference period best.
The weather term is kept only when it earns its place: a positive slope, a t-statistic of at least
``MIN_WEATHER_T_STAT`` and an adjusted R² higher than the model's without it, counting the chosen
base temperature as a parameter (decision 0032).

Savings for a later period apply the model to that period's output and weather (the *adjusted
baseline*) and subtract the energy actually drawn, per calendar month in Asia/Shanghai. A day
without data (energy, output, or temperature where the model needs it) is left out of both sides,
never counted as zero.

Pure numbers: arrays in, frozen records out; no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from shugu.domain.errors import ValidationError
from shugu.domain.timeutil import CHINA_OFFSET_MS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DAY_MS = 86_400_000
#: Fewer reference days with data than this cannot carry a regression worth reporting.
MIN_REFERENCE_DAYS = 14
#: Base temperatures tried for cooling degree-days, °C.
BASE_TEMPERATURES_C: tuple[float, ...] = tuple(float(t) for t in range(10, 29))
#: A base temperature is tried only when at least this many reference days were warmer: a slope
#: fitted on a handful of hot days follows their noise.
MIN_WARM_DAYS = 7
#: The weather term's slope must be this many standard errors above zero: 3, not the usual 2,
#: because the base temperature was picked from many as the best fit, which inflates t
#: (decision 0032 measures it).
MIN_WEATHER_T_STAT = 3.0
#: …and raise the adjusted R² above the model on output alone by more than this.
MIN_WEATHER_ADJ_R2_GAIN = 0.0
#: ASHRAE Guideline 14's criteria for monthly data, applied to the model's monthly sums.
GUIDELINE14_MONTHLY_CV_RMSE_PCT = 15.0
GUIDELINE14_MONTHLY_NMBE_PCT = 5.0
#: Bumped when the stored form of a model changes; an older stored model must be fitted again.
MODEL_FORMAT = 1

WeatherReason = Literal[
    "kept",
    "not_requested",
    "too_few_temperature_days",
    "too_few_warm_days",
    "negative_slope",
    "not_significant",
    "too_small_gain",
]


@dataclass(frozen=True, slots=True)
class Coefficient:
    """One term of the model, with its unit and (for fitted terms) its standard error."""

    name: Literal["intercept", "output", "cooling_degree_days", "base_temperature"]
    value: float
    unit: str
    std_error: float | None = None
    t_stat: float | None = None


@dataclass(frozen=True, slots=True)
class FitQuality:
    """How well the model reproduces its own reference period.

    Daily figures are for information; Guideline 14 has no daily criterion, so the judgement
    (``meets_guideline14``) uses its monthly criterion on the model's monthly sums, which needs
    more calendar months than the model has parameters.
    """

    n_days: int
    #: Fitted parameters, the chosen base temperature included.
    parameters: int
    r2: float
    adj_r2: float
    cv_rmse_pct: float | None
    nmbe_pct: float | None
    n_months: int
    monthly_cv_rmse_pct: float | None
    monthly_nmbe_pct: float | None
    meets_guideline14: bool


@dataclass(frozen=True, slots=True)
class WeatherChoice:
    """Whether the weather term was tried and kept, and the figures behind the choice."""

    requested: bool
    kept: bool
    reason: WeatherReason
    base_temperature_c: float | None = None
    t_stat: float | None = None
    adj_r2_without: float | None = None
    adj_r2_with: float | None = None


@dataclass(frozen=True, slots=True)
class BaselineModel:
    """A fitted baseline: its terms, how well it fits, and the range it was fitted on."""

    output_unit: str
    intercept_kwh: float
    kwh_per_output: float
    kwh_per_degree_day: float | None
    base_temperature_c: float | None
    coefficients: tuple[Coefficient, ...]
    quality: FitQuality
    weather: WeatherChoice
    #: Local-day starts (ms) of the first and last reference day with data.
    first_day_ms: int
    last_day_ms: int
    #: Output and (with weather) mean temperature seen in the reference period: a day outside
    #: them is an extrapolation, which savings count.
    output_min: float
    output_max: float
    temperature_min_c: float | None = None
    temperature_max_c: float | None = None

    @property
    def uses_weather(self) -> bool:
        return self.kwh_per_degree_day is not None

    def predict(
        self, output: npt.ArrayLike, mean_temp_c: npt.ArrayLike | None = None
    ) -> FloatArray:
        """Daily kWh the baseline expects; NaN where the model needs a temperature it lacks."""
        out = np.asarray(output, dtype=np.float64)
        energy = self.intercept_kwh + self.kwh_per_output * out
        if self.kwh_per_degree_day is None or self.base_temperature_c is None:
            return energy
        temp = _temperature(mean_temp_c, out.shape[0])
        return energy + self.kwh_per_degree_day * np.maximum(temp - self.base_temperature_c, 0.0)

    def outside_reference(
        self, output: npt.ArrayLike, mean_temp_c: npt.ArrayLike | None = None
    ) -> npt.NDArray[np.bool_]:
        """Days whose output (or, with weather, temperature) lies outside the reference's."""
        out = np.asarray(output, dtype=np.float64)
        outside = (out < self.output_min) | (out > self.output_max)
        if self.temperature_min_c is not None and self.temperature_max_c is not None:
            temp = _temperature(mean_temp_c, out.shape[0])
            outside |= (temp < self.temperature_min_c) | (temp > self.temperature_max_c)
        return outside

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (no NaN: missing figures are None)."""
        return {"format": MODEL_FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BaselineModel:
        """The model ``to_dict`` wrote; ValueError for another format."""
        if data.get("format") != MODEL_FORMAT:
            raise ValueError(f"baseline model format {data.get('format')!r} is not {MODEL_FORMAT}")
        fields = {k: v for k, v in data.items() if k != "format"}
        fields["coefficients"] = tuple(Coefficient(**c) for c in fields["coefficients"])
        fields["quality"] = FitQuality(**fields["quality"])
        fields["weather"] = WeatherChoice(**fields["weather"])
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class SavingsFigures:
    """Energy avoided over some days: the adjusted baseline against the energy drawn."""

    #: What the baseline expects for these days' output and weather (adjusted baseline).
    baseline_kwh: float
    actual_kwh: float
    #: baseline − actual: positive when less energy was drawn than the baseline expects.
    avoided_kwh: float
    #: avoided / baseline × 100; None when the baseline expects no energy.
    savings_pct: float | None
    days_with_data: int
    #: Days in the period (or rows given) without the data the model needs: in neither side.
    days_left_out: int
    #: Days with data whose output or temperature lies outside the reference period's range.
    days_outside_reference: int


@dataclass(frozen=True, slots=True)
class MonthSavings(SavingsFigures):
    #: The calendar month in Asia/Shanghai, "2025-03".
    month: str
    #: The month's first local midnight, ms since the epoch.
    start_ms: int


@dataclass(frozen=True, slots=True)
class MonthlySavings:
    months: tuple[MonthSavings, ...]
    total: SavingsFigures
    output_unit: str
    uses_weather: bool


@dataclass(frozen=True, slots=True)
class _Ols:
    beta: FloatArray
    std_error: FloatArray
    predicted: FloatArray
    sse: float
    #: Parameters counted for degrees of freedom (a grid-searched base temperature included).
    parameters: int


def fit_baseline(
    days_ms: npt.ArrayLike,
    energy_kwh: npt.ArrayLike,
    output: npt.ArrayLike,
    mean_temp_c: npt.ArrayLike | None = None,
    *,
    use_weather: bool = True,
    output_unit: str = "",
) -> BaselineModel:
    """Fit a baseline on reference days (one row per local day with data).

    ``use_weather`` asks for the weather term to be tried; it is kept only when it earns its
    place (see the module's docstring). Days without a temperature are left out of a model that
    keeps the weather term. Refuses (ValidationError) NaN or infinite energy or output, negative
    values, a day given twice, fewer than ``MIN_REFERENCE_DAYS`` days and an output that never
    varies.
    """
    days, energy, out, temp = _series(days_ms, energy_kwh, output, mean_temp_c)
    if not (np.isfinite(energy).all() and np.isfinite(out).all()):
        raise ValidationError(
            "the reference period's energy and output must be numbers on every day given; "
            "leave out days without data instead of passing NaN",
            code="baseline_not_finite",
        )
    if (energy < 0).any() or (out < 0).any():
        raise ValidationError(
            "the reference period has a negative energy or output", code="baseline_negative_value"
        )
    if days.shape[0] < MIN_REFERENCE_DAYS:
        raise ValidationError(
            f"the reference period has {days.shape[0]} days with data; "
            f"a baseline needs at least {MIN_REFERENCE_DAYS}",
            code="baseline_too_few_days",
        )
    plain = _ols([out], energy) if _varies(out) else None
    if plain is None:
        raise ValidationError(
            "output is the same on every reference day, so energy cannot be related to it; "
            "choose a reference period in which output varies",
            code="baseline_no_output_variance",
        )
    choice, weather_fit, with_temp = _weather(energy, out, temp, use_weather)
    if weather_fit is None or with_temp is None:
        return _model(days, energy, out, None, plain, None, choice, output_unit)
    keep = with_temp
    return _model(
        days[keep],
        energy[keep],
        out[keep],
        temp[keep],
        weather_fit,
        choice.base_temperature_c,
        choice,
        output_unit,
    )


def savings(
    model: BaselineModel,
    days_ms: npt.ArrayLike,
    energy_kwh: npt.ArrayLike,
    output: npt.ArrayLike,
    mean_temp_c: npt.ArrayLike | None = None,
    *,
    period: tuple[int, int] | None = None,
) -> MonthlySavings:
    """Energy avoided against ``model`` per calendar month (Asia/Shanghai).

    Rows are local days; a row whose energy or output is NaN (or, for a model with weather, whose
    temperature is NaN) is a day without data, left out of both the baseline and the actual.
    With ``period`` = (start ms, end ms), rows outside it are ignored, every month it touches is
    listed, and ``days_left_out`` counts every day of the period without data, rows missing
    altogether included; without it, only months with rows are listed.
    """
    days, energy, out, temp = _series(days_ms, energy_kwh, output, mean_temp_c)
    if period is not None:
        inside = (days >= period[0]) & (days < period[1])
        days, energy, out, temp = days[inside], energy[inside], out[inside], temp[inside]
    local_days = _local_day(days)
    has_data = np.isfinite(energy) & np.isfinite(out)
    if model.uses_weather:
        has_data &= np.isfinite(temp)
    predicted = np.where(has_data, model.predict(out, temp), 0.0)
    actual = np.where(has_data, energy, 0.0)
    outside = has_data & model.outside_reference(out, temp)
    row_month = _month_of(local_days)
    if period is not None:
        first_day, end_day = local_day_span(*period)
        first_month, last_month = _month_of(np.array([first_day, end_day - 1]))
        months = np.arange(first_month, last_month + 1)
    else:
        months = np.unique(row_month)
    rows: list[MonthSavings] = []
    for month in months.tolist():
        in_month = row_month == month
        with_data = int(np.count_nonzero(in_month & has_data))
        if period is not None:
            month_first, month_end = _month_first_day(month), _month_first_day(month + 1)
            calendar_days = max(0, min(month_end, end_day) - max(month_first, first_day))
            left_out = max(0, calendar_days - with_data)
        else:
            left_out = int(np.count_nonzero(in_month & ~has_data))
        baseline_kwh = float(predicted[in_month].sum())
        actual_kwh = float(actual[in_month].sum())
        rows.append(
            MonthSavings(
                **_figures(
                    baseline_kwh,
                    actual_kwh,
                    with_data,
                    left_out,
                    int(np.count_nonzero(in_month & outside)),
                ),
                month=str(np.datetime64(month, "M")),
                start_ms=_month_first_day(month) * DAY_MS - CHINA_OFFSET_MS,
            )
        )
    total = SavingsFigures(
        **_figures(
            sum(r.baseline_kwh for r in rows),
            sum(r.actual_kwh for r in rows),
            sum(r.days_with_data for r in rows),
            sum(r.days_left_out for r in rows),
            sum(r.days_outside_reference for r in rows),
        )
    )
    return MonthlySavings(tuple(rows), total, model.output_unit, model.uses_weather)


def _figures(
    baseline_kwh: float, actual_kwh: float, with_data: int, left_out: int, outside: int
) -> dict[str, Any]:
    avoided = baseline_kwh - actual_kwh
    return {
        "baseline_kwh": baseline_kwh,
        "actual_kwh": actual_kwh,
        "avoided_kwh": avoided,
        "savings_pct": avoided / baseline_kwh * 100.0 if baseline_kwh > 0 else None,
        "days_with_data": with_data,
        "days_left_out": left_out,
        "days_outside_reference": outside,
    }


def _series(
    days_ms: npt.ArrayLike,
    energy_kwh: npt.ArrayLike,
    output: npt.ArrayLike,
    mean_temp_c: npt.ArrayLike | None,
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    days = np.asarray(days_ms, dtype=np.int64).reshape(-1)
    energy = np.asarray(energy_kwh, dtype=np.float64).reshape(-1)
    out = np.asarray(output, dtype=np.float64).reshape(-1)
    temp = _temperature(mean_temp_c, days.shape[0])
    if not days.shape == energy.shape == out.shape == temp.shape:
        raise ValidationError(
            "days, energy, output and temperature must have one value per day each",
            code="baseline_length_mismatch",
        )
    local_days = _local_day(days)
    if np.unique(local_days).shape[0] != local_days.shape[0]:
        raise ValidationError(
            "a day is given more than once; give one row per local day",
            code="baseline_duplicate_day",
        )
    return days, energy, out, temp


def _temperature(mean_temp_c: npt.ArrayLike | None, n: int) -> FloatArray:
    if mean_temp_c is None:
        return np.full(n, np.nan)
    return np.asarray(mean_temp_c, dtype=np.float64).reshape(-1)


def _varies(values: FloatArray) -> bool:
    scale = max(1.0, float(np.abs(values).max()))
    return float(np.ptp(values)) > 1e-9 * scale


def _ols(columns: list[FloatArray], y: FloatArray, *, searched: int = 0) -> _Ols | None:
    """Least squares with an intercept; None when the columns are collinear or too few rows.

    Columns are scaled to unit length before solving, so that an output in the hundreds of
    thousands and a degree-day count in the units are judged collinear on the same footing.
    """
    x = np.column_stack([np.ones_like(y), *columns])
    parameters = x.shape[1] + searched
    if y.shape[0] <= parameters:
        return None
    norms = np.linalg.norm(x, axis=0)
    if (norms == 0).any():
        return None
    scaled = x / norms
    beta_scaled, _, rank, _ = np.linalg.lstsq(scaled, y, rcond=None)
    if rank < x.shape[1]:
        return None
    beta = beta_scaled / norms
    predicted = x @ beta
    residual = y - predicted
    sse = float(residual @ residual)
    sigma2 = sse / (y.shape[0] - parameters)
    covariance = np.linalg.inv(scaled.T @ scaled) / np.outer(norms, norms)
    std_error = np.sqrt(np.clip(np.diag(covariance) * sigma2, 0.0, None))
    return _Ols(beta, std_error, predicted, sse, parameters)


def _adj_r2(y: FloatArray, fit: _Ols) -> float:
    n = int(y.shape[0])
    return 1.0 - (1.0 - _r2(y, fit.sse)) * (n - 1) / (n - fit.parameters)


def _r2(y: FloatArray, sse: float) -> float:
    sst = float(((y - y.mean()) ** 2).sum())
    if sst == 0.0:
        return 1.0 if sse == 0.0 else 0.0
    return 1.0 - sse / sst


def _weather(
    energy: FloatArray, out: FloatArray, temp: FloatArray, requested: bool
) -> tuple[WeatherChoice, _Ols | None, npt.NDArray[np.bool_] | None]:
    """The best cooling-degree-day model and whether it beats output alone on the same days."""
    if not requested:
        return WeatherChoice(requested=False, kept=False, reason="not_requested"), None, None
    with_temp = np.isfinite(temp)
    y, x, t = energy[with_temp], out[with_temp], temp[with_temp]
    without = _ols([x], y) if y.shape[0] >= MIN_REFERENCE_DAYS else None
    if without is None:
        return WeatherChoice(True, False, "too_few_temperature_days"), None, None
    best: tuple[float, _Ols] | None = None
    # From the warmest base down, replacing only on a strictly better fit: when several bases fit
    # equally (every reference day warmer than all of them), the highest extrapolates least.
    for base in reversed(BASE_TEMPERATURES_C):
        cdd = np.maximum(t - base, 0.0)
        if np.count_nonzero(cdd > 0) < MIN_WARM_DAYS:
            continue
        fit = _ols([x, cdd], y, searched=1)
        if fit is not None and (best is None or fit.sse < best[1].sse * (1.0 - 1e-9)):
            best = (base, fit)
    if best is None:
        return WeatherChoice(True, False, "too_few_warm_days"), None, None
    base, fit = best
    slope, slope_se = float(fit.beta[2]), float(fit.std_error[2])
    t_stat = slope / slope_se if slope_se > 0 else float("inf")
    adj_without, adj_with = _adj_r2(y, without), _adj_r2(y, fit)
    reason: WeatherReason
    if slope <= 0:
        reason = "negative_slope"
    elif t_stat < MIN_WEATHER_T_STAT:
        reason = "not_significant"
    elif adj_with - adj_without <= MIN_WEATHER_ADJ_R2_GAIN:
        reason = "too_small_gain"
    else:
        reason = "kept"
    choice = WeatherChoice(
        requested=True,
        kept=reason == "kept",
        reason=reason,
        base_temperature_c=base,
        t_stat=t_stat if np.isfinite(t_stat) else None,
        adj_r2_without=adj_without,
        adj_r2_with=adj_with,
    )
    return (choice, fit, with_temp) if choice.kept else (choice, None, None)


def _model(
    days: IntArray,
    energy: FloatArray,
    out: FloatArray,
    temp: FloatArray | None,
    fit: _Ols,
    base: float | None,
    weather: WeatherChoice,
    output_unit: str,
) -> BaselineModel:
    unit = output_unit or "unit"
    coefficients = [
        _coefficient("intercept", fit, 0, "kWh/d"),
        _coefficient("output", fit, 1, f"kWh/{unit}"),
    ]
    if base is not None:
        coefficients.append(_coefficient("cooling_degree_days", fit, 2, "kWh/(°C·d)"))
        coefficients.append(Coefficient("base_temperature", base, "°C"))
    return BaselineModel(
        output_unit=output_unit,
        intercept_kwh=float(fit.beta[0]),
        kwh_per_output=float(fit.beta[1]),
        kwh_per_degree_day=float(fit.beta[2]) if base is not None else None,
        base_temperature_c=base,
        coefficients=tuple(coefficients),
        quality=_quality(days, energy, fit),
        weather=weather,
        first_day_ms=int(days.min()),
        last_day_ms=int(days.max()),
        output_min=float(out.min()),
        output_max=float(out.max()),
        temperature_min_c=float(temp.min()) if temp is not None else None,
        temperature_max_c=float(temp.max()) if temp is not None else None,
    )


def _coefficient(
    name: Literal["intercept", "output", "cooling_degree_days"], fit: _Ols, index: int, unit: str
) -> Coefficient:
    value, std_error = float(fit.beta[index]), float(fit.std_error[index])
    t_stat = value / std_error if std_error > 0 else None
    return Coefficient(name, value, unit, std_error, t_stat)


def _quality(days: IntArray, energy: FloatArray, fit: _Ols) -> FitQuality:
    n, p = energy.shape[0], fit.parameters
    cv, nmbe = _cv_nmbe(energy, fit.predicted, p)
    month = _month_of(_local_day(days))
    months, index = np.unique(month, return_inverse=True)
    actual_by_month = np.bincount(index, weights=energy).astype(np.float64)
    predicted_by_month = np.bincount(index, weights=fit.predicted).astype(np.float64)
    monthly_cv, monthly_nmbe = _cv_nmbe(actual_by_month, predicted_by_month, p)
    meets = (
        monthly_cv is not None
        and monthly_nmbe is not None
        and monthly_cv <= GUIDELINE14_MONTHLY_CV_RMSE_PCT
        and abs(monthly_nmbe) <= GUIDELINE14_MONTHLY_NMBE_PCT
    )
    return FitQuality(
        n_days=n,
        parameters=p,
        r2=_r2(energy, fit.sse),
        adj_r2=_adj_r2(energy, fit),
        cv_rmse_pct=cv,
        nmbe_pct=nmbe,
        n_months=int(months.shape[0]),
        monthly_cv_rmse_pct=monthly_cv,
        monthly_nmbe_pct=monthly_nmbe,
        meets_guideline14=meets,
    )


def _cv_nmbe(
    actual: FloatArray, predicted: FloatArray, parameters: int
) -> tuple[float | None, float | None]:
    """Guideline 14's CV(RMSE) and NMBE in %, with n − p degrees of freedom; None when n ≤ p
    or the mean is not positive."""
    n = actual.shape[0]
    mean = float(actual.mean()) if n else 0.0
    if n <= parameters or mean <= 0:
        return None, None
    residual = actual - predicted
    dof = n - parameters
    cv = float(np.sqrt(float(residual @ residual) / dof)) / mean * 100.0
    nmbe = float(residual.sum()) / (dof * mean) * 100.0
    return cv, nmbe


def _local_day(days_ms: IntArray) -> IntArray:
    """Days since 1970-01-01 in Asia/Shanghai of each instant."""
    return (days_ms + CHINA_OFFSET_MS) // DAY_MS


def local_day_span(start_ms: int, end_ms: int) -> tuple[int, int]:
    """The local days whose midnight lies in [start, end), as [first, end)."""
    return -(-(start_ms + CHINA_OFFSET_MS) // DAY_MS), -(-(end_ms + CHINA_OFFSET_MS) // DAY_MS)


def _month_of(local_days: IntArray) -> IntArray:
    """Months since 1970-01 of local days."""
    months: IntArray = local_days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months


def _month_first_day(month: int) -> int:
    return int(np.datetime64(month, "M").astype("datetime64[D]").astype(np.int64))
