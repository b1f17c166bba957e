"""The anomaly rule kind: the streaming detector's alarms as an alarm rule's state."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly import (
    CAUSES,
    DEFAULT_PARAMS,
    WITH_PATTERN,
    AnomalyBank,
    DetectorParams,
)
from shugu.monitor.detector_state import Layout, layout_of
from shugu.monitor.evaluators import (
    DeviceParams,
    Evaluator,
    Floats,
    Ints,
    Progress,
    Step,
    _grown,
)
from shugu.monitor.rules import RuleSpec

#: An anomaly rule learns for a day of each device's series time before it alarms: a device's
#: first stop, its first night, is not yet an anomaly (decision 0067). A restart does not start
#: it again: what was learned is saved and restored (decision 0068).
LEARNING_MINUTES = 1440.0


class AnomalyEvaluator(Evaluator):
    """Raised when the detector alarms (not in a device's first day of series time); cleared
    after ``clear_after_s`` without a new one. A device with its own sensitivity (an override)
    is judged against its own threshold."""

    def __init__(self, rule: RuleSpec, params: DeviceParams) -> None:
        super().__init__(rule, params)
        detector = WITH_PATTERN if rule.uses_pattern else DEFAULT_PARAMS
        self.detector = dataclasses.replace(detector, alarm_after_minutes=LEARNING_MINUTES)
        self.bank = AnomalyBank(sensitivity=rule.effective_sensitivity, params=self.detector)
        self.alarm_ts = np.zeros(0, np.int64)
        #: Each device's last point, and its running flag, when its state was last saved
        #: (``detector_state``).
        self.saved_ms = np.zeros(0, np.int64)
        self.saved_running = np.zeros(0)
        #: Each device's last reading of ``running_metric`` (NaN: none yet, judged as running).
        self.running = np.zeros(0)
        self._layout: tuple[AnomalyBank, DetectorParams, Layout] | None = None

    def _reserve(self, size: int) -> None:
        self.alarm_ts = _grown(self.alarm_ts, size, -1)
        self.saved_ms = _grown(self.saved_ms, size, 0)
        self.running = _grown(self.running, size, np.nan)
        self.saved_running = _grown(self.saved_running, size, np.nan)

    def inherit(self, old: Evaluator) -> None:
        """An edited rule that watches the same metric with the same detector (its sensitivity
        or clearing time changed, say) keeps what the detector learned."""
        if isinstance(old, AnomalyEvaluator) and old.state_layout().key == self.state_layout().key:
            self.bank = old.bank
            self.bank.set_sensitivity(self.rule.effective_sensitivity)
            self.alarm_ts = old.alarm_ts
            self.saved_ms = old.saved_ms
            self.running = old.running
            self.saved_running = old.saved_running

    # -- state kept across restarts (detector_state) -------------------------------------------

    def state_layout(self) -> Layout:
        # Asked for at every restore and save: worked out once per bank and parameters.
        known = self._layout
        if known is not None and known[0] is self.bank and known[1] == self.detector:
            return known[2]
        arrays = [*self.bank.state_arrays(), *self._device_arrays()]
        while_ = f" while {self.rule.running_metric}" if self.rule.running_metric else ""
        layout = layout_of(arrays, f"anomaly {self.rule.metric}{while_} {self.detector!r}")
        self._layout = (self.bank, self.detector, layout)
        return layout

    def progress(self, state: Mapping[str, npt.NDArray[np.generic]] | None) -> Progress:
        """The slower of the two things a device's series needs before the rule alarms: a day of
        series time, and the detector's warm-up readings (an hourly meter has its day long
        before its hundredth reading)."""
        if state is None or int(state["n"]) == 0:
            return Progress(0.0, LEARNING_MINUTES, "minutes")
        points, warm = int(state["n"]), self.detector.warmup_points
        minutes = max((int(state["last_ms"]) - int(state["first_ms"])) / 60_000.0, 0.0)
        if points < warm and points / warm < minutes / LEARNING_MINUTES:
            return Progress(points, warm, "points")
        return Progress(minutes, LEARNING_MINUTES, "minutes")

    def _device_arrays(self) -> list[tuple[str, npt.NDArray[np.generic]]]:
        """The rule's own per-device state, indexed by device (the bank's by slot)."""
        return [("rule.alarm_ts", self.alarm_ts), ("rule.running", self.running)]

    def _split(self, layout: Layout) -> tuple[Layout, Layout]:
        """The bank's part of the layout and the rule's own part."""
        n = len(self._device_arrays())
        return (
            Layout(layout.fields[:-n], layout.meaning),
            Layout(layout.fields[-n:], layout.meaning),
        )

    def state_devices(self, changed_only: bool = True) -> list[int]:
        keys = self.bank.keys()
        devices = np.fromiter((d for d, _ in keys), np.int64, len(keys))
        if not changed_only:
            return [int(d) for d in devices]
        slots = np.fromiter(keys.values(), np.intp, len(keys))
        changed = self.bank.last_ms[slots] != self.saved_ms[devices]
        # A flag sent only when it changes moves no point: a stop must still be saved, or a
        # restart would judge the standing machine as running.
        flag, saved = self.running[devices], self.saved_running[devices]
        changed |= (flag != saved) & ~(np.isnan(flag) & np.isnan(saved))
        return [int(d) for d in devices[changed]]

    def export_rows(self, devices: Sequence[int]) -> npt.NDArray[np.uint8]:
        layout = self.state_layout()
        keys = self.bank.keys()
        slots = np.fromiter((keys[(d, 0)] for d in devices), np.intp, len(devices))
        index = np.asarray(devices, np.intp)
        bank, own = self._split(layout)
        bank_part = bank.gather([a for _name, a in self.bank.state_arrays()], slots)
        own_part = own.gather([a for _name, a in self._device_arrays()], index)
        self.saved_ms[index] = self.bank.last_ms[slots]
        self.saved_running[index] = self.running[index]
        return np.concatenate([bank_part, own_part], axis=1)

    def import_states(self, blobs: Mapping[int, bytes]) -> dict[int, str]:
        """Take devices' saved states, all at once (a restart reads thousands)."""
        layout = self.state_layout()
        refused: dict[int, str] = {}
        rows: list[npt.NDArray[np.uint8]] = []
        devices: list[int] = []
        for device, blob in blobs.items():
            try:
                rows.append(layout.unpack(blob))
            except ValueError as exc:
                refused[device] = str(exc)
                continue
            devices.append(device)
        if not devices:
            return refused
        slots = np.fromiter((self.bank.slot((d, 0)) for d in devices), np.intp, len(devices))
        index = np.asarray(devices, np.intp)
        arrays = [a for _name, a in self.bank.state_arrays()]  # after slot(): grown if needed
        matrix = np.stack(rows)
        bank, own = self._split(layout)
        bank.scatter(matrix[:, : bank.nbytes], arrays, slots)
        own.scatter(matrix[:, bank.nbytes :], [a for _name, a in self._device_arrays()], index)
        self.saved_ms[index] = self.bank.last_ms[slots]
        self.saved_running[index] = self.running[index]
        return refused

    def import_state(self, device: int, blob: bytes) -> None:
        """Take a device's saved state (ValueError if the blob is not of this layout)."""
        refused = self.import_states({device: blob})
        if refused:
            raise ValueError(refused[device])

    def step(self, dev: Ints, ts: Ints, values: Mapping[str, Floats]) -> Step:
        value = values[self.rule.metric or ""]
        if self.rule.running_metric:
            # A reading taken while the device stands (a planned stop, a shift off) is neither
            # learned nor judged: the detector sees the machine only while it runs.
            fresh = values[self.rule.running_metric]
            given = ~np.isnan(fresh)
            self.running[dev[given]] = fresh[given]
            value = np.where(self.running[dev] == 0.0, np.nan, value)
        slots = np.fromiter((self.bank.slot((int(d), 0)) for d in dev), np.intp, len(dev))
        own = self.params.columns["sensitivity"][dev]  # a device's own, NaN where none
        scores, alarms = self.bank.update(
            slots, ts, value, own if not np.isnan(own).all() else None
        )
        self.alarm_ts[dev[alarms]] = ts[alarms]
        # An alarm open from before a restart, with no alarm time of its own: it clears after
        # the clearing time without a new alarm, counted from the first point seen now.
        unknown = self.active[dev] & (self.alarm_ts[dev] < 0)
        self.alarm_ts[dev[unknown]] = ts[unknown]
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
