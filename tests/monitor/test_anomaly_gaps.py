"""A series that goes quiet for hours and comes back unchanged raises nothing (decision 0070):
after a gap one point carries the level statistic's average, and it is judged as one point."""

from __future__ import annotations

import numpy as np

from shugu.monitor.anomaly import (
    PATTERN_SENSITIVITY,
    WITH_PATTERN,
    detection_threshold_score,
    score_series,
)

T0 = 1_800_000_000_000
STEP_MS = 30_000
HOUR = 120  # points


def series(gap_h: float, back: float) -> tuple[np.ndarray, np.ndarray]:
    """36 hours of 600 ± 2 every 30 s, a gap, then 4 more hours whose first reading is ``back``
    above the level."""
    rng = np.random.default_rng(4)
    before = T0 + np.arange(36 * HOUR) * STEP_MS
    after = before[-1] + int(gap_h * 3_600_000) + np.arange(4 * HOUR) * STEP_MS
    values = 600.0 + rng.normal(0, 2.0, len(before) + len(after))
    values[len(before)] = 600.0 + back
    return np.concatenate([before, after]), values


def test_a_reading_after_a_gap_is_judged_as_one_reading() -> None:
    # 1.5 standard deviations off, after three quiet hours: ordinary noise.
    ts, values = series(gap_h=3, back=3.0)
    scores, alarms = score_series(ts, values, PATTERN_SENSITIVITY, WITH_PATTERN)
    assert not alarms.any(), np.flatnonzero(alarms)
    # Judged by the width of an average of many readings, the next ones scored 0.86 to 0.65.
    after = scores[36 * HOUR : 36 * HOUR + 10]
    assert after.max() < 0.5 < detection_threshold_score(PATTERN_SENSITIVITY), after
    # A real shift after the gap is still one.
    ts, values = series(gap_h=3, back=-12.0)
    values[36 * HOUR :] -= 12.0
    _, alarms = score_series(ts, values, PATTERN_SENSITIVITY, WITH_PATTERN)
    assert alarms[36 * HOUR : 37 * HOUR].any()
