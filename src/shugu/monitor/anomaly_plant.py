"""Multivariate anomaly detection for plant equipment (设备多传感器异常检测).

Plant monitoring (MSET, PCA-SPE) learns what "normal" looks like from a stretch of healthy running
and then judges each new row by its residual against that model. This detector does the same,
streaming and causally, with O(columns²) work per row (O(columns) without conditions or
cross-sensor estimates):

- **Fit.** The first ``fit_rows`` rows of a device are its normal period. They are kept (a
  bounded buffer) and, when the last one arrives, each sensor's mean and standard deviation are
  taken from them. Optionally (``cross_sensor=True``) each standardised sensor is also predicted
  from the others by a ridge regression fitted on the same rows, MSET's auto-associative estimate
  in linear form, and the residual is the difference.
- **Residual.** Each row's standardised residual per sensor is smoothed by an EWMA over
  ``span`` rows: a valve closing shifts a sensor for minutes, which a short average shows long
  before any single noisy reading is extreme.
- **Conditions (context).** Optionally the last ``context`` columns are the conditions the
  machine runs in rather than its health: the weather (a cooling tower's wet bulb), the load
  it is given (a meter's active power). They are not judged. Each judged sensor is predicted
  from them by a regression fitted on the fit rows, and judged by its residual, so a tower is
  judged by how its water and fan answer the weather, and a wet bulb outside the first day's
  range is no anomaly (decision 0072).
- **Drift-aware spread.** Thermal sensors wander slowly on a healthy machine; judged against the
  fit period's spread alone they alarm an hour later for nothing. So the spread each sensor is
  judged by grows with the time since the fit period, as a random walk's does: its variance is
  the fit period's variance of the smoothed residual plus a drift rate × rows elapsed. The drift
  rate is measured in the fit period, from how far the smoothed residual moves over
  ``fit_rows / 4`` rows beyond what its own noise explains. A steady sensor has drift rate ~0
  and keeps its tight spread; a wandering one is allowed to wander.
- **Score and explanation.** The statistic is the largest absolute drift-aware z over the
  sensors; the sensor that gave it is reported as the one that drove the score. The score in
  [0, 1] is that z over :data:`FULL_SCALE_Z`. The device enters the anomalous state (alarm 1)
  when the score has stayed at or above ``1 - sensitivity`` (at the default sensitivity, z ≥ 4)
  for ``entry_rows`` rows in a row, and leaves it
  only after ``release_rows`` rows in a row below ``release_fraction`` of that threshold, so a
  fault hovering at the threshold is one alarm, not a flicker of them.

Nothing here looks at labels: the only data the threshold is calibrated on is the fit period.
Rows with a NaN keep that sensor's average unchanged; rows not later than the previous row are
skipped (score 0, no alarm).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly import DEFAULT_SENSITIVITY

FloatArray = npt.NDArray[np.float64]

#: The drift-aware z that is a score of 1. At the default sensitivity (0.4) the alarm threshold
#: is 0.6 × 20/3 = 4 standard deviations of the drift-aware spread.
FULL_SCALE_Z = 20.0 / 3.0

#: A sensor drifts only where its long-lag moves exceed this many times its short-lag ones:
#: smoothed noise moves about as far over any lag, a random walk moves further the longer.
DRIFT_MARGIN = 2.0

#: The smoothed residual's variance is at least this fraction of white noise's (see _finish_fit).
WHITE_FLOOR = 1.0

#: Ridge penalty of the regression on the conditions, per fit row: only enough to keep two
#: conditions that moved together solvable. A larger one leaves a share of every swing of the
#: weather in the residual, and a tower's residual is tight.
CONTEXT_RIDGE = 1e-4

#: Stretches of the fit period left out one at a time to learn how sure the regression on the
#: conditions is.
JACKKNIFE_BLOCKS = 10


@dataclass(frozen=True, slots=True)
class PlantParams:
    """Sizes of the plant detector, in rows (it is indifferent to the sampling interval)."""

    #: Rows of normal running the model is fitted on (SKAB's protocol: the first 400).
    fit_rows: int = 400
    #: EWMA span of the residual, in rows (weight 2 / (span + 1)).
    span: int = 15
    #: Ridge penalty of the cross-sensor estimate, per fit row (only with cross_sensor).
    ridge: float = 0.1
    #: Predict each sensor from the others (MSET-like) rather than from its own mean.
    cross_sensor: bool = False
    #: The anomalous state ends after this many rows below this fraction of the threshold.
    release_fraction: float = 0.75
    release_rows: int = 10
    #: The anomalous state starts only after this many rows in a row at or above the threshold:
    #: a healthy machine's smoothed residual crosses it for a few rows now and then, a fault
    #: stays over it (decision 0049: SKAB tuning F1 0.846 -> 0.857, false episodes 6 -> 3).
    entry_rows: int = 10


DEFAULT_PLANT_PARAMS = PlantParams()


@dataclass(frozen=True, slots=True)
class PlantRow:
    """The outcome of one row."""

    score: float
    alarm: bool
    #: Index of the sensor that drove the score, or -1 when the row was not scored.
    driver: int
    #: That sensor's drift-aware distance from its fitted normal, in standard deviations.
    z: float = 0.0


class PlantDetector:
    """One device's sensors; feed it one row at a time with :meth:`update`."""

    def __init__(
        self,
        columns: int,
        sensitivity: float = DEFAULT_SENSITIVITY,
        params: PlantParams = DEFAULT_PLANT_PARAMS,
        context: int = 0,
    ) -> None:
        if columns - context < 1 or context < 0:
            raise ValueError("a plant detector needs at least one judged column")
        if params.fit_rows < 8 or params.span < 1:
            raise ValueError("fit_rows must be at least 8 and span at least 1")
        self.columns = columns
        #: The last ``context`` columns are conditions: regressors, never judged.
        self.context = context
        self._judged = np.arange(columns) < columns - context
        self.params = params
        self.sensitivity = min(max(float(sensitivity), 0.0), 1.0)
        self._fit: list[FloatArray] = []
        self._last_ms: int | None = None
        self._rows_after_fit = 0
        self._alpha = 2.0 / (params.span + 1.0)
        self.mean = np.zeros(columns)
        self.std = np.ones(columns)
        self.weights = np.zeros((columns, columns))
        self.smooth = np.zeros(columns)
        self.base_var = np.ones(columns)
        self.drift_rate = np.zeros(columns)
        self.fitted = False
        self.anomalous = False
        self._quiet_rows = 0
        self._loud_rows = 0
        #: The last reading of each condition: a condition sent in another message, or less
        #: often than the sensors, still holds.
        self.conditions = np.full(context, np.nan)
        #: Per judged sensor, the covariance of its coefficients on the conditions, as sure as
        #: the fit period makes them (delete-a-block jackknife).
        self.coef_cov = np.zeros((columns, context, context))
        #: Which conditions moved in the fit period (known once fitted; see _moved_conditions).
        self._moved = np.zeros(context, np.bool_)

    @property
    def rows_taken(self) -> int:
        """Rows of the fit period taken so far (all of them once fitted)."""
        return self.params.fit_rows if self.fitted else len(self._fit)

    @property
    def last_ms(self) -> int | None:
        """The time of the last row taken, None before the first."""
        return self._last_ms

    def state_rows(self) -> list[tuple[str, npt.NDArray[np.generic]]]:
        """Everything the detector has learned, as fixed-size arrays (``detector_state``)."""
        fit = np.full((self.params.fit_rows, self.columns), np.nan)
        if self._fit:
            fit[: len(self._fit)] = np.array(self._fit)
        counters = np.array(
            [
                len(self._fit), self._last_ms is not None, self._last_ms or 0,
                self._rows_after_fit, self.fitted, self.anomalous, self._quiet_rows,
                self._loud_rows,
            ],
            dtype=np.int64,
        )  # fmt: skip
        return [
            ("fit", fit), ("counters", counters), ("mean", self.mean), ("std", self.std),
            ("weights", self.weights), ("smooth", self.smooth), ("base_var", self.base_var),
            ("drift_rate", self.drift_rate),
            *(
                [("conditions", self.conditions), ("coef_cov", self.coef_cov)]
                if self.context else []
            ),
        ]  # fmt: skip

    def load_rows(self, rows: list[npt.NDArray[np.generic]]) -> None:
        """Take the arrays :meth:`state_rows` gave, in its order."""
        fit, counters, mean, std, weights, smooth, base_var, drift_rate = rows[:8]
        if self.context:
            self.conditions = np.asarray(rows[8], dtype=np.float64)
            self.coef_cov = np.asarray(rows[9], dtype=np.float64)
        taken, has_last, last, after, fitted, anomalous, quiet, loud = counters.tolist()
        self._fit = [np.asarray(r, dtype=np.float64) for r in fit[:taken]]
        self._last_ms = int(last) if has_last else None
        self._rows_after_fit = int(after)
        self.fitted, self.anomalous = bool(fitted), bool(anomalous)
        self._quiet_rows, self._loud_rows = int(quiet), int(loud)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.smooth = np.asarray(smooth, dtype=np.float64)
        self.base_var = np.asarray(base_var, dtype=np.float64)
        self.drift_rate = np.asarray(drift_rate, dtype=np.float64)
        if self.fitted:
            self._moved = self._moved_conditions()

    @property
    def threshold_z(self) -> float:
        """The drift-aware z at which a row is anomalous, for this sensitivity."""
        return FULL_SCALE_Z * (1.0 - self.sensitivity)

    def _residual(self, rows: FloatArray) -> FloatArray:
        z = (rows - self.mean) / self.std
        if not self.params.cross_sensor and not self.context:
            return z
        # NaN readings count as the mean (0) in the others' prediction of a sensor.
        return z - np.nan_to_num(z) @ self.weights

    def _finish_fit(self) -> None:
        p = self.params
        table = np.array(self._fit)
        self._fit = []
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(table, axis=0)
            std = np.nanstd(table, axis=0)
        self.mean = np.nan_to_num(mean)
        self.std = np.maximum(np.nan_to_num(std), _still_spread(self.mean))
        if p.cross_sensor or self.context:
            z = np.nan_to_num((table - self.mean) / self.std)
            d = self.columns
            # A condition that did not move in the fit period tells nothing of how the sensors
            # answer it: it is left out, or its rounding noise would be taken for a relation.
            moved = self._moved = self._moved_conditions()
            conditions = [d - self.context + i for i in np.flatnonzero(moved).tolist()]
            for j in range(d - self.context):
                others = [k for k in range(d - self.context) if k != j] if p.cross_sensor else []
                given = others + conditions
                if not given:
                    continue
                penalty = np.array([p.ridge] * len(others) + [CONTEXT_RIDGE] * len(conditions))
                self.weights[given, j] = _ridge(z[:, given], z[:, j], penalty)
                if conditions:
                    cov = _jackknife_cov(z[:, given], z[:, j], penalty)[
                        len(others) :, len(others) :
                    ]
                    self.coef_cov[j][np.ix_(moved, moved)] = cov
        resid = self._residual(table)
        smooth = np.zeros((len(resid), self.columns))
        level = np.zeros(self.columns)
        for i, row in enumerate(resid):
            level = np.where(np.isfinite(row), level + self._alpha * (row - level), level)
            smooth[i] = level
        settled = smooth[min(p.span, len(smooth) // 2) :]
        # The smoothed residual of a fit period holds only about fit_rows / span independent
        # samples, so its variance is a rough estimate and often too small. It is floored at
        # what white noise of the residual's own variance would give an EWMA of this span.
        white = np.nanvar(resid, axis=0) * self._alpha / (2.0 - self._alpha)
        self.base_var = np.maximum(settled.var(axis=0), WHITE_FLOOR * np.nan_to_num(white)) + 1e-6
        # Variogram at a short lag (past the smoothing's memory) and a long one: for noise plus
        # a random walk, the mean squared move grows linearly with the lag at the walk's rate.
        short = min(2 * p.span, len(settled) // 8)
        long = max(len(settled) // 4, short + 1)
        if len(settled) > long + 1 and short >= 1:
            near = np.mean((settled[short:] - settled[:-short]) ** 2, axis=0)
            far = np.mean((settled[long:] - settled[:-long]) ** 2, axis=0)
            self.drift_rate = np.maximum(far - DRIFT_MARGIN * near, 0.0) / long
        self.smooth = level
        self.fitted = True

    def _moved_conditions(self) -> npt.NDArray[np.bool_]:
        """Which conditions moved in the fit period (their spread is above the still floor)."""
        mean, std = (
            self.mean[self.columns - self.context :],
            self.std[self.columns - self.context :],
        )
        moved: npt.NDArray[np.bool_] = std > _still_spread(mean)
        return moved

    def hold_conditions(self, given: FloatArray) -> None:
        """Take the conditions of a row (NaN: not in it, the last reading holds)."""
        self.conditions = held_conditions(self.conditions, given)

    def update(self, ts_ms: int, row: FloatArray) -> PlantRow:
        """One row (NaN for a missing reading): the score, the alarm state and the driver."""
        x = np.array(row, dtype=np.float64)  # a copy: conditions are filled in below
        if x.shape != (self.columns,):
            raise ValueError(f"expected {self.columns} values, got shape {x.shape}")
        if self._last_ms is not None and ts_ms <= self._last_ms:
            return PlantRow(0.0, False, -1)
        self._last_ms = ts_ms
        if self.context:
            self.hold_conditions(x[-self.context :])
            x[-self.context :] = self.conditions
        if not self.fitted:
            self._fit.append(x.copy())
            if len(self._fit) >= self.params.fit_rows:
                self._finish_fit()
            return PlantRow(0.0, False, -1)
        resid = self._residual(x[None, :])[0]
        seen = np.isfinite(resid)
        self.smooth = np.where(seen, self.smooth + self._alpha * (resid - self.smooth), self.smooth)
        self._rows_after_fit += 1
        # Rows since the middle of the fit period: the centre of what the mean describes.
        horizon = self._rows_after_fit + self.params.fit_rows / 2.0
        variance = self.base_var + self.drift_rate * horizon
        if self.context:
            # The regression on the conditions is only as sure as its fit: the further the
            # conditions are from the fit period's, the wider the spread (a prediction interval).
            away = np.nan_to_num(
                (self.conditions - self.mean[-self.context :]) / self.std[-self.context :]
            )
            away = np.where(self._moved, away, 0.0)
            variance = variance + np.einsum("jab,a,b->j", self.coef_cov, away, away)
        spread = np.sqrt(variance)
        z = np.where(self._judged, np.abs(self.smooth) / spread, 0.0)
        driver = int(np.argmax(z))
        top = float(z[driver])
        if not math.isfinite(top):
            return PlantRow(0.0, False, -1)
        threshold = self.threshold_z
        if not self.anomalous:
            self._loud_rows = self._loud_rows + 1 if top >= threshold else 0
            self.anomalous = self._loud_rows >= self.params.entry_rows
            self._quiet_rows = 0
        else:
            quiet = top < self.params.release_fraction * threshold
            self._quiet_rows = self._quiet_rows + 1 if quiet else 0
            self.anomalous = self._quiet_rows < self.params.release_rows
        return PlantRow(min(1.0, top / FULL_SCALE_Z), self.anomalous, driver, top)


def held_conditions(before: FloatArray, given: FloatArray) -> FloatArray:
    """The conditions after a row: each given reading, or the one held before where the row has
    none (NaN)."""
    held: FloatArray = np.where(np.isnan(given), before, given)
    return held


def _still_spread(mean: FloatArray) -> FloatArray:
    """The spread a sensor that did not move at all in the fit period is judged by (not 0)."""
    floor: FloatArray = 1e-6 * np.abs(mean) + 1e-9
    return floor


def _ridge(a: FloatArray, y: FloatArray, penalty: FloatArray) -> FloatArray:
    """Coefficients of ``y`` on the columns of ``a``, each penalised by its ``penalty`` per row."""
    gram = a.T @ a + np.diag(penalty * len(a))
    solved: FloatArray = np.asarray(np.linalg.solve(gram, a.T @ y), dtype=np.float64)
    return solved


def _jackknife_cov(a: FloatArray, y: FloatArray, penalty: FloatArray) -> FloatArray:
    """The covariance of :func:`_ridge`'s coefficients, by leaving out one of
    :data:`JACKKNIFE_BLOCKS` stretches of rows at a time: neighbouring rows of a plant are alike,
    so a stretch, not a row, is the unit of evidence."""
    bounds = np.linspace(0, len(a), JACKKNIFE_BLOCKS + 1).astype(int)
    keep = np.ones(len(a), np.bool_)
    fits = []
    for lo, hi in itertools.pairwise(bounds.tolist()):
        keep[lo:hi] = False
        fits.append(_ridge(a[keep], y[keep], penalty))
        keep[lo:hi] = True
    spread = np.array(fits) - np.mean(fits, axis=0)
    cov: FloatArray = spread.T @ spread * (len(fits) - 1) / len(fits)
    return cov


def score_plant(
    ts_ms: npt.ArrayLike,
    values: npt.ArrayLike,
    sensitivity: float = DEFAULT_SENSITIVITY,
    params: PlantParams = DEFAULT_PLANT_PARAMS,
    context: int = 0,
) -> tuple[FloatArray, npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """Score a (rows × columns) table of one device: (scores, alarm states, driver per row).
    The last ``context`` columns are conditions, not judged."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2 or ts.shape != (x.shape[0],):
        raise ValueError("values must be rows × columns with one timestamp per row")
    det = PlantDetector(x.shape[1], sensitivity, params, context)
    scores = np.zeros(x.shape[0])
    alarms = np.zeros(x.shape[0], dtype=np.bool_)
    drivers = np.full(x.shape[0], -1, dtype=np.intp)
    for i in range(x.shape[0]):
        out = det.update(int(ts[i]), x[i])
        scores[i], alarms[i], drivers[i] = out.score, out.alarm, out.driver
    return scores, alarms, drivers


__all__ = [
    "DEFAULT_PLANT_PARAMS",
    "FULL_SCALE_Z",
    "PlantDetector",
    "PlantParams",
    "PlantRow",
    "score_plant",
]
