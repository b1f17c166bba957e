"""The anomaly rule kind: the streaming detector's alarms as an alarm rule's state."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from shugu.monitor.anomaly import (
    CAUSES,
    DEFAULT_PARAMS,
    WITH_PATTERN,
    AnomalyBank,
)
from shugu.monitor.evaluators import DeviceParams, Evaluator, Floats, Ints, Step, _grown
from shugu.monitor.rules import RuleSpec

#: An anomaly rule learns for a day of each device's series time before it alarms: a device's
#: first stop, its first night, is not yet an anomaly. It also covers what the detector
#: relearns after the monitor restarts (decision 0067).
LEARNING_MINUTES = 1440.0


class AnomalyEvaluator(Evaluator):
    """Raised when the detector alarms (not in a device's first day of series time); cleared
    after ``clear_after_s`` without a new one. A device with its own sensitivity (an override)
    is judged against its own threshold."""

    def __init__(self, rule: RuleSpec, params: DeviceParams) -> None:
        super().__init__(rule, params)
        detector = WITH_PATTERN if rule.uses_pattern else DEFAULT_PARAMS
        detector = dataclasses.replace(detector, alarm_after_minutes=LEARNING_MINUTES)
        self.bank = AnomalyBank(sensitivity=rule.effective_sensitivity, params=detector)
        self.alarm_ts = np.zeros(0, np.int64)

    def _reserve(self, size: int) -> None:
        self.alarm_ts = _grown(self.alarm_ts, size, -1)

    def step(self, dev: Ints, ts: Ints, values: Mapping[str, Floats]) -> Step:
        value = values[self.rule.metric or ""]
        slots = np.fromiter((self.bank.slot((int(d), 0)) for d in dev), np.intp, len(dev))
        own = self.params.columns["sensitivity"][dev]  # a device's own, NaN where none
        scores, alarms = self.bank.update(
            slots, ts, value, own if not np.isnan(own).all() else None
        )
        self.alarm_ts[dev[alarms]] = ts[alarms]
        last = self.alarm_ts[dev]
        quiet = (last >= 0) & (ts - last >= self.rule.clear_after_s * 1000.0)
        step = self._finish(dev, alarms, quiet & ~alarms, scores)
        if not step.raised.any():  # most steps: nothing to explain
            return step
        # What drove each raised alarm, for its text (spike, unusual_pattern, ...).
        causes = self.bank.causes.tolist()
        drivers = tuple(
            CAUSES[c] if up else None for c, up in zip(causes, step.raised, strict=True)
        )
        return Step(step.raised, step.cleared, step.shown, drivers)
