"""A sustained run of unusual patterns: the short average of the pattern score, judged against
what that average usually reaches on the same series (round 11 of issue 15, decision 0065;
measured, not adopted, so it lives here beside the bench that measured it).

The monitor's pattern statistic (:mod:`shugu.monitor.anomaly_sequence`) alarms on one point
whose score reaches a fixed level; a run of moderately unusual steps, none of them extreme,
passes under it. HTM's anomaly likelihood looks for such runs: a short average of the raw
score, judged against that series' own distribution of it. This is that statistic in the
bank's form (numpy over slots, O(1) per point):

- **Run.** An EWMA of the pattern's raw score (before its rest), weight ``1 / points``.
- **Calibration, "ladder"** (the spike and level statistics' mechanism): each slot counts,
  forgetting over ``calibration_minutes`` of series time, how often the run has exceeded each
  level of :data:`RUN_LEVELS`. The surprise is ``-log10`` of that rate, interpolated between
  levels; beyond the highest level reached the rate falls at most ``tail_decades`` decades
  per unit of run.
- **Calibration, "gauss"** (HTM's, and the contextual statistic's): the run's z against an
  EWMA mean and variance over ``likelihood_points`` points, judged by a Gaussian tail.
- **Warm-up.** Nothing is scored until a slot has calibrated on ``warmup_points`` points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly_context import grow_slots, log10_gaussian_tail
from shugu.monitor.anomaly_ladder import decades_at

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

#: Levels of the run (the averaged pattern score, in [0, 1]) whose exceedance rates are counted.
RUN_LEVELS: FloatArray = np.array(
    [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9]
)
_K = len(RUN_LEVELS)
_MS_PER_MIN = 60_000.0


@dataclass(frozen=True, slots=True)
class RunParams:
    """Sizes of the sustained-pattern statistic."""

    #: The run is an EWMA of the raw pattern score with weight ``1 / points`` per point.
    points: float = 10.0
    #: Memory of the exceedance counts (a week of series time).
    calibration_minutes: float = 10080.0
    #: Prior strength (pseudo-points); the prior rate at a level falls this many decades per
    #: unit of run above the first level.
    prior_points: float = 30.0
    prior_decades: float = 6.0
    #: Beyond the highest level reached, the rate falls at most this many decades per unit.
    tail_decades: float = 8.0
    #: Points a slot calibrates on before it scores.
    warmup_points: int = 300
    #: A gap between points forgets as if it were at most this long.
    max_gap_minutes: float = 60.0
    #: "ladder": exceedance counts as above; "gauss": the run's z against an EWMA mean and
    #: variance over ``likelihood_points`` points, judged by a Gaussian tail (as HTM does).
    calibration: str = "ladder"
    likelihood_points: float = 2000.0


class RunState:
    """The sustained-pattern statistic's state for every slot of a bank."""

    def __init__(self, capacity: int, params: RunParams) -> None:
        if params.points < 1 or params.warmup_points < 0:
            raise ValueError("points must be at least 1 and warmup_points not negative")
        self.params = params
        cap = max(int(capacity), 1)
        self.run = np.zeros(cap)
        self.n = np.zeros(cap)
        self.last_ms = np.zeros(cap, dtype=np.int64)
        self.counts = np.zeros((cap, _K))
        self.n_cal = np.zeros(cap)
        first = RUN_LEVELS[0]
        self._log_prior = np.minimum(0.0, -params.prior_decades * (RUN_LEVELS - first))
        self._slope = params.tail_decades * RUN_LEVELS

        self.mean = np.zeros(cap)
        self.var = np.zeros(cap)

    _FIELDS = ("run", "n", "last_ms", "counts", "n_cal", "mean", "var")

    def grow(self, capacity: int) -> None:
        grow_slots(self, self._FIELDS, capacity)

    def surprise(self, counts: FloatArray, n_cal: FloatArray, run: FloatArray) -> FloatArray:
        """``-log10`` of the exceedance rate of each row's run value, in decades."""
        a = self.params.prior_points
        log_rate = np.log10((counts + a * 10.0**self._log_prior) / (n_cal[:, None] + a))
        log_rate = np.maximum.accumulate(log_rate + self._slope, axis=1) - self._slope
        return decades_at(log_rate, RUN_LEVELS, run)

    def step(
        self, slots: IntArray, ts: npt.NDArray[np.int64], raw: FloatArray, live: BoolArray
    ) -> FloatArray:
        """Each point's surprise in decades; ``live`` marks points whose pattern score counts
        (valid, and the pattern statistic past its warm-up). Others change nothing, score 0."""
        p = self.params
        n = self.n[slots]
        last = self.last_ms[slots]
        seen = n > 0
        dt = np.where(live & seen, (ts - last).astype(np.float64) / _MS_PER_MIN, 0.0)
        dt = np.minimum(np.maximum(dt, 0.0), p.max_gap_minutes)
        run = self.run[slots]
        run = np.where(live, np.where(seen, run + (raw - run) / p.points, raw), run)
        counts = self.counts[slots]
        n_cal = self.n_cal[slots]
        scored = live & (n >= p.warmup_points)
        if p.calibration == "gauss":
            mean, var = self.mean[slots], self.var[slots]
            z = (run - mean) / np.sqrt(var + 1e-6)
            out = np.where(scored, -log10_gaussian_tail(z), 0.0)
            a = np.maximum(1.0 / (n + 1.0), 1.0 / p.likelihood_points)
            d = run - mean
            self.mean[slots] = np.where(live, mean + a * d, mean)
            self.var[slots] = np.where(live, (1.0 - a) * (var + a * d * d), var)
        else:
            out = np.where(scored, self.surprise(counts, n_cal, run), 0.0)
        keep = np.where(live, np.exp(-dt / p.calibration_minutes), 1.0)
        exceeded = run[:, None] >= RUN_LEVELS
        self.counts[slots] = counts * keep[:, None] + live[:, None] * exceeded
        self.n_cal[slots] = n_cal * keep + live
        self.run[slots] = run
        self.n[slots] = n + live
        self.last_ms[slots] = np.where(live, ts, last)
        return out
