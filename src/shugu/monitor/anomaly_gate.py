"""Hold-off and re-arm of anomaly alarms, per slot (the single and multivariate detectors').

An alarm fires when a scored point's surprise reaches the threshold, at most once per hold-off
period, and only once the surprise has fallen below ``rearm_fraction`` of the threshold since the
previous alarm: a lasting condition raises one alarm, not one per hold-off period.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

_MS_PER_MIN = 60_000.0


class AlarmGate:
    """Hold-off and re-arm state per slot, shared by the single and multivariate detectors."""

    _FIELDS = ("last_ms", "armed")

    def __init__(self, capacity: int) -> None:
        self.last_ms = np.full(capacity, np.iinfo(np.int64).min // 2, dtype=np.int64)
        self.armed = np.ones(capacity, dtype=np.bool_)

    def grow(self, capacity: int) -> None:
        extra = capacity - len(self.armed)
        self.last_ms = np.concatenate(
            [self.last_ms, np.full(extra, np.iinfo(np.int64).min // 2, dtype=np.int64)]
        )
        self.armed = np.concatenate([self.armed, np.ones(extra, dtype=np.bool_)])

    def decide(
        self,
        slots: IntArray,
        ts_ms: npt.NDArray[np.int64],
        surprise: FloatArray,
        scored: BoolArray,
        threshold: FloatArray | float,
        holdoff_minutes: float,
        rearm_fraction: float,
    ) -> BoolArray:
        armed = self.armed[slots]
        since = (ts_ms - self.last_ms[slots]).astype(np.float64) / _MS_PER_MIN
        over = scored & (surprise >= threshold)
        alarm = over & armed & (since >= holdoff_minutes)
        self.last_ms[slots] = np.where(alarm, ts_ms, self.last_ms[slots])
        rearm = scored & (surprise < threshold * rearm_fraction)
        self.armed[slots] = np.where(alarm, False, armed | rearm)
        return alarm
