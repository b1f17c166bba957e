"""Streaming anomaly detection for one device with several correlated sensors.

Each column runs the single-metric detector of :mod:`shugu.monitor.anomaly` (its own level,
daily profile, spread and calibration). Two things are then combined per row, both O(columns):

- **The most surprising column**, corrected for the number of columns looked at (Bonferroni:
  with *k* columns, a 1-in-1000 event somewhere is *k* times as likely, so ``log10 k`` decades are
  taken off). A single failing sensor still shows.
- **A joint change of level**: the root mean square of the columns' clipped change-of-level z
  values, calibrated like any other statistic by its own exceedance counts. When several sensors
  move together, each by an amount that is unremarkable on its own, this is what rises.

The alarm logic (threshold from the sensitivity, hold-off, re-arm) is the single-metric one.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly import (
    DEFAULT_PARAMS,
    DEFAULT_SENSITIVITY,
    FULL_SCALE_DECADES,
    AlarmGate,
    AnomalyBank,
    DetectorParams,
)
from shugu.monitor.anomaly_ladder import LEVELS, surprise_decades

#: Level z values are clipped here before they are combined, so one column cannot dominate.
_JOINT_CLIP = 8.0


class MultiDetector:
    """State of one device's columns; feed it one row at a time."""

    def __init__(
        self,
        columns: int,
        sensitivity: float = DEFAULT_SENSITIVITY,
        params: DetectorParams = DEFAULT_PARAMS,
    ) -> None:
        if columns < 1:
            raise ValueError("a multivariate detector needs at least one column")
        self.columns = columns
        self.params = params
        self.bank = AnomalyBank(sensitivity, capacity=columns, params=params)
        self.slots = np.array([self.bank.slot((0, k)) for k in range(columns)], dtype=np.intp)
        self.counts = np.zeros((1, len(LEVELS)))
        self.n_cal = np.zeros(1)
        self.last_ms: int | None = None
        self.gate = AlarmGate(1)

    def update(self, ts_ms: int, row: npt.NDArray[np.float64]) -> tuple[float, bool]:
        """One row (NaN for a missing reading): returns (score in [0, 1], alarm)."""
        p = self.params
        ts = np.full(self.columns, ts_ms, dtype=np.int64)
        surprise, z_level, scored = self.bank.advance(self.slots, ts, row)
        k = int(np.count_nonzero(scored))
        if k == 0:
            return 0.0, False
        dt = 0.0 if self.last_ms is None else max(0.0, (ts_ms - self.last_ms) / 60_000.0)
        dt = min(dt, p.max_gap_minutes)
        self.last_ms = ts_ms
        single = max(0.0, float(surprise[scored].max()) - math.log10(k))
        clipped = np.clip(z_level[scored], -_JOINT_CLIP, _JOINT_CLIP)
        joint_z = np.array([math.sqrt(float(np.mean(clipped * clipped)))])
        joint = float(
            surprise_decades(
                self.counts, self.n_cal, joint_z, p.prior_points, p.prior_exponent, p.tail_exponent
            )[0]
        )
        keep = math.exp(-dt / p.calibration_minutes)
        self.counts = self.counts * keep + (joint_z[:, None] >= LEVELS)
        self.n_cal = self.n_cal * keep + 1.0
        total = np.array([max(single, joint)])
        alarm = self.gate.decide(
            np.zeros(1, dtype=np.intp),
            np.array([ts_ms], dtype=np.int64),
            total,
            np.ones(1, dtype=np.bool_),
            self.bank.threshold,
            p.holdoff_minutes,
            p.rearm_fraction,
        )
        return min(1.0, total[0] / FULL_SCALE_DECADES), bool(alarm[0])


def score_frame(
    ts_ms: npt.ArrayLike,
    values: npt.ArrayLike,
    sensitivity: float = DEFAULT_SENSITIVITY,
    params: DetectorParams = DEFAULT_PARAMS,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Score a (rows × columns) table of one device's readings: returns (scores, alarms)."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2 or ts.shape != (x.shape[0],):
        raise ValueError("values must be rows × columns with one timestamp per row")
    det = MultiDetector(x.shape[1], sensitivity, params)
    scores = np.zeros(x.shape[0])
    alarms = np.zeros(x.shape[0], dtype=np.bool_)
    for i in range(x.shape[0]):
        scores[i], alarms[i] = det.update(int(ts[i]), x[i])
    return scores, alarms
