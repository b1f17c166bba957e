"""The plant rule kind: one plant detector per device over the rule's named metrics.

Each device's detector fits on that device's first ``fit_points`` rows (its own normal running),
then judges every new row (with ``running_metric``, only rows taken while the device runs:
decision 0071); the alarm is the detector's anomalous state (raised on entry, cleared
when it leaves, with the detector's hysteresis), and names the sensor that drove it. A row is the
metrics a device sent at one moment; a metric it did not send then counts as missing (NaN), which
leaves that sensor's smoothed residual unchanged. With ``conditions`` (decision 0072) the
sensors are judged against the conditions' latest readings, which may come in other messages
(in time order: like every reading, one not later than the last the rule took of the device is
dropped).
Work per row is O((metrics + conditions)²) for its device.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly_plant import PlantDetector, PlantParams, held_conditions
from shugu.monitor.detector_state import Layout, layout_of
from shugu.monitor.evaluators import (
    Bools,
    DeviceParams,
    Evaluator,
    Floats,
    Ints,
    Progress,
    Step,
)
from shugu.monitor.rules import RuleSpec


class PlantEvaluator(Evaluator):
    """Raised while a device's plant detector is in its anomalous state."""

    def __init__(self, rule: RuleSpec, params: DeviceParams) -> None:
        super().__init__(rule, params)
        self.sensitivity = rule.effective_sensitivity
        self.plant_params = PlantParams(fit_rows=rule.fit_points)
        #: The detector's columns: the judged sensors, then the conditions (decision 0072).
        self.metrics = rule.metrics or ()
        self.conditions = rule.conditions or ()
        self.columns = (*self.metrics, *self.conditions)
        self.detectors: dict[int, PlantDetector] = {}
        #: Each device's last reading of ``running_metric`` (absent: none yet, judged as running).
        self.running: dict[int, float] = {}

        #: Each device's last row, and its running flag, when its state was last saved
        #: (``detector_state``).
        self.saved_ms: dict[int, int | None] = {}
        self.saved_running: dict[int, float] = {}
        #: Each device's held conditions when its state was last saved: conditions sent without
        #: the sensors change the state too.
        self.saved_conditions: dict[int, npt.NDArray[np.float64]] = {}
        #: Conditions of devices that have sent no sensor row yet: handed to the detector when
        #: the first comes, so a device that only ever sends conditions keeps no detector.
        self.early_conditions: dict[int, npt.NDArray[np.float64]] = {}
        self._layout: Layout | None = None

    def inherit(self, old: Evaluator) -> None:
        """An edited rule over the same metrics with the same fit keeps its fitted detectors
        (its sensitivity is read at every row)."""
        if isinstance(old, PlantEvaluator) and old.state_layout().key == self.state_layout().key:
            self.detectors = old.detectors
            self.running = old.running
            self.saved_ms = old.saved_ms
            self.saved_running = old.saved_running
            self.saved_conditions = old.saved_conditions
            self.early_conditions = old.early_conditions

    def _new_detector(self) -> PlantDetector:
        return PlantDetector(
            len(self.columns), self.sensitivity, self.plant_params, len(self.conditions)
        )

    def _state_rows(
        self, detector: PlantDetector, device: int
    ) -> list[tuple[str, npt.NDArray[np.generic]]]:
        rows = detector.state_rows()
        if self.rule.running_metric:
            rows.append(("rule.running", np.array(self.running.get(device, np.nan))))
        return rows

    def state_layout(self) -> Layout:
        # Worked out once: it holds a blank fit buffer of fit_points rows to take the shapes from.
        if self._layout is None:
            blank = self._new_detector()
            while_ = f" while {self.rule.running_metric}" if self.rule.running_metric else ""
            given = f" given {','.join(self.conditions)}" if self.conditions else ""
            # A fit taken from stored readings is another model than one of the rows after
            # the save: changing where the fit comes from starts the devices afresh.
            since = f" fitted from {self.rule.fit_from.isoformat()}" if self.rule.fit_from else ""
            meaning = f"plant {','.join(self.metrics)}{given}{while_} {self.plant_params!r}{since}"
            rows = self._state_rows(blank, -1)
            self._layout = layout_of([(name, a[None]) for name, a in rows], meaning)
        return self._layout

    def progress(self, state: Mapping[str, npt.NDArray[np.generic]] | None) -> Progress:
        """Rows of the device's fit taken so far (all of them once it is fitted)."""
        needed = self.plant_params.fit_rows
        if state is None:
            return Progress(0, needed, "rows")
        taken, fitted = int(state["counters"][0]), bool(state["counters"][4])
        return Progress(needed if fitted else taken, needed, "rows")

    def _changed(self, device: int, detector: PlantDetector) -> bool:
        if self.saved_ms.get(device, -1) != detector.last_ms:
            return True
        flag, saved = self.running.get(device, np.nan), self.saved_running.get(device, np.nan)
        if flag != saved and not (np.isnan(flag) and np.isnan(saved)):
            return True
        held = self.saved_conditions.get(device)
        return held is not None and not np.array_equal(held, detector.conditions, equal_nan=True)

    def state_devices(self, changed_only: bool = True) -> list[int]:
        return [
            device
            for device, detector in self.detectors.items()
            if not changed_only or self._changed(device, detector)
        ]

    def export_rows(self, devices: Sequence[int]) -> npt.NDArray[np.uint8]:
        layout = self.state_layout()
        out = np.zeros((len(devices), layout.nbytes), np.uint8)
        for i, device in enumerate(devices):
            detector = self.detectors[device]
            arrays = [a[None] for _name, a in self._state_rows(detector, device)]
            out[i] = layout.gather(arrays, np.zeros(1, np.intp))[0]
            self.saved_ms[device] = detector.last_ms
            self.saved_running[device] = self.running.get(device, np.nan)
            self.saved_conditions[device] = detector.conditions.copy()
        return out

    def import_state(self, device: int, blob: bytes) -> None:
        layout = self.state_layout()
        detector = self._new_detector()
        arrays = [np.zeros((1, *f.shape), np.dtype(f.dtype)) for f in layout.fields]
        layout.scatter(layout.unpack(blob)[None], arrays, np.zeros(1, np.intp))
        rows = [a[0] for a in arrays]
        if self.rule.running_metric:
            flag = float(rows.pop())
            if not np.isnan(flag):
                self.running[device] = flag
            self.saved_running[device] = flag
        detector.load_rows(rows)
        self.detectors[device] = detector
        self.saved_ms[device] = detector.last_ms
        self.saved_conditions[device] = detector.conditions.copy()

    def _detector(self, device: int) -> PlantDetector:
        found = self.detectors.get(device)
        if found is None:
            found = self._new_detector()
            early = self.early_conditions.pop(device, None)
            if early is not None:
                found.hold_conditions(early)
            self.detectors[device] = found
        return found

    def _judged(self, dev: Ints, values: Mapping[str, Floats], table: Floats) -> Bools:
        """Rows with a reading of the rule's metrics, taken while the device runs."""
        judged: Bools = np.any(~np.isnan(table), axis=1)
        if self.rule.running_metric:
            # Rows taken while the device stands are neither fitted on nor judged, and an open
            # alarm stays as it was until the device runs again.
            fresh = values[self.rule.running_metric]
            for device, flag in zip(dev.tolist(), fresh.tolist(), strict=True):
                if not np.isnan(flag):
                    self.running[device] = flag
            flags = np.fromiter((self.running.get(d, np.nan) for d in dev.tolist()), float)
            judged = np.logical_and(judged, flags != 0.0)
        return judged

    def step(self, dev: Ints, ts: Ints, values: Mapping[str, Floats]) -> Step:
        table = np.column_stack([values[name] for name in self.columns])
        sensors = len(self.metrics)
        judged = self._judged(dev, values, table[:, :sensors])
        if self.conditions:
            # Conditions that came without the sensors (another message, a stop) hold until
            # the sensors' next row is judged against them.
            alone = ~judged & np.any(~np.isnan(table[:, sensors:]), axis=1)
            for i in np.flatnonzero(alone).tolist():
                device, given = int(dev[i]), table[i, sensors:]
                detector = self.detectors.get(device)
                if detector is not None:
                    detector.hold_conditions(given)
                else:
                    before = self.early_conditions.get(device, np.full(len(given), np.nan))
                    self.early_conditions[device] = held_conditions(before, given)
        alarm = np.zeros(len(dev), np.bool_)
        shown = np.full(len(dev), np.nan)
        drivers: list[str | None] = [None] * len(dev)
        own = self.params.columns["sensitivity"]
        for i in np.flatnonzero(judged).tolist():
            device = int(dev[i])
            detector = self._detector(device)
            # A device's own sensitivity (an override) applies from its next row on.
            mine = own[device] if device < len(own) else np.nan
            detector.sensitivity = self.sensitivity if np.isnan(mine) else float(mine)
            row = detector.update(int(ts[i]), table[i])
            alarm[i] = row.alarm
            shown[i] = row.z if row.driver >= 0 else np.nan
            drivers[i] = self.metrics[row.driver] if row.driver >= 0 else None
        scored = np.isfinite(shown)
        step = self._finish(dev, alarm, scored & ~alarm, shown)
        return Step(step.raised, step.cleared, step.shown, tuple(drivers))
