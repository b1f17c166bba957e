"""Novelty for the time of week (时段新颖度): is this value usual for this hour of this weekday?

Decision 0049 found that in the NAB windows the detector misses, the values and short shapes are
ones the series has shown before, only not at that time: a holiday that looks like a Sunday, a
quiet night in the middle of a working afternoon. HTM encodes the time of day beside the value
for the same reason. This module keeps, per series, how long the series has spent in each value
range in each hour of the week, and asks how likely the current range is for the current hour:

- **Ranges.** The value ranges of :class:`shugu.monitor.anomaly_context.ContextState` (the
  caller passes each point's range), optionally merged in groups of ``merge`` so that an hour
  that is visited once a week fills its table faster.
- **Occupancy.** Per series, a decayed total of the *minutes* spent in each range: per hour of
  the week (168 × ranges), per hour of the day (24 × ranges) and overall. Minutes rather than
  points, so a 1-second and a 1-hour series build the same table from the same behaviour.
- **Backed-off estimate.** ``P(range | hour of week)`` is the hour-of-week share with
  ``prior_minutes`` of the hour-of-day estimate mixed in, which in turn has ``prior_minutes`` of
  the overall share: a series seen for one week leans on its daily pattern, later on its weekly
  one.
- **Statistic.** The raw surprise is ``log10 P(range) - log10 P(range | hour of week)``: how much
  *less* likely the value is at this time than at any time (a value rare at every hour is the
  spike statistic's business, not this one's). Its average over ``short_minutes`` is judged, as
  HTM's anomaly likelihood does, against its own mean and spread over ``memory_minutes``; the
  Gaussian tail of that z, in decades, is the statistic.
- **Only where time tells.** The average of ``log10 P(range | hour of week) - log10 P(range)``
  over ``likelihood_minutes`` says how much the time of week predicts the value. Below
  ``min_gain`` decades per point the statistic stays silent: on a series without a weekly or
  daily rhythm, the table's differences between hours are sampling noise (decision 0052).

All memories are in minutes of series time. Per point the work is a few gathers (O(1)); the
state per series is (168 + 24 + 1) × (ranges + 1) floats. Invalid points change nothing and score 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly_context import grow_slots, log10_gaussian_tail

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

HOURS_PER_WEEK = 168
_MS_PER_HOUR = 3_600_000
_MS_PER_MIN = 60_000.0
#: 1970-01-01 was a Thursday: adding three days makes hour 0 of the week Monday 00:00.
_EPOCH_SHIFT_HOURS = 3 * 24
_RESCALE_AT = 1e100


@dataclass(frozen=True, slots=True)
class SeasonParams:
    """Sizes of the time-of-week statistic; times in minutes of series time."""

    #: Adjacent value ranges merged into one (1 keeps the contextual statistic's ranges).
    merge: int = 4
    #: Memory of the occupancy tables (four weeks: each hour of the week is seen four times).
    memory_minutes: float = 4 * 7 * 1440.0
    #: Weight, in minutes, of the coarser estimate mixed into each finer one.
    prior_minutes: float = 60.0
    #: Averaging time of the raw surprise before it is judged.
    short_minutes: float = 720.0
    #: Memory of the averaged surprise's mean and spread (the likelihood's reference).
    likelihood_minutes: float = 7 * 1440.0
    #: Series time before the statistic says anything (the hour-of-day table needs a day).
    warmup_minutes: float = 2 * 1440.0
    #: A gap between points counts as at most this long.
    max_gap_minutes: float = 60.0
    #: The statistic speaks only while the hour of the week predicts the value range better
    #: than no time at all, by at least this many decades per point on average (over
    #: ``likelihood_minutes``): a series without a weekly or daily rhythm is left alone.
    min_gain: float = 0.1


DEFAULT_SEASON = SeasonParams()


def hour_of_week(ts_ms: npt.NDArray[np.int64]) -> IntArray:
    """Hour of the week (0 = Monday 00:00–01:00) of each timestamp, in the timestamps' clock."""
    out: IntArray = ((ts_ms // _MS_PER_HOUR + _EPOCH_SHIFT_HOURS) % HOURS_PER_WEEK).astype(np.intp)
    return out


class SeasonState:
    """Occupancy tables and likelihood state for many series (slots), vectorised."""

    def __init__(self, capacity: int, ranges: int, params: SeasonParams = DEFAULT_SEASON) -> None:
        self.params = params
        self.ranges = -(-ranges // params.merge)
        r = self.ranges
        self.started_ms = np.zeros(capacity, dtype=np.int64)
        self.last_ms = np.zeros(capacity, dtype=np.int64)
        self.n = np.zeros(capacity)
        #: Minutes scaled by ``weight`` (a new minute weighs more instead of old ones shrinking).
        self.week = np.zeros((capacity, HOURS_PER_WEEK, r))
        self.week_total = np.zeros((capacity, HOURS_PER_WEEK))
        self.day = np.zeros((capacity, 24, r))
        self.day_total = np.zeros((capacity, 24))
        self.overall = np.zeros((capacity, r))
        self.overall_total = np.zeros(capacity)
        self.weight = np.ones(capacity)
        self.short = np.zeros(capacity)
        self.mean = np.zeros(capacity)
        self.var = np.zeros(capacity)
        self.judged = np.zeros(capacity)
        #: Average of log10 P(range | hour of week) - log10 P(range): what the time tells.
        self.gain = np.zeros(capacity)

    _FIELDS = (
        "started_ms", "last_ms", "n", "week", "week_total", "day", "day_total", "overall",
        "overall_total", "weight", "short", "mean", "var", "judged", "gain",
    )  # fmt: skip

    def grow(self, capacity: int) -> None:
        grow_slots(self, self._FIELDS, capacity)

    def step(
        self,
        slots: IntArray,
        ts_ms: npt.NDArray[np.int64],
        value_range: IntArray,
        valid: BoolArray,
    ) -> tuple[FloatArray, IntArray]:
        """Learn one point per slot; returns (surprise in decades, hour of week) per point.

        ``value_range`` is each point's contextual range index; invalid points score 0.
        """
        p = self.params
        n = self.n[slots]
        seen = n > 0
        upd = valid & seen
        last = self.last_ms[slots]
        started = np.where(valid & ~seen, ts_ms, self.started_ms[slots])
        self.started_ms[slots] = started
        dt = np.where(upd, (ts_ms - last).astype(np.float64) / _MS_PER_MIN, 0.0)
        dt = np.minimum(np.maximum(dt, 0.0), p.max_gap_minutes)
        how = hour_of_week(ts_ms)
        hod = how % 24
        r = np.minimum(value_range // p.merge, self.ranges - 1)

        weight = self.weight[slots]
        a = p.prior_minutes * weight
        total = self.overall_total[slots]
        share = (self.overall[slots, r] + 0.5 * weight) / (total + 0.5 * self.ranges * weight)
        by_day = (self.day[slots, hod, r] + a * share) / (self.day_total[slots, hod] + a)
        by_week = (self.week[slots, how, r] + a * by_day) / (self.week_total[slots, how] + a)
        told = np.log10(by_week) - np.log10(share)
        raw = np.maximum(-told, 0.0)

        # Likelihood: the averaged raw surprise against its own long-run distribution.
        a_short = np.where(upd, 1.0 - np.exp(-np.maximum(dt, 1e-9) / p.short_minutes), 1.0)
        short = self.short[slots] + a_short * (raw - self.short[slots])
        mean = self.mean[slots]
        var = self.var[slots]
        elapsed = (ts_ms - started).astype(np.float64) / _MS_PER_MIN
        warm = upd & (elapsed >= p.warmup_minutes)
        judged = self.judged[slots]
        z = (short - mean) / np.sqrt(var + 1e-6)
        gain = self.gain[slots]
        scored = warm & (judged > 0) & (gain >= p.min_gain)
        surprise = np.where(scored, -log10_gaussian_tail(z), 0.0)

        # --- learning ---
        a_long = np.where(
            warm, np.maximum(1.0 - np.exp(-dt / p.likelihood_minutes), 1.0 / (judged + 1.0)), 0.0
        )
        d = short - mean
        self.mean[slots] = mean + a_long * d
        self.var[slots] = np.where(warm, (1.0 - a_long) * (var + a_long * d * d), var)
        self.judged[slots] = judged + warm
        # No fast start here: the gain starts at none and must be earned over days of points.
        a_gain = np.where(warm, 1.0 - np.exp(-dt / p.likelihood_minutes), 0.0)
        self.gain[slots] = gain + a_gain * (told - gain)
        self.short[slots] = np.where(valid, short, self.short[slots])
        added = dt * weight
        self.week[slots, how, r] += added
        self.week_total[slots, how] += added
        self.day[slots, hod, r] += added
        self.day_total[slots, hod] += added
        self.overall[slots, r] += added
        self.overall_total[slots] += added
        weight = weight * np.exp(dt / p.memory_minutes)
        self.weight[slots] = weight
        self.n[slots] = n + valid
        self.last_ms[slots] = np.where(valid, ts_ms, last)
        big = slots[weight > _RESCALE_AT]
        if len(big):
            self._rescale(big)
        return surprise, np.where(scored, how, -1)

    def _rescale(self, slots: IntArray) -> None:
        w = self.weight[slots]
        self.week[slots] /= w[:, None, None]
        self.week_total[slots] /= w[:, None]
        self.day[slots] /= w[:, None, None]
        self.day_total[slots] /= w[:, None]
        self.overall[slots] /= w[:, None]
        self.overall_total[slots] /= w
        self.weight[slots] = 1.0


__all__ = ["DEFAULT_SEASON", "HOURS_PER_WEEK", "SeasonParams", "SeasonState", "hour_of_week"]
