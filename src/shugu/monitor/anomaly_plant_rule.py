"""The plant rule kind: one plant detector per device over the rule's named metrics.

Each device's detector fits on that device's first ``fit_points`` rows (its own normal running),
then judges every new row; the alarm is the detector's anomalous state (raised on entry, cleared
when it leaves, with the detector's hysteresis), and names the sensor that drove it. A row is the
metrics a device sent at one moment; a metric it did not send then counts as missing (NaN), which
leaves that sensor's smoothed residual unchanged. Work per row is O(metrics) for its device.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly_plant import PlantDetector, PlantParams
from shugu.monitor.detector_state import Layout, layout_of
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

        #: Each device's last row when its state was last saved (``detector_state``).
        self.saved_ms: dict[int, int | None] = {}

    def inherit(self, old: Evaluator) -> None:
        """An edited rule over the same metrics with the same fit keeps its fitted detectors
        (its sensitivity is read at every row)."""
        if isinstance(old, PlantEvaluator) and old.state_layout().key == self.state_layout().key:
            self.detectors = old.detectors
            self.saved_ms = old.saved_ms

    def state_layout(self) -> Layout:
        rows = PlantDetector(len(self.metrics), self.sensitivity, self.plant_params).state_rows()
        meaning = f"plant {','.join(self.metrics)} {self.plant_params!r}"
        return layout_of([(name, a[None]) for name, a in rows], meaning)

    def state_devices(self, changed_only: bool = True) -> list[int]:
        return [
            device
            for device, detector in self.detectors.items()
            if not changed_only or self.saved_ms.get(device, -1) != detector.last_ms
        ]

    def export_rows(self, devices: Sequence[int]) -> npt.NDArray[np.uint8]:
        layout = self.state_layout()
        out = np.zeros((len(devices), layout.nbytes), np.uint8)
        for i, device in enumerate(devices):
            detector = self.detectors[device]
            arrays = [a[None] for _name, a in detector.state_rows()]
            out[i] = layout.gather(arrays, np.zeros(1, np.intp))[0]
            self.saved_ms[device] = detector.last_ms
        return out

    def import_state(self, device: int, blob: bytes) -> None:
        layout = self.state_layout()
        detector = PlantDetector(len(self.metrics), self.sensitivity, self.plant_params)
        arrays = [np.zeros((1, *f.shape), np.dtype(f.dtype)) for f in layout.fields]
        layout.scatter(layout.unpack(blob)[None], arrays, np.zeros(1, np.intp))
        detector.load_rows([a[0] for a in arrays])
        self.detectors[device] = detector
        self.saved_ms[device] = detector.last_ms

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
