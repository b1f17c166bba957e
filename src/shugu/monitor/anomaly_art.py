"""Shape novelty (形态新颖度) by adaptive resonance over short windows of a series.

ARTime, the leading detector on NAB, judges a point by whether the *shape* of the last few
points is one the series has made before. This module keeps, per series, a bounded fuzzy-ART
memory of such shapes:

- **Features.** The last ``window`` values, each the mean of ``pool`` consecutive points, scaled
  into [0, 1] by a slowly adapting range of the series (it widens at once to take a new extreme
  and narrows back over ``memory_points``), complement-coded as fuzzy ART wants.
- **Resonance.** A category is a box in feature space. The current window resonates with a
  category when their fuzzy overlap ``|I ∧ w| / |I|`` reaches the vigilance; the best resonating
  category learns (its box grows towards the window, a little each time). When none resonates,
  the window is a novel shape: a new category is made for it, or, once ``categories`` are in
  use, it replaces the one least recently resonated with. So the state per series is bounded.
- **Statistic.** By default (``statistic="rarity"``) only a window that makes a new category
  scores, by how rare new categories have become: ``-log10`` of their decayed rate, in decades,
  comparable with the other statistics of :mod:`shugu.monitor.anomaly`. A series that keeps
  making new shapes (noise at this vigilance) is not surprised by one more; one that has made
  none for weeks is. The alternative (``"likelihood"``) grades every point: the raw novelty
  ``1 -`` best overlap, its short average judged against its own long-run mean and spread as in
  HTM's anomaly likelihood, the Gaussian tail of that z in decades. The feature that lay
  furthest outside the closest category's box is kept, so an alarm can say which part of the
  window was new.

Everything is counted in points, so the sampling interval does not matter; invalid points (NaN,
out of order) change nothing and score 0. Cost per point: O(categories × window).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly_context import log10_gaussian_tail

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class ArtParams:
    """Sizes of the shape statistic, in points."""

    #: Features per window, and how many consecutive points each feature averages.
    window: int = 8
    pool: int = 1
    #: Categories kept per series (the least recently resonating one is replaced when full).
    categories: int = 32
    #: Overlap a window needs with a category to resonate (higher: finer shapes, more novelty).
    vigilance: float = 0.9
    #: How far a resonating category's box moves towards the window (1 is ART's fast learning).
    learning_rate: float = 0.1
    #: Memory of the adapting range (how fast it narrows back after an extreme).
    memory_points: float = 2000.0
    #: Memory of the raw novelty's mean and spread (the likelihood's reference).
    likelihood_points: float = 2000.0
    #: EWMA span of the raw novelty compared with that reference.
    short_span: float = 5.0
    #: Points before the statistic says anything (besides filling the first window).
    warmup_points: int = 100
    #: "rarity": only a window that makes a new category is surprising, by how rarely that
    #: happens (``-log10`` of the decayed rate of new categories over ``likelihood_points``:
    #: ARTime's yes/no novelty, graded); "likelihood": the raw novelty's short average against
    #: its own distribution, as HTM judges its raw scores. Rarity scored better on tuning.
    statistic: str = "rarity"


DEFAULT_ART = ArtParams()

_CHOICE_ALPHA = 1e-3


class ArtState:
    """Shape categories and likelihood state for many series (slots), vectorised."""

    def __init__(self, capacity: int, params: ArtParams = DEFAULT_ART) -> None:
        self.params = params
        span = params.window * params.pool
        features = 2 * params.window
        self.n = np.zeros(capacity)
        #: The last ``window × pool`` values, a ring indexed by ``n``.
        self.ring = np.zeros((capacity, span))
        self.low = np.zeros(capacity)
        self.high = np.zeros(capacity)
        #: Category boxes (complement-coded), whether each is in use, when it last resonated.
        self.boxes = np.zeros((capacity, params.categories, features))
        self.in_use = np.zeros((capacity, params.categories), dtype=np.bool_)
        self.last_used = np.zeros((capacity, params.categories))
        self.raw_mean = np.zeros(capacity)
        self.raw_var = np.zeros(capacity)
        self.raw_short = np.zeros(capacity)
        self.scored_n = np.zeros(capacity)
        self.created = np.zeros(capacity)
        #: Per point of the last step: the window feature (0 = oldest) furthest outside the best
        #: category's box, and whether the window made a new category.
        self.driver = np.zeros(0, dtype=np.intp)
        self.novel = np.zeros(0, dtype=np.bool_)

    _FIELDS = (
        "n", "ring", "low", "high", "boxes", "in_use", "last_used", "raw_mean", "raw_var",
        "raw_short", "scored_n", "created",
    )  # fmt: skip

    def grow(self, capacity: int) -> None:
        for name in self._FIELDS:
            a = getattr(self, name)
            pad = np.zeros((capacity - a.shape[0], *a.shape[1:]), dtype=a.dtype)
            setattr(self, name, np.concatenate([a, pad]))

    def features(self, slots: IntArray) -> FloatArray:
        """The current window of each slot, pooled and scaled into [0, 1] (oldest first)."""
        p = self.params
        span = p.window * p.pool
        n = self.n[slots].astype(np.intp)
        order = (n[:, None] - span + np.arange(span)[None, :]) % span
        values = self.ring[slots[:, None], order]
        pooled = values.reshape(len(slots), p.window, p.pool).mean(axis=2)
        low = self.low[slots][:, None]
        width = np.maximum(self.high[slots] - self.low[slots], 1e-9)[:, None]
        scaled: FloatArray = np.fmin(np.fmax((pooled - low) / width, 0.0), 1.0)
        return scaled

    def step(self, slots: IntArray, x: FloatArray, valid: BoolArray) -> FloatArray:
        """Learn one point per slot; returns the shape statistic in decades (0 when not scored)."""
        p = self.params
        span = p.window * p.pool
        n = self.n[slots]
        first = valid & (n == 0)
        upd = valid & (n > 0)
        xv = np.where(valid, x, 0.0)
        position = (n.astype(np.intp)) % span
        self.ring[slots, position] = np.where(valid, xv, self.ring[slots, position])
        # The range widens at once to a new extreme and narrows back slowly.
        low, high = self.low[slots], self.high[slots]
        shrink = (high - low) / p.memory_points
        low = np.where(first, xv, np.where(upd, np.minimum(xv, low + shrink), low))
        high = np.where(first, xv, np.where(upd, np.maximum(xv, high - shrink), high))
        self.low[slots], self.high[slots] = low, high
        n_after = n + valid
        self.n[slots] = n_after
        full = valid & (n_after >= span)

        a = self.features(slots)
        inputs = np.concatenate([a, 1.0 - a], axis=1)
        boxes = self.boxes[slots]
        in_use = self.in_use[slots]
        overlap = np.minimum(inputs[:, None, :], boxes)
        match = np.where(in_use, overlap.sum(axis=2) / p.window, -1.0)
        choice = np.where(
            match >= p.vigilance, match * p.window / (_CHOICE_ALPHA + boxes.sum(axis=2)), -1.0
        )
        best = np.argmax(choice, axis=1)
        resonates = choice[np.arange(len(slots)), best] >= 0.0
        closest = np.argmax(match, axis=1)
        best_match = np.maximum(match[np.arange(len(slots)), closest], 0.0)
        raw = np.where(full, 1.0 - best_match, 0.0)
        # Which feature lay furthest outside the closest box: the part of the shape that is new.
        outside = inputs - overlap[np.arange(len(slots)), closest]
        self.driver = np.argmax(outside[:, : p.window] + outside[:, p.window :], axis=1)

        # --- learning ---
        novel = full & ~resonates
        self.novel = novel
        # A free category first, else the one that resonated least recently.
        replace = np.argmin(np.where(in_use, self.last_used[slots], -np.inf), axis=1)
        target = np.where(resonates, best, replace)
        rows = np.arange(len(slots))
        old = boxes[rows, target]
        learned = old + p.learning_rate * (np.minimum(inputs, old) - old)
        new_box = np.where(novel[:, None], inputs, np.where(resonates[:, None], learned, old))
        touched = full
        self.boxes[slots, target] = np.where(touched[:, None], new_box, old)
        self.in_use[slots, target] = in_use[rows, target] | novel
        self.last_used[slots, target] = np.where(touched, n_after, self.last_used[slots, target])

        scored_n = self.scored_n[slots]
        a_long = np.maximum(1.0 / (scored_n + 1.0), 1.0 / p.likelihood_points)
        a_short = 2.0 / (p.short_span + 1.0)
        mean, var = self.raw_mean[slots], self.raw_var[slots]
        short_before = self.raw_short[slots]
        short = np.where(scored_n > 0, short_before + a_short * (raw - short_before), raw)
        z = (short - mean) / np.sqrt(var + 1e-6)
        scored = full & (scored_n >= p.warmup_points)
        if p.statistic == "rarity":
            keep = 1.0 - 1.0 / p.likelihood_points
            created = self.created[slots]
            seen = np.minimum(scored_n, p.likelihood_points)
            rate = (created + 1.0) / (seen + 2.0)
            surprise = np.where(scored & novel, -np.log10(rate), 0.0)
            self.created[slots] = np.where(full, created * keep + novel, created)
        else:
            surprise = np.where(scored, -log10_gaussian_tail(z), 0.0)
        d = raw - mean
        self.raw_mean[slots] = np.where(full, np.where(scored_n > 0, mean + a_long * d, raw), mean)
        self.raw_var[slots] = np.where(full, (1.0 - a_long) * (var + a_long * d * d), var)
        self.raw_short[slots] = np.where(full, short, short_before)
        self.scored_n[slots] = scored_n + full
        return surprise

    def category_count(self, slot: int) -> int:
        return int(np.count_nonzero(self.in_use[slot]))


__all__ = ["DEFAULT_ART", "ArtParams", "ArtState"]
