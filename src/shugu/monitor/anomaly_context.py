"""Contextual novelty (上下文新颖度): how unusual is this step from the previous value's range?

NAB's leading detectors (CAD OSE, HTM) judge a point by its *context*: a value that is common on
its own can still be novel after the value before it (a daily curve that stops and stays flat,
a load that jumps between two levels it never jumped between). This module keeps, per series,
the smallest such model that stays O(1) per point:

- **Quantisation.** Each value falls into one of ``bins`` ranges around a slow mean of the series,
  ``width / bins`` mean absolute deviations wide; values past the outer ranges share them.
- **Transitions.** A decayed count of each (previous range → range) step, per series. The raw
  surprise of a step is ``-log10`` of its estimated probability given the previous range, with
  the ranges' overall frequencies as the prior (so an unseen step into a common range is less
  surprising than one into a rare range).
- **Only as far as sequence tells.** The transition estimate, and the statistic itself, count
  in proportion to how much better the transitions have predicted the series' ranges than their
  frequencies alone. On a series without sequence (white noise) a thin row would otherwise make
  one unseen step look a million times rarer than its range is, and the likelihood's Gaussian
  tail would call one value in a rare range a 6-decade event: noise alarmed every few days.
- **Likelihood.** Raw surprises are noisy (a noisy series makes rare steps all the time), so, as
  HTM's anomaly likelihood does, the short average of the raw surprise is judged against its own
  long-run mean and spread: the output is ``-log10`` of the Gaussian tail of that z, in decades,
  comparable with the other statistics of :mod:`shugu.monitor.anomaly`.

Everything is counted in points, except the short average of the raw surprise: the detector
stretches it on series faster than 5 minutes to the same stretch of time (decision 0066). Counted
in points, a slow curve sampled every 30 seconds crosses between ranges once in hundreds of
points, jittering across the edge, and a span of 5 points made each crossing a many-decade
event. The transition counts decay lazily: each series keeps a growing weight for new counts
instead of shrinking its whole table every point, and is rescaled when the weight gets large.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

_LN10 = float(np.log(10.0))
_RESCALE_AT = 1e100


def grow_slots(state: object, names: tuple[str, ...], capacity: int) -> None:
    """Give each per-slot array of ``state`` named in ``names`` rows up to ``capacity``: 0,
    except an array named ``weight``, whose new rows are 1."""
    for name in names:
        a = getattr(state, name)
        fill = 1.0 if name == "weight" else 0
        pad = np.full((capacity - a.shape[0], *a.shape[1:]), fill, dtype=a.dtype)
        setattr(state, name, np.concatenate([a, pad]))


@dataclass(frozen=True, slots=True)
class ContextParams:
    """Sizes of the contextual statistic, in points."""

    #: Value ranges a series is quantised into, and their total width in mean absolute
    #: deviations (so each range is width / bins deviations wide).
    bins: int = 16
    width: float = 24.0
    #: Memory of the mean, the deviation and the transition counts.
    memory_points: float = 2000.0
    #: Memory of the raw surprise's mean and spread (the likelihood's reference).
    likelihood_points: float = 2000.0
    #: EWMA span of the raw surprise that is compared with that reference, in points of a
    #: 5-minute series: the detector stretches it on faster ones (``span_scale``, decision 0066).
    short_span: float = 5.0
    #: Pseudo-counts of the prior (the ranges' overall frequencies) in each transition estimate.
    prior_points: float = 1.0
    #: Points before the statistic says anything.
    warmup_points: int = 50
    #: Decades per point by which the previous range must, on average (over
    #: ``likelihood_points``), predict the current range better than the ranges' frequencies
    #: do before the transition estimate is trusted in full. Below it the estimate is mixed
    #: with the frequencies in proportion; on a series without sequence (white noise) the
    #: gain is nil and the statistic says nothing: a value rare in itself is the spike
    #: statistic's business, judged by its own rates (decision 0055). 0 trusts the transitions
    #: always, as before.
    trust_gain: float = 0.002


DEFAULT_CONTEXT = ContextParams()


def log10_gaussian_tail(z: FloatArray) -> FloatArray:
    """``log10`` of the upper Gaussian tail Q(z) for z ≥ 0 (Börjesson–Sundberg approximation,
    within a few per cent everywhere); z below 0 counts as 0."""
    z = np.maximum(z, 0.0)
    density = np.sqrt(2.0 * np.pi) * (0.226 + 0.64 * z + 0.33 * np.sqrt(z * z + 3.0))
    out: FloatArray = -(z * z) / (2.0 * _LN10) - np.log10(density)
    return out


class ContextState:
    """Transition counts and likelihood state for many series (slots), vectorised."""

    def __init__(self, capacity: int, params: ContextParams = DEFAULT_CONTEXT) -> None:
        self.params = params
        b = params.bins
        self.n = np.zeros(capacity)
        self.center = np.zeros(capacity)
        self.deviation = np.zeros(capacity)
        self.previous = np.zeros(capacity, dtype=np.intp)
        #: Counts scaled by ``weight`` (the weight of a new count grows instead of old counts
        #: shrinking): transitions, their row totals, and the ranges' own frequencies.
        self.counts = np.zeros((capacity, b, b))
        self.row_total = np.zeros((capacity, b))
        self.seen = np.zeros((capacity, b))
        self.seen_total = np.zeros(capacity)
        self.weight = np.ones(capacity)
        self.raw_mean = np.zeros(capacity)
        self.raw_var = np.zeros(capacity)
        self.raw_short = np.zeros(capacity)
        #: Average of log10 P(range | previous range) - log10 P(range), predicted before learning.
        self.gain = np.zeros(capacity)
        #: The range of each point of the last :meth:`step` (valid or not), for other statistics.
        self.current_range = np.zeros(0, dtype=np.intp)

    _FIELDS = (
        "n", "center", "deviation", "previous", "counts", "row_total", "seen", "seen_total",
        "weight", "raw_mean", "raw_var", "raw_short", "gain",
    )  # fmt: skip

    def grow(self, capacity: int) -> None:
        grow_slots(self, self._FIELDS, capacity)

    def quantise(self, slots: IntArray, x: FloatArray) -> IntArray:
        """The range of each value for its series (with the series' current mean and spread)."""
        p = self.params
        center = self.center[slots]
        scale = np.maximum(self.deviation[slots], 1e-9 + 1e-6 * np.abs(center))
        step = p.width * scale / p.bins
        position = np.floor((x - center) / step + p.bins / 2.0)
        # fmax / fmin also map a NaN (a degenerate scale) to a range instead of passing it on.
        out: IntArray = np.fmin(np.fmax(position, 0.0), p.bins - 1).astype(np.intp)
        return out

    def step(
        self,
        slots: IntArray,
        x: FloatArray,
        valid: BoolArray,
        span_scale: FloatArray | float = 1.0,
    ) -> tuple[FloatArray, IntArray, IntArray]:
        """Learn one point per slot; returns (surprise in decades, previous range, range).

        ``span_scale`` stretches the short average per slot: on a series sampled ten times as
        often, the same stretch of time is ten times as many points. Invalid points (NaN, out
        of order) change nothing and score 0.
        """
        p = self.params
        n = self.n[slots]
        first = valid & (n == 0)
        upd = valid & (n > 0)
        xv = np.where(valid, x, 0.0)
        center = np.where(first, xv, self.center[slots])
        self.center[slots] = center
        current = self.quantise(slots, xv)
        self.current_range = current
        before = self.previous[slots]

        weight = self.weight[slots]
        prior = (self.seen[slots, current] + 0.5 * weight) / (
            self.seen_total[slots] + 0.5 * p.bins * weight
        )
        a = p.prior_points * weight
        probability = (self.counts[slots, before, current] + a * prior) / (
            self.row_total[slots, before] + a
        )
        # What the previous range tells about this one, judged before this point is learned: a
        # sparse row makes an unseen step look far rarer than the range itself, which on a series
        # without sequence is only the table's thinness (white noise alarmed on it).
        gain = self.gain[slots]
        told = np.log10(probability) - np.log10(prior)
        trust = np.minimum(np.maximum(gain / max(p.trust_gain, 1e-12), 0.0), 1.0)
        if p.trust_gain > 0:
            probability = trust * probability + (1.0 - trust) * prior
        raw = -np.log10(probability)

        # Likelihood: the short average of the raw surprise against its long-run distribution.
        a_long = np.maximum(1.0 / (n + 1.0), 1.0 / p.likelihood_points)
        a_short = 2.0 / (p.short_span * span_scale + 1.0)
        mean = self.raw_mean[slots]
        var = self.raw_var[slots]
        short = np.where(upd, self.raw_short[slots] + a_short * (raw - self.raw_short[slots]), raw)
        z = (short - mean) / np.sqrt(var + 1e-6)
        scored = upd & (n >= p.warmup_points)
        surprise = np.where(scored, -log10_gaussian_tail(z), 0.0)
        if p.trust_gain > 0:
            # Without sequence, what is left is the range's own rarity judged by a Gaussian tail,
            # which one value in a rare range sends to 6 decades: leave it to the spike statistic.
            surprise = surprise * trust

        # --- learning ---
        d = raw - mean
        self.raw_mean[slots] = np.where(first, raw, np.where(upd, mean + a_long * d, mean))
        self.raw_var[slots] = np.where(upd, (1.0 - a_long) * (var + a_long * d * d), var)
        self.raw_short[slots] = np.where(valid, short, self.raw_short[slots])
        self.gain[slots] = np.where(upd, gain + a_long * (told - gain), gain)
        added = np.where(upd, weight, 0.0)
        self.counts[slots, before, current] += added
        self.row_total[slots, before] += added
        seen_add = np.where(valid, weight, 0.0)
        self.seen[slots, current] += seen_add
        self.seen_total[slots] += seen_add
        weight = np.where(valid, weight / (1.0 - 1.0 / p.memory_points), weight)
        self.weight[slots] = weight
        a_mean = np.maximum(1.0 / (n + 1.0), 1.0 / p.memory_points)
        self.center[slots] = np.where(upd, center + a_mean * (xv - center), center)
        dev = self.deviation[slots]
        self.deviation[slots] = np.where(upd, dev + a_mean * (np.abs(xv - center) - dev), dev)
        self.previous[slots] = np.where(valid, current, before)
        self.n[slots] = n + valid
        big = slots[weight > _RESCALE_AT]
        if len(big):
            self._rescale(big)
        return surprise, np.where(scored, before, -1), np.where(scored, current, -1)

    def _rescale(self, slots: IntArray) -> None:
        w = self.weight[slots]
        self.counts[slots] /= w[:, None, None]
        self.row_total[slots] /= w[:, None]
        self.seen[slots] /= w[:, None]
        self.seen_total[slots] /= w
        self.weight[slots] = 1.0

    def range_of(self, slot: int, index: int) -> tuple[float, float]:
        """The value range (low, high) a range index stands for now, for explanations."""
        p = self.params
        center = float(self.center[slot])
        scale = max(float(self.deviation[slot]), 1e-9 + 1e-6 * abs(center))
        step = p.width * scale / p.bins
        low = center + (index - p.bins / 2.0) * step
        return (low if index > 0 else -np.inf, low + step if index < p.bins - 1 else np.inf)


__all__ = [
    "DEFAULT_CONTEXT",
    "ContextParams",
    "ContextState",
    "log10_gaussian_tail",
]
