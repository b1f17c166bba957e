"""An anomaly rule learns for a day of each device's series time before it alarms (decision
0067): a loom's first stop is not an anomaly; its stops after the first day, learned, are not
either; a real departure after the first day still is."""

from __future__ import annotations

import numpy as np

from shugu.monitor.anomaly import PATTERN_SENSITIVITY, WITH_PATTERN, AnomalyBank
from shugu.monitor.anomaly_rule import LEARNING_MINUTES
from tests.monitor.points import one_point
from tests.monitor.test_engine import engine_with

T0 = 1_800_000_000_000
STEP_MS = 30_000
POINTS_PER_HOUR = 120


def loom_speed(hours: float, stops_every_h: float, seed: int) -> np.ndarray:
    """A loom at about 600 rpm, reading 0 on one 30-second sample every ``stops_every_h`` hours."""
    rng = np.random.default_rng(seed)
    n = int(hours * POINTS_PER_HOUR)
    x = 600.0 + rng.normal(0, 2.0, n)
    every = int(stops_every_h * POINTS_PER_HOUR)
    x[every // 2 :: every] = 0.0
    return x


def raised_at(x: np.ndarray) -> list[int]:
    engine = engine_with({"kind": "anomaly", "metric": "v"}, devices=1)
    out = []
    for i, value in enumerate(x.tolist()):
        ts = T0 + i * STEP_MS
        out += [i for t in engine.evaluate(one_point(ts, value), ts) if t.raised]
    return out


def test_a_loom_first_stop_raises_nothing_and_a_later_departure_does() -> None:
    x = loom_speed(40, stops_every_h=2.5, seed=1)
    # The same series judged from its first point: its first stop after the warm-up alarms.
    bank = AnomalyBank(PATTERN_SENSITIVITY, params=WITH_PATTERN)
    slot = np.array([bank.slot((1, 0))])
    first = [
        i
        for i in range(len(x))
        if bank.update(slot, np.array([T0 + i * STEP_MS]), x[i : i + 1])[1][0]
    ]
    assert first and first[0] < POINTS_PER_HOUR * 6, first
    # The rule learns for a day: the stops then are usual, and nothing is raised.
    assert LEARNING_MINUTES == 1440.0
    assert raised_at(x) == []
    # A loom that starts running 30 rpm slow after 36 hours is an anomaly.
    slow = x.copy()
    at = 36 * POINTS_PER_HOUR
    slow[at:] = np.where(slow[at:] > 0, slow[at:] - 30.0, 0.0)
    found = raised_at(slow)
    assert found and at <= found[0] < at + POINTS_PER_HOUR, found
