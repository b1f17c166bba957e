"""The plant rule kind: one plant detector per device over the rule's named metrics.

Each device's detector fits on that device's first ``fit_points`` rows (its own normal running),
then judges every new row; the alarm is the detector's anomalous state (raised on entry, cleared
when it leaves, with the detector's hysteresis), and names the sensor that drove it. A row is the
metrics a device sent at one moment; a metric it did not send then counts as missing (NaN), which
leaves that sensor's smoothed residual unchanged. Work per row is O(metrics) for its device.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from shugu.monitor.anomaly_plant import PlantDetector, PlantParams
from shugu.monitor.evaluators import DeviceParams, Evaluator, Floats, Ints, Step
from shugu.monitor.rules import RuleSpec


class PlantEvaluator(Evaluator):
    """Raised while a device's plant detector is in its anomalous state."""

    def __init__(self, rule: RuleSpec, params: DeviceParams) -> None:
        super().__init__(rule, params)
        self.sensitivity = rule.effective_sensitivity
        self.plant_params = PlantParams(fit_rows=rule.fit_points)
        self.metrics = rule.metrics or ()
        self.detectors: dict[int, PlantDetector] = {}

    def _detector(self, device: int) -> PlantDetector:
        found = self.detectors.get(device)
        if found is None:
            found = PlantDetector(len(self.metrics), self.sensitivity, self.plant_params)
            self.detectors[device] = found
        return found

    def step(self, dev: Ints, ts: Ints, values: Mapping[str, Floats]) -> Step:
        table = np.column_stack([values[name] for name in self.metrics])
        alarm = np.zeros(len(dev), np.bool_)
        shown = np.full(len(dev), np.nan)
        drivers: list[str | None] = []
        own = self.params.columns["sensitivity"]
        for i, device in enumerate(dev.tolist()):
            detector = self._detector(device)
            # A device's own sensitivity (an override) applies from its next row on.
            mine = own[device] if device < len(own) else np.nan
            detector.sensitivity = self.sensitivity if np.isnan(mine) else float(mine)
            row = detector.update(int(ts[i]), table[i])
            alarm[i] = row.alarm
            shown[i] = row.z if row.driver >= 0 else np.nan
            drivers.append(self.metrics[row.driver] if row.driver >= 0 else None)
        scored = np.isfinite(shown)
        step = self._finish(dev, alarm, scored & ~alarm, shown)
        return Step(step.raised, step.cleared, step.shown, tuple(drivers))
