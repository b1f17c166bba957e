"""A series with no structure is quiet: pure Gaussian noise raises no alarm (decision 0055)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from shugu.monitor.anomaly import score_many
from shugu.monitor.anomaly_context import ContextState

T0 = 1_700_000_000_000
SEEDS = (0, 1, 2, 3)


def noise(
    step_s: float, hours: float, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    n = int(hours * 3600 / step_s)
    ts = (T0 + np.arange(n) * step_s * 1000).astype(np.int64)
    return ts, 10.0 + np.random.default_rng(seed).normal(size=n)


@pytest.mark.parametrize(
    ("step_s", "hours"),
    [
        (1.0, 8.0),  # 28,800 points: before decision 0055, two alarms per seed
        (60.0, 3 * 168.0),  # three weeks: before, 10 to 14 alarms per seed
        (3600.0, 20 * 168.0),  # twenty weeks: before, 0 to 2 alarms per seed
    ],
)
def test_white_noise_raises_no_alarm(step_s: float, hours: float) -> None:
    found = score_many([noise(step_s, hours, seed) for seed in SEEDS])
    alarms = {seed: int(a.sum()) for seed, (_, a) in zip(SEEDS, found, strict=True)}
    assert alarms == dict.fromkeys(SEEDS, 0)


def test_a_spike_in_fast_noise_still_alarms() -> None:
    ts, v = noise(1.0, 4.0, seed=5)
    at = len(v) - 600
    v[at] += 12.0  # twelve standard deviations
    ((_, alarms),) = score_many([(ts, v)])
    assert alarms[at]
    assert not alarms[:at].any()


def test_sequence_is_trusted_only_where_it_predicts() -> None:
    """The contextual statistic's gain: nil on noise, clearly positive on an AR(1) series."""
    n = 5000
    rng = np.random.default_rng(7)
    white = rng.normal(size=n)
    ar = np.zeros(n)
    for i in range(1, n):
        ar[i] = 0.95 * ar[i - 1] + rng.normal()
    state = ContextState(2)
    slots = np.array([0, 1], dtype=np.intp)
    valid = np.ones(2, dtype=np.bool_)
    for i in range(n):
        state.step(slots, np.array([white[i], ar[i]]), valid)
    trust_gain = state.params.trust_gain
    assert state.gain[0] < trust_gain / 2
    assert state.gain[1] > 5 * trust_gain
