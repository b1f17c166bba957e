"""The contextual statistic of the univariate detector (anomaly_context.py)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly import CAUSES, AnomalyBank, DetectorParams, score_series
from shugu.monitor.anomaly_context import ContextParams, ContextState, log10_gaussian_tail

DAY = 288  # 5-minute points
T0 = 1_700_000_000_000
STEP = 300_000


def sawtooth_that_reverses(
    days: int, at: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """A sawtooth (a slow rise over 50 points, then a drop) that from ``at`` runs backwards (a
    drop, then a slow fall): every value stays as common as before, only the steps are new."""
    t = np.arange(days * DAY)
    rng = np.random.default_rng(3)
    v = (t % 50) * 2.0 + rng.normal(0, 0.3, len(t))
    v[at:] = (49 - t[at:] % 50) * 2.0 + rng.normal(0, 0.3, len(t) - at)
    return (T0 + t * STEP).astype(np.int64), v


def test_a_sequence_that_changes_is_found_only_by_its_context() -> None:
    at = 9 * DAY
    ts, v = sawtooth_that_reverses(12, at)
    _, alarms = score_series(ts, v)
    first = np.flatnonzero(alarms[at:])
    assert len(first) and first[0] <= 12, "found within an hour"
    assert not alarms[DAY:at].any(), "quiet on the healthy days"
    _, without = score_series(ts, v, params=DetectorParams(context_weight=0.0))
    assert not without[at:].any(), "the value statistics alone do not see it"


def test_the_cause_says_it_was_the_sequence() -> None:
    at = 9 * DAY
    ts, v = sawtooth_that_reverses(10, at)
    bank = AnomalyBank(capacity=1)
    slot = np.array([bank.slot((1, 1))], dtype=np.intp)
    causes = []
    for i in range(len(v)):
        _, alarm = bank.update(slot, ts[i : i + 1], v[i : i + 1])
        if alarm[0]:
            causes.append(CAUSES[int(bank.causes[0])])
            before, current = bank.context_step
            assert bank.context is not None
            low, high = bank.context.range_of(0, int(current[0]))
            assert low <= v[i] < high
            assert int(before[0]) >= 0
    assert causes == ["unusual_sequence"]


def test_lazy_decay_equals_decaying_every_count() -> None:
    params = ContextParams(bins=4, width=4.0, memory_points=7.0)
    state = ContextState(1, params)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 3000)  # the weight passes the rescale point (1e100) on the way
    slots = np.array([0], dtype=np.intp)
    table = np.zeros((4, 4))
    keep = 1.0 - 1.0 / params.memory_points
    previous = -1
    for value in x:
        current = int(state.quantise(slots, np.array([value]))[0]) if previous >= 0 else -1
        state.step(slots, np.array([value]), np.array([True]))
        table *= keep
        if previous >= 0:
            table[previous, current] += 1.0
        previous = int(state.previous[0])
    assert np.allclose(state.counts[0] / state.weight[0] / keep, table)
    # The running total of range counts (kept instead of summing the row each point) stays the
    # sum of the counts it stands for, through the rescale too.
    assert np.isclose(state.seen_total[0], state.seen[0].sum())


def test_a_degenerate_scale_still_quantises_into_a_range() -> None:
    state = ContextState(2)
    slots = np.array([0, 1], dtype=np.intp)
    state.center[:] = [np.inf, 0.0]  # inf - inf is NaN: it must not become a garbage index
    with np.errstate(invalid="ignore", over="ignore"):
        ranges = state.quantise(slots, np.array([np.inf, 1e300]))
    assert all(0 <= r < state.params.bins for r in ranges.tolist())


def test_invalid_points_change_nothing_and_tail_is_gaussian() -> None:
    state = ContextState(2)
    slots = np.array([0, 1], dtype=np.intp)
    state.step(slots, np.array([1.0, np.nan]), np.array([True, False]))
    assert state.n.tolist() == [1.0, 0.0]
    z = np.array([0.0, 1.0, 3.0, 5.0])
    # Q(0) = 0.5, Q(1) = 0.1587, Q(3) = 0.00135, Q(5) = 2.87e-7
    assert np.allclose(10 ** log10_gaussian_tail(z), [0.5, 0.1587, 0.00135, 2.87e-7], rtol=0.05)
