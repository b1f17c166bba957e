"""Streaming anomaly detection for single metrics, vectorised over many series.

Each series (a slot in an :class:`AnomalyBank`) keeps a fixed amount of state, so a point costs
O(1) time and memory, and the decision on point *i* uses only points up to *i*:

- **Expected value.** A slow robust EWMA of the level, and a time-of-day profile (24 hourly bins,
  each an EWMA of the values seen in that hour). The profile is used only while it predicts the
  series better than the flat level does (both errors are tracked), so series without a daily
  rhythm are not made noisier by a half-learned profile.
- **Two statistics** on the residual ``x - expected``, scaled by a robust spread (an EWMA of the
  clipped absolute residual): the point's own z (a spike), and a fast EWMA of the clipped residual
  against the slow level (a change of level, which a 15-minute average shows long before any
  single point is extreme).
- **Calibration per series.** Real metrics are heavy-tailed and autocorrelated, so a Gaussian
  tail on those z values would alarm all day on bursty series and never on smooth ones. Instead
  each slot counts, with exponential forgetting over about three days, how often each statistic
  has exceeded a fixed ladder of levels. The surprise of a value is ``-log10`` of that empirical
  exceedance rate; beyond the highest level reached the rate is extrapolated as a power law. A
  spike as large as the ones seen every day is not surprising; the first one twice as large is.
- **Context.** A third statistic, from :mod:`shugu.monitor.anomaly_context`: how novel the step
  from the previous value's range to this one is, as an anomaly likelihood (decades), weighted by
  ``context_weight``. It finds what the first two cannot: a daily curve that goes flat, a series
  that starts jumping between levels it never jumped between. It counts only as far as the
  previous range has predicted the next on this series, so white noise leaves it silent
  (decision 0055). The surprise is the largest of the statistics, and
  :attr:`AnomalyBank.causes` says which one it was.
- **Time of week.** A fourth statistic, from :mod:`shugu.monitor.anomaly_season`: how much less
  likely the value's range is at this hour of this weekday than at any time (a holiday that
  looks like a Sunday), weighted by ``season_weight``. It speaks only on series whose hour of
  the week does predict their value (decision 0052).
- **Pattern.** A fifth statistic (``pattern_weight``), on in :data:`WITH_PATTERN`, which anomaly
  rules and one-column scoring run by default: how surprising the next value range is after the
  last few (:mod:`shugu.monitor.anomaly_sequence`), counted only where the contextual statistic
  trusts the series' sequence (decisions 0060, 0062). :data:`DEFAULT_PARAMS` leaves it off; the
  multivariate and plant detectors build on those.
- **Off by default**, measured and kept as options: calibration per hour of the day
  (``hourly_calibration``, :mod:`shugu.monitor.anomaly_hourly`, decision 0052) and a shape
  statistic (``art_weight``, adaptive resonance over short windows as ARTime does,
  :mod:`shugu.monitor.anomaly_art`, decision 0049).
- **Per time, not per point.** The range-based statistics (context, time of week, pattern) say
  how rare a point is among points, so a series sampled ten times as often meets a given rarity
  ten times as often. On series faster than ``reference_step_minutes`` (5, the NAB series'
  interval, on which their weights and the thresholds were chosen) their decades are lowered by
  ``log10(5 / step)``, and the contextual statistic's short average spans ``5 / step`` times as
  many points, the same stretch of time: a slow curve then crossing between value ranges, with
  its noise jittering across the edge, is a few ordinary minutes, not a burst of rare steps.
  The spike and level statistics are left alone: their calibration's heavy tail already keeps
  them modest, and lowered, a 20-sigma spike in one-second noise no longer alarmed (decision
  0066). On series of 5 minutes or slower nothing changes.
- **Alarm.** The surprise in decades, divided by ``FULL_SCALE_DECADES`` and clipped, is the
  score in [0, 1]. An alarm fires when ``score >= 1 - sensitivity``, at most once per hold-off
  period, and only after the score has fallen back below half the threshold since the previous
  alarm, so a lasting condition raises one alarm rather than one per hold-off period.

The parameters (sensitivities, time constants, weights, causes) are in
:mod:`shugu.monitor.anomaly_params`; the exceedance ladder in :mod:`shugu.monitor.anomaly_ladder`.

Missing values (NaN), values beyond ±1e100 and points not later than the slot's last point
change nothing and score 0.
A gap in the timestamps counts as at most an hour of forgetting: after an outage the series is
judged against what it was before, not against nothing.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly_art import ArtState
from shugu.monitor.anomaly_context import ContextState
from shugu.monitor.anomaly_gate import AlarmGate
from shugu.monitor.anomaly_hourly import HourlyCounts, hour_of_day
from shugu.monitor.anomaly_ladder import LEVELS, surprise_decades
from shugu.monitor.anomaly_params import (
    CAUSES,
    DEFAULT_PARAMS,
    DEFAULT_SENSITIVITY,
    FULL_SCALE_DECADES,
    MAX_ABS_VALUE,
    PATTERN_SENSITIVITY,
    WITH_PATTERN,
    DetectorParams,
    threshold_decades,
)
from shugu.monitor.anomaly_season import SeasonState
from shugu.monitor.anomaly_sequence import SequenceState

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

_MS_PER_MIN = 60_000.0
_MIN_PER_DAY = 1440


def _bound(x: FloatArray, low: FloatArray | float, high: FloatArray | float) -> FloatArray:
    """``np.clip`` without its Python-level overhead (it dominates on batches of a few points)."""
    out: FloatArray = np.minimum(np.maximum(x, low), high)
    return out


def _decay(dt_min: FloatArray, minutes: float) -> FloatArray:
    """EWMA weight of a new point after ``dt_min`` minutes, for a time constant in minutes."""
    return 1.0 - np.exp(-dt_min / minutes)


class AnomalyBank:
    """Detector state for many series, updated a numpy batch at a time.

    ``sensitivity`` (0..1, default :data:`DEFAULT_SENSITIVITY`): an alarm fires when the score
    reaches ``1 - sensitivity``. The score itself does not depend on it.
    """

    #: Per-slot arrays: axis 0 is the slot (the sub-states list theirs the same way).
    _FIELDS = (
        "n", "last_ms", "first_ms", "level", "spread", "deviation", "fast", "fast_var",
        "err_flat", "err_profile", "profile", "profile_n", "count_point", "count_level",
        "n_cal", "step_min",
    )  # fmt: skip

    def __init__(
        self,
        sensitivity: float = DEFAULT_SENSITIVITY,
        capacity: int = 1024,
        params: DetectorParams = DEFAULT_PARAMS,
    ) -> None:
        self.sensitivity = min(max(float(sensitivity), 0.0), 1.0)
        self.params = params
        self._threshold = threshold_decades(self.sensitivity)
        self._keys: dict[tuple[int, int], int] = {}
        self._cap = 0
        cap = max(int(capacity), 1)
        bins = params.profile_bins
        self.n = np.zeros(cap)
        self.last_ms = np.zeros(cap, dtype=np.int64)
        self.first_ms = np.zeros(cap, dtype=np.int64)
        self.level = np.zeros(cap)
        self.spread = np.zeros(cap)
        self.deviation = np.zeros(cap)
        self.fast = np.zeros(cap)
        #: The variance of ``fast`` for unit white noise, with the weights the points actually
        #: had: a/(2-a) at a steady interval; near 1 just after a gap, when one point holds it.
        self.fast_var = np.zeros(cap)
        self.err_flat = np.zeros(cap)
        self.err_profile = np.zeros(cap)
        self.profile = np.zeros((cap, bins))
        self.profile_n = np.zeros((cap, bins))
        self.count_point = np.zeros((cap, len(LEVELS)))
        self.count_level = np.zeros((cap, len(LEVELS)))
        self.n_cal = np.zeros(cap)
        #: Average interval between points (minutes), for ``reference_step_minutes``.
        self.step_min = np.zeros(cap)
        self.hourly = (
            HourlyCounts(cap, len(LEVELS), params.prior_points)
            if params.hourly_calibration
            else None
        )
        self.gate = AlarmGate(cap)
        with_ranges = params.context_weight > 0 or params.season_weight > 0
        with_ranges = with_ranges or params.pattern_weight > 0
        self.context = ContextState(cap, params.context) if with_ranges else None
        self.season = (
            SeasonState(cap, params.context.bins, params.season)
            if params.season_weight > 0
            else None
        )
        self.art = ArtState(cap, params.art) if params.art_weight > 0 else None
        self.pattern = SequenceState(cap, params.pattern) if params.pattern_weight > 0 else None
        #: Per point of the last update: index into :data:`CAUSES`, and for the contextual
        #: cause the previous and current value range (``ContextState.range_of``), else -1.
        self.causes = np.zeros(0, dtype=np.intp)
        self.context_step = (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp))
        #: For the time-of-week cause: the hour of the week (0 = Monday 00:00) and the value
        #: range that was unusual for it, else -1.
        self.season_step = (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp))
        #: Which points of the last :meth:`advance` were taken (finite and after the last point).
        self._valid = np.zeros(0, dtype=np.bool_)
        self._cap = cap

    @property
    def threshold(self) -> float:
        """The alarm threshold in decades of surprise."""
        return self._threshold

    def __len__(self) -> int:
        return len(self._keys)

    def set_sensitivity(self, sensitivity: float) -> None:
        """Judge from now on at another sensitivity; what was learned stays."""
        self.sensitivity = min(max(float(sensitivity), 0.0), 1.0)
        self._threshold = threshold_decades(self.sensitivity)

    def keys(self) -> dict[tuple[int, int], int]:
        """Each series' key and its slot."""
        return dict(self._keys)

    def state_arrays(self) -> list[tuple[str, npt.NDArray[np.generic]]]:
        """Every per-slot array of the detector and its statistics (axis 0 is the slot): one
        row of each is everything a series has learned (``detector_state``)."""
        parts: list[tuple[str, object]] = [("", self), ("gate.", self.gate)]
        for prefix, part in (
            ("context.", self.context), ("season.", self.season), ("art.", self.art),
            ("pattern.", self.pattern), ("hourly.", self.hourly),
        ):  # fmt: skip
            if part is not None:
                parts.append((prefix, part))
        return [
            (prefix + name, getattr(part, name))
            for prefix, part in parts
            for name in part._FIELDS  # type: ignore[attr-defined]
        ]

    def slot(self, key: tuple[int, int]) -> int:
        """The state slot of a series, e.g. ``(device_id, metric_id)``; new keys get a fresh one."""
        found = self._keys.get(key)
        if found is not None:
            return found
        index = len(self._keys)
        if index >= self._cap:
            self._grow(self._cap * 2)
        self._keys[key] = index
        return index

    def _grow(self, cap: int) -> None:
        def more(a: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
            pad = np.zeros((cap - a.shape[0], *a.shape[1:]), dtype=a.dtype)
            return np.concatenate([a, pad])

        for name in self._FIELDS:
            setattr(self, name, more(getattr(self, name)))
        self.gate.grow(cap)
        if self.context is not None:
            self.context.grow(cap)
        if self.art is not None:
            self.art.grow(cap)
        if self.season is not None:
            self.season.grow(cap)
        if self.pattern is not None:
            self.pattern.grow(cap)
        if self.hourly is not None:
            self.hourly.grow(cap)
        self._cap = cap

    def update(
        self,
        slots: IntArray,
        ts_ms: npt.NDArray[np.int64],
        values: FloatArray,
        sensitivities: FloatArray | None = None,
    ) -> tuple[FloatArray, BoolArray]:
        """Feed one point to each of ``slots`` (unique in a call): (score, alarm) per point.

        ``sensitivities`` gives points their own (a device's own, for one noisy machine); NaN
        or None is the bank's."""
        slots = np.asarray(slots, dtype=np.intp)
        ts = np.asarray(ts_ms, dtype=np.int64)
        x = np.asarray(values, dtype=np.float64)
        surprise, _, scored = self.advance(slots, ts, x)
        stretch = self.reference_stretch(slots)
        per_time = np.log10(stretch)
        if self.context is not None:
            novelty, before, current = self.context.step(slots, x, self._valid, stretch)
            novelty = np.where(scored, self.params.context_weight * novelty - per_time, 0.0)
            by_context = novelty > surprise
            self.causes = np.where(by_context, CAUSES.index("unusual_sequence"), self.causes)
            shown = (np.where(by_context, before, -1), np.where(by_context, current, -1))
            self.context_step = shown
            surprise = np.maximum(surprise, novelty)
            if self.season is not None:
                ranges = self.context.current_range
                odd, hour = self.season.step(slots, ts, ranges, self._valid)
                odd = np.where(scored, self.params.season_weight * odd - per_time, 0.0)
                by_time = odd > surprise
                self.causes = np.where(by_time, CAUSES.index("unusual_for_time"), self.causes)
                self.season_step = (np.where(by_time, hour, -1), np.where(by_time, ranges, -1))
                surprise = np.maximum(surprise, odd)
        if self.art is not None:
            shape = self.art.step(slots, x, self._valid)
            shape = np.where(scored, self.params.art_weight * shape, 0.0)
            by_shape = shape > surprise
            self.causes = np.where(by_shape, CAUSES.index("unusual_shape"), self.causes)
            surprise = np.maximum(surprise, shape)
        p = self.params
        if self.pattern is not None and self.context is not None:
            trusted = self.context.gain[slots] >= self.params.context.trust_gain
            odd_step = self.pattern.step(slots, x, self._valid)
            weight = self.params.pattern_weight * FULL_SCALE_DECADES
            pattern = np.where(scored & trusted, weight * odd_step - per_time, 0.0)
            by_pattern = pattern > surprise
            self.causes = np.where(by_pattern, CAUSES.index("unusual_pattern"), self.causes)
            surprise = np.maximum(surprise, pattern)
        threshold: FloatArray | float = self._threshold
        if sensitivities is not None:
            own = np.asarray(sensitivities, dtype=np.float64)
            own_threshold = FULL_SCALE_DECADES * (1.0 - np.clip(own, 0.0, 1.0))
            threshold = np.where(np.isnan(own), self._threshold, own_threshold)
        judged = scored
        if p.alarm_after_minutes > 0:
            history = (ts - self.first_ms[slots]).astype(np.float64) / _MS_PER_MIN
            judged = scored & (history >= p.alarm_after_minutes)
        alarm = self.gate.decide(
            slots, ts, surprise, judged, threshold, p.holdoff_minutes, p.rearm_fraction
        )
        score = _bound(surprise / FULL_SCALE_DECADES, 0.0, 1.0)
        return score, alarm

    def reference_stretch(self, slots: IntArray) -> FloatArray:
        """How many of each slot's points make one point of a series sampled every
        ``reference_step_minutes`` (1 for slower series, and when that is 0). The range-based
        statistics' decades are lowered by its log10, and the contextual statistic's short
        average spans that many times more points (decision 0066)."""
        reference = self.params.reference_step_minutes
        if reference <= 0:
            return np.ones(len(slots))
        # Faster than a second counts as a second: a burst of points a millisecond apart is one
        # reading's worth of time, not a thousand seconds' worth of chances.
        step = np.maximum(self.step_min[slots], 1.0 / 60.0)
        out: FloatArray = np.maximum(reference / step, 1.0)
        return out

    def advance(
        self, slots: IntArray, ts: npt.NDArray[np.int64], x: FloatArray
    ) -> tuple[FloatArray, FloatArray, BoolArray]:
        """Update the learned state; return (surprise in decades, level z, scored) per point.

        ``scored`` is False for skipped points (NaN, not after the last point) and during warm-up.
        The multivariate detector builds on this; alarms are decided separately.
        """
        p = self.params
        n = self.n[slots]
        last = self.last_ms[slots]
        seen = n > 0
        valid = (np.abs(x) <= MAX_ABS_VALUE) & (~seen | (ts > last))
        first = valid & ~seen
        upd = valid & seen
        xv = np.where(valid, x, 0.0)
        self._valid = valid

        dt = np.where(upd, (ts - last).astype(np.float64) / _MS_PER_MIN, 0.0)
        dt = np.minimum(dt, p.max_gap_minutes)
        # Until a slot has seen ~its warm-up, slow averages run as plain means (1/n weights)
        # so that they start from the data rather than creeping up from zero.
        start = 1.0 / (n + 1.0)
        a_fast = _decay(dt, p.fast_minutes)
        a_level = np.maximum(_decay(dt, p.level_minutes), np.where(upd, start, 0.0))
        a_spread = np.maximum(_decay(dt, p.spread_minutes), np.where(upd, start, 0.0))
        keep_cal = np.exp(-dt / p.calibration_minutes)
        a_cal = np.maximum(1.0 - keep_cal, np.where(upd, start, 0.0))

        minute_of_day = (ts // int(_MS_PER_MIN)) % _MIN_PER_DAY
        bins = (minute_of_day * p.profile_bins // _MIN_PER_DAY).astype(np.intp)
        prof = self.profile[slots, bins]
        prof_n = self.profile_n[slots, bins]

        level = self.level[slots]
        err_flat = self.err_flat[slots]
        err_prof = self.err_profile[slots]
        use_profile = (prof_n > 0) & (err_prof < err_flat)
        expected = np.where(use_profile, prof, level)
        deviation = self.deviation[slots]
        # 1.25 × mean absolute deviation ≈ one standard deviation for Gaussian noise. The floors:
        # a fraction of the unclipped deviation (bursty series), and a tiny absolute one so that
        # a series that has been exactly constant does not divide by zero.
        scale = np.maximum(
            1.25 * self.spread[slots],
            np.maximum(p.floor_fraction * deviation, 1e-6 * np.abs(level) + 1e-9),
        )
        z_point = (xv - expected) / scale
        clipped = _bound(z_point, -p.level_clip, p.level_clip) * scale
        fast = self.fast[slots]
        fast = fast + a_fast * (clipped - fast)
        # Standard deviation of the EWMA of unit white noise, from the weights its points had
        # (sqrt(a / (2 - a)) at a steady interval). After a gap one point carries the average;
        # judging it by the steady width would make that point's noise look like a shift
        # (decision 0070).
        fast_var = (1.0 - a_fast) ** 2 * self.fast_var[slots] + a_fast**2
        z_level = fast / (scale * np.sqrt(np.maximum(fast_var, 1e-6)))

        warm = n >= p.warmup_points
        scored = upd & warm
        counts_point = self.count_point[slots]
        counts_level = self.count_level[slots]
        n_cal = self.n_cal[slots]
        # Both statistics in one call: per-call overhead, not arithmetic, is the cost here.
        counts_both = np.concatenate([counts_point, counts_level])
        z_both = np.concatenate([z_point, z_level])
        k = len(slots)
        ladder = (p.prior_points, p.prior_exponent, p.tail_exponent)
        if self.hourly is None:
            both = surprise_decades(counts_both, np.concatenate([n_cal, n_cal]), z_both, *ladder)
        else:
            hours = hour_of_day(ts)
            at_hour, n_hour = self.hourly.prior_counts(slots, hours, counts_both, n_cal)
            four = surprise_decades(
                np.concatenate([counts_both, at_hour]),
                np.concatenate([n_cal, n_cal, n_hour]),
                np.concatenate([z_both, z_both]),
                *ladder,
            )
            both = np.minimum(four[: 2 * k], four[2 * k :])
        by_point, by_level = both[:k], both[k:]
        self.causes = (by_level > by_point).astype(np.intp)
        surprise = np.where(scored, np.maximum(by_point, by_level), 0.0)

        # --- state updates (only for valid points) ---
        # After warm-up, clipping keeps one wild point from dragging the level and the spread;
        # a lasting change still moves them, a few spreads per point.
        limit = np.where(warm, p.clip * scale, np.inf)
        level_step = _bound(xv - level, -limit, limit)
        self.level[slots] = np.where(first, xv, np.where(upd, level + a_level * level_step, level))
        spread = self.spread[slots]
        dev = np.abs(_bound(xv - expected, -limit, limit))
        self.spread[slots] = np.where(upd, spread + a_spread * (dev - spread), spread)
        self.deviation[slots] = np.where(
            first,
            0.0,
            np.where(upd, deviation + a_cal * (np.abs(xv - level) - deviation), deviation),
        )
        self.fast[slots] = np.where(upd, fast, np.where(first, 0.0, self.fast[slots]))
        self.fast_var[slots] = np.where(upd, fast_var, np.where(first, 0.0, self.fast_var[slots]))
        self.err_flat[slots] = np.where(
            upd, err_flat + a_spread * (np.abs(xv - level) - err_flat), err_flat
        )
        self.err_profile[slots] = np.where(
            upd & (prof_n > 0), err_prof + a_spread * (np.abs(xv - prof) - err_prof), err_prof
        )
        # Each bin is visited once per 24/bins hours of points; its weight is in bin-visit time.
        a_bin = np.where(
            prof_n > 0,
            np.maximum(_decay(dt * p.profile_bins, p.profile_minutes), 1.0 / (prof_n + 1.0)),
            1.0,
        )
        bin_resid = np.where(prof_n > 0, _bound(xv - prof, -p.clip * scale, p.clip * scale), 0.0)
        self.profile[slots, bins] = np.where(
            valid, np.where(prof_n > 0, prof + a_bin * bin_resid, xv), prof
        )
        self.profile_n[slots, bins] = prof_n + valid

        # Calibration counts learn only from scored points (the warm-up spread is still rough).
        keep = np.where(scored, keep_cal, 1.0)
        keep_both = np.concatenate([keep, keep])[:, None]
        add_both = np.concatenate([scored, scored])[:, None]
        exceeded = np.abs(z_both)[:, None] >= LEVELS
        counted = counts_both * keep_both + add_both * exceeded
        if self.hourly is not None:
            # Each hour's counts forget in that hour's own time (24 × faster per point seen).
            keep_hour = np.exp(-dt * 24.0 / p.calibration_minutes)
            self.hourly.learn(slots, hour_of_day(ts), exceeded, keep_hour, scored)
        self.count_point[slots] = counted[: len(slots)]
        self.count_level[slots] = counted[len(slots) :]
        self.n_cal[slots] = n_cal * keep + scored
        step = self.step_min[slots]
        self.step_min[slots] = np.where(
            upd, np.where(n > 1, step + (dt - step) / np.clip(n, 1.0, 50.0), dt), step
        )
        self.n[slots] = n + valid
        self.last_ms[slots] = np.where(valid, ts, last)
        self.first_ms[slots] = np.where(first, ts, self.first_ms[slots])
        return surprise, np.where(scored, z_level, 0.0), scored


def score_series(
    ts_ms: npt.ArrayLike,
    values: npt.ArrayLike,
    sensitivity: float = DEFAULT_SENSITIVITY,
    params: DetectorParams = DEFAULT_PARAMS,
) -> tuple[FloatArray, BoolArray]:
    """Score one series point by point (a bank of one slot): returns (scores, alarms)."""
    scores, alarms, _ = explain_series(ts_ms, values, sensitivity, params)
    return scores, alarms


def explain_series(
    ts_ms: npt.ArrayLike,
    values: npt.ArrayLike,
    sensitivity: float = DEFAULT_SENSITIVITY,
    params: DetectorParams = DEFAULT_PARAMS,
) -> tuple[FloatArray, BoolArray, IntArray]:
    """As :func:`score_series`, with what drove each point's score: an index into
    :data:`CAUSES`, or -1 where the score is 0."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    x = np.asarray(values, dtype=np.float64)
    if ts.shape != x.shape or ts.ndim != 1:
        raise ValueError("ts_ms and values must be 1-D arrays of the same length")
    bank = AnomalyBank(sensitivity, capacity=1, params=params)
    slot = np.array([bank.slot((0, 0))], dtype=np.intp)
    scores = np.zeros(len(x))
    alarms = np.zeros(len(x), dtype=np.bool_)
    causes = np.full(len(x), -1, dtype=np.intp)
    for i in range(len(x)):
        s, a = bank.update(slot, ts[i : i + 1], x[i : i + 1])
        scores[i] = s[0]
        alarms[i] = a[0]
        if s[0] > 0.0:
            causes[i] = bank.causes[0]
    return scores, alarms, causes


def score_many(
    series: list[tuple[npt.NDArray[np.int64], FloatArray]],
    sensitivity: float = DEFAULT_SENSITIVITY,
    params: DetectorParams = DEFAULT_PARAMS,
) -> list[tuple[FloatArray, BoolArray]]:
    """Score several independent series at once, one bank slot each, row i of all in one call.

    The result is identical to :func:`score_series` on each; it only runs faster.
    """
    bank = AnomalyBank(sensitivity, capacity=max(len(series), 1), params=params)
    slots = np.array([bank.slot((0, k)) for k in range(len(series))], dtype=np.intp)
    lengths = np.array([len(v) for _, v in series], dtype=np.intp)
    longest = int(lengths.max()) if len(series) else 0
    ts_mat = np.zeros((len(series), longest), dtype=np.int64)
    x_mat = np.zeros((len(series), longest))
    for k, (ts, v) in enumerate(series):
        ts_mat[k, : len(v)] = ts
        x_mat[k, : len(v)] = v
    score_mat = np.zeros((len(series), longest))
    alarm_mat = np.zeros((len(series), longest), dtype=np.bool_)
    for i in range(longest):
        live = np.flatnonzero(lengths > i)
        score_mat[live, i], alarm_mat[live, i] = bank.update(
            slots[live], ts_mat[live, i], x_mat[live, i]
        )
    return [(score_mat[k, :m].copy(), alarm_mat[k, :m].copy()) for k, m in enumerate(lengths)]


def detection_threshold_score(sensitivity: float) -> float:
    """The score at which a bank with this sensitivity alarms (``1 - sensitivity``)."""
    return 1.0 - min(max(float(sensitivity), 0.0), 1.0)


__all__ = [
    "CAUSES",
    "DEFAULT_PARAMS",
    "DEFAULT_SENSITIVITY",
    "FULL_SCALE_DECADES",
    "PATTERN_SENSITIVITY",
    "WITH_PATTERN",
    "AlarmGate",
    "AnomalyBank",
    "DetectorParams",
    "detection_threshold_score",
    "explain_series",
    "score_many",
    "score_series",
    "threshold_decades",
]
