"""The pattern statistic (sequences of value ranges, decision 0062): the bank's vectorised
counts score exactly as the plain per-series definition does."""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt
import pytest

from shugu.monitor import anomaly_sequence
from shugu.monitor.anomaly_sequence import SequenceParams, SequenceState

Floats = npt.NDArray[np.float64]


class Reference:
    """The statistic for one series, written as its definition reads (dicts of counts)."""

    def __init__(self, params: SequenceParams) -> None:
        self.p = params
        self.warm: list[float] = []
        self.started = False
        self.resting = 0
        #: The last point's score before the rest, and whether it was scored at all.
        self.last_raw = 0.0
        self.last_scored = False
        self._start(0.0, 0.0)

    def _start(self, low: float, high: float) -> None:
        pad = (high - low) * self.p.margin
        self.low, self.high = low - pad, high + pad
        self.history: deque[int] = deque(maxlen=max(self.p.orders))
        self.seen: dict[tuple[int, ...], int] = {}
        self.came: dict[tuple[tuple[int, ...], int], int] = {}

    def raw(self, value: float) -> float:
        top = 2 ** max(self.p.bits)
        span = self.high - self.low
        level = 0 if span <= 0 else min(max(int((value - self.low) / span * top), 0), top - 1)
        failures: list[float] = []
        new = counted = 0
        for bits in self.p.bits:
            shift = max(self.p.bits) - bits
            for order in self.p.orders:
                if len(self.history) < order:
                    continue
                context = (bits, *(h >> shift for h in list(self.history)[-order:]))
                seen = self.seen.get(context, 0)
                came = self.came.get((context, level >> shift), 0)
                counted += 1
                new += came == 0
                if seen:
                    failures.append(1.0 - came / seen)
                self.seen[context] = seen + 1
                self.came[(context, level >> shift)] = came + 1
        self.history.append(level)
        if not counted:
            return 0.0
        failed = sum(failures) / len(failures) if failures else 0.0
        return (failed + new / counted) / 2.0

    def score(self, value: float) -> float:
        self.last_raw, self.last_scored = 0.0, self.started
        if not self.started:
            self.warm.append(value)
            if len(self.warm) < self.p.warmup_points:
                return 0.0
            self._start(min(self.warm), max(self.warm))
            for seen in self.warm:
                self.raw(seen)
            self.started = True
            return 0.0
        inside = min(max(value, self.low), self.high)
        current = self.raw(inside)
        self.last_raw = current
        out = current if self.resting == 0 else 0.0
        self.resting = max(self.resting - 1, 0)
        if current >= self.p.base_threshold:
            self.resting = self.p.rest_points
        if inside != value:
            self._start(min(self.low, value), max(self.high, value))
        return out


SMALL = SequenceParams(warmup_points=40, rest_points=5)


def series(n: int) -> list[Floats]:
    """Sequences with habits, noise, a constant start, values leaving the span, and gaps."""
    rng = np.random.default_rng(7)
    t = np.arange(n, dtype=float)
    cycle = np.resize(np.array([0.0, 1, 2, 3, 2, 1]), n) + 0.05 * rng.normal(size=n)
    cycle[n // 2 : n // 2 + 6] = [3, 0, 3, 0, 3, 0]
    leaving = np.sin(t / 5.0) * (1 + t / 100.0)
    flat = np.where(t < 60, 5.0, np.resize(np.array([5.0, 6.0]), n))
    missing = rng.normal(size=n)
    missing[::7] = np.nan
    return [cycle, rng.uniform(size=n), leaving, flat, missing]


@pytest.mark.parametrize("params", [SMALL, SequenceParams(warmup_points=2, rest_points=3)])
def test_the_bank_scores_as_the_definition_reads(params: SequenceParams) -> None:
    xs = series(400)
    state = SequenceState(2, params)  # grows to every slot
    state.grow(len(xs))
    references = [Reference(params) for _ in xs]
    slots = np.arange(len(xs), dtype=np.intp)
    for i in range(400):
        # Slots come in a different order each step, as a batch of the monitor may.
        order = np.random.default_rng(i).permutation(len(xs))
        x = np.array([xs[k][i] for k in order])
        valid = ~np.isnan(x)
        got = state.step(slots[order], x, valid)
        for j, k in enumerate(order.tolist()):
            want = references[k].score(float(x[j])) if valid[j] else 0.0
            assert got[j] == want, (k, i)
            # What a statistic built on this one reads: the score before the rest, and which
            # points were scored.
            raw = references[k].last_raw if valid[j] else 0.0
            assert state.raw[j] == raw, (k, i)
            assert state.scored[j] == (bool(valid[j]) and references[k].last_scored), (k, i)


def test_a_new_step_after_a_known_sequence_scores_one_then_rests() -> None:
    state = SequenceState(1, SMALL)
    steady = np.resize(np.array([0.0, 1.0, 2.0, 3.0]), 200)
    one = np.zeros(1, dtype=np.intp)
    scores = [float(state.step(one, np.array([v]), np.ones(1, np.bool_))[0]) for v in steady]
    assert max(scores[100:]) < 0.05  # the habit is learned
    odd = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]  # the habit ends on 3; 3 -> 1 never happened
    after = [float(state.step(one, np.array([v]), np.ones(1, np.bool_))[0]) for v in odd]
    assert after[0] == 1.0
    assert after[1 : 1 + SMALL.rest_points] == [0.0] * SMALL.rest_points


def test_counts_are_halved_before_they_overflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(anomaly_sequence, "_COUNT_LIMIT", 50)
    state = SequenceState(1, SMALL)
    one = np.zeros(1, dtype=np.intp)
    # Mostly 0 -> 1, once 0 -> 2: the rare step must stay known after the halving.
    values = np.resize(np.array([0.0, 3.0]), 400)
    values[101] = 1.5
    for v in values:
        state.step(one, np.array([v]), np.ones(1, np.bool_))
    assert state.contexts.max() < 50
    for t in state.tables:
        rows = state.transitions[0, t.transitions_at : t.transitions_at + t.ranges ** (t.order + 1)]
        contexts = state.contexts[0, t.contexts_at : t.contexts_at + t.ranges**t.order]
        assert np.array_equal(rows.reshape(-1, t.ranges).sum(axis=1), contexts)
    finest = state.tables[len(SMALL.orders)]  # 8 ranges, order 1
    span = state.high[0] - state.low[0]
    at = [int((v - state.low[0]) / span * 8) for v in (0.0, 1.5)]
    assert state.transitions[0, finest.transitions_at + at[0] * 8 + at[1]] >= 1


def test_sizes_must_make_sense() -> None:
    with pytest.raises(ValueError, match="bits and orders"):
        SequenceState(1, SequenceParams(orders=()))
    with pytest.raises(ValueError, match="bits and orders"):
        SequenceState(1, SequenceParams(bits=(0, 3)))
    with pytest.raises(ValueError, match="warmup_points must be positive"):
        SequenceState(1, SequenceParams(warmup_points=0))
