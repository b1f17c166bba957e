"""Calibration by hour of the day (按时段校准): a spike that comes every night at three is usual.

The detector calibrates its spike and level statistics by how often each level of |z| has been
exceeded on the series (:func:`shugu.monitor.anomaly_ladder.surprise_decades`). A daily job (a
backup at 03:00, a shift change) makes the same spike once a day: rare among all points, so
surprising every night, though it is the most usual thing that hour. This module keeps the same
exceedance counts per hour of the day, and gives the detector counts for the current hour with the
series' overall rates mixed in as a prior (``prior_points`` pseudo-points), so an hour with little
history falls back to the overall calibration. The detector takes the *smaller* of the overall and
the hourly surprise: the hour can only explain a value away, never make one surprising (that is the
time-of-week statistic's business, :mod:`shugu.monitor.anomaly_season`).

Each hour's counts decay in that hour's own time (a visit of an hour is an hour of its memory),
so the memory is the detector's calibration memory in calendar time; the counts are in points,
so what is compared is a rate, whatever the sampling interval. O(1) per point; per series 24 ×
(2 × levels + 1) floats.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

HOURS = 24
_MS_PER_HOUR = 3_600_000


def hour_of_day(ts_ms: npt.NDArray[np.int64]) -> IntArray:
    """Hour of the day of each timestamp, in the timestamps' clock."""
    out: IntArray = ((ts_ms // _MS_PER_HOUR) % HOURS).astype(np.intp)
    return out


class HourlyCounts:
    """Exceedance counts of two statistics per hour of the day, for many series (slots)."""

    _FIELDS = ("counts", "n")

    def __init__(self, capacity: int, levels: int, prior_points: float) -> None:
        self.prior_points = prior_points
        #: (slot, hour, statistic, level): decayed counts of |z| ≥ level.
        self.counts = np.zeros((capacity, HOURS, 2, levels))
        self.n = np.zeros((capacity, HOURS))

    def grow(self, capacity: int) -> None:
        extra = capacity - self.n.shape[0]
        self.counts = np.concatenate([self.counts, np.zeros((extra, *self.counts.shape[1:]))])
        self.n = np.concatenate([self.n, np.zeros((extra, HOURS))])

    def prior_counts(
        self, slots: IntArray, hours: IntArray, overall: FloatArray, n_overall: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """(counts, points) of the current hour with the overall rates as a prior.

        ``overall`` is (2 × len(slots), levels): both statistics' overall counts, stacked as the
        detector stacks them; ``n_overall`` the points they were counted over, per slot.
        """
        here = self.counts[slots, hours]  # (slots, 2 statistics, levels)
        stacked = np.concatenate([here[:, 0], here[:, 1]])
        n_both = np.concatenate([n_overall, n_overall])
        rate = overall / np.maximum(n_both, 1.0)[:, None]
        prior = np.where(n_both > 0, self.prior_points, 0.0)
        n_here = np.concatenate([self.n[slots, hours]] * 2)
        return stacked + prior[:, None] * rate, n_here + prior

    def learn(
        self,
        slots: IntArray,
        hours: IntArray,
        exceeded: BoolArray,
        keep: FloatArray,
        scored: BoolArray,
    ) -> None:
        """Count one point per slot: ``exceeded`` is (2 × len(slots), levels), stacked."""
        k = len(slots)
        kept = np.where(scored, keep, 1.0)
        here = self.counts[slots, hours] * kept[:, None, None]
        here[:, 0] += scored[:, None] * exceeded[:k]
        here[:, 1] += scored[:, None] * exceeded[k:]
        self.counts[slots, hours] = here
        self.n[slots, hours] = self.n[slots, hours] * kept + scored


__all__ = ["HOURS", "HourlyCounts", "hour_of_day"]
