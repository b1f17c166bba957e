"""Per-kind rule state machines, vectorised over devices.

Each evaluator holds its state in numpy arrays indexed by device id and advances all devices of
one *layer* at once: a layer holds at most one moment (timestamp) per device, so points of one
device are applied in time order while different devices are handled together. ``step`` returns
which devices start and which stop violating the rule, and the value to show.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from shugu.monitor.detector_state import Layout
from shugu.monitor.rules import RuleKind, RuleSpec

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
#: The most entries a burst rule may ask for (the ring kept per device).
MAX_BURST = 64


@dataclass(frozen=True, slots=True)
class Step:
    raised: Bools
    cleared: Bools
    shown: Floats
    #: Per device of the step, what drove the verdict (a plant rule's sensor), if the kind says.
    drivers: tuple[str | None, ...] | None = None


class DeviceParams:
    """A rule's limits per device (NaN: not given); overrides differ from the rule's own."""

    FIELDS = (
        *("above", "below", "deadband", "for_s", "max_rise_per_h", "max_fall_per_h"),
        "sensitivity",
    )

    def __init__(self, size: int) -> None:
        self.applies = np.zeros(size, np.bool_)
        self.columns: dict[str, Floats] = {f: np.full(size, np.nan) for f in self.FIELDS}
        self.at_least = np.full(size, np.nan)
        self.severity = np.zeros(size, np.int8)

    def set(self, device: int, rule: RuleSpec, severity_code: int) -> None:
        self.applies[device] = rule.enabled
        for name in self.FIELDS:
            value = getattr(rule, name)
            self.columns[name][device] = np.nan if value is None else float(value)
        self.at_least[device] = np.nan if rule.at_least is None else float(rule.at_least)
        self.severity[device] = severity_code


def _grown(array: npt.NDArray[np.generic], size: int, fill: float | int | bool) -> npt.NDArray:  # type: ignore[type-arg]
    if len(array) >= size:
        return array
    out = np.full(max(size, 2 * len(array)), fill, dtype=array.dtype)
    out[: len(array)] = array
    return out


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a device's learning is: ``done`` of ``needed``, in ``unit`` (rows of a plant
    rule's fit; minutes of an anomaly rule's series time, or its readings while it has fewer
    than its detector's warm-up)."""

    done: float
    needed: float
    unit: Literal["rows", "minutes", "points"]


class Evaluator:
    """Common state: whether the rule is active per device and the last moment applied."""

    def __init__(self, rule: RuleSpec, params: DeviceParams) -> None:
        self.rule = rule
        self.params = params
        self.active = np.zeros(0, np.bool_)
        self.last_ts = np.zeros(0, np.int64)
        #: When this model of the rule was made: a state of another model saved after it is
        #: newer than anything this one learned (``Registry.save_detector_states``).
        self.made_at = datetime.now(UTC)

    def reserve(self, size: int) -> None:
        self.active = _grown(self.active, size, False)
        self.last_ts = _grown(self.last_ts, size, np.iinfo(np.int64).min)
        self._reserve(size)

    def _reserve(self, size: int) -> None:
        """Grow kind-specific state."""

    def inherit(self, old: Evaluator) -> None:
        """Take over what stays true when a rule is edited (the inputs' last values)."""

    def state_layout(self) -> Layout | None:
        """What a device's learned state looks like, for kinds whose state is worth keeping
        across restarts (``detector_state``); None for the others."""
        return None

    def progress(self, state: Mapping[str, npt.NDArray[np.generic]] | None) -> Progress | None:
        """How far a device's learning is, from its state arrays by name (``Layout.named``;
        None: nothing saved yet). None for kinds that judge from the first reading."""
        return None

    def state_devices(self, changed_only: bool = True) -> list[int]:
        """Devices with learned state (only those that learned since their last export)."""
        return []

    def export_rows(self, devices: Sequence[int]) -> npt.NDArray[np.uint8]:
        """The state of ``devices`` as a byte matrix, a device a row (``Layout.gather``); they
        count as exported."""
        raise ValueError(f"{self.rule.kind} rules keep no state")

    def export_states(self, changed_only: bool = True) -> dict[int, bytes]:
        """Each device's packed state (only those that learned since their last export)."""
        devices = self.state_devices(changed_only)
        if not devices:
            return {}
        rows = self.export_rows(devices)
        return {d: Layout.pack(row) for d, row in zip(devices, rows, strict=True)}

    def import_states(self, blobs: Mapping[int, bytes]) -> dict[int, str]:
        """Take devices' saved states; those not of this evaluator's layout are left out, and
        returned with the reason."""
        refused: dict[int, str] = {}
        for device, blob in blobs.items():
            try:
                self.import_state(device, blob)
            except ValueError as exc:
                refused[device] = str(exc)
        return refused

    def import_state(self, device: int, blob: bytes) -> None:
        """Take a device's saved state; ValueError if it is not of this evaluator's layout."""
        raise ValueError(f"{self.rule.kind} rules keep no state")

    def step(self, dev: Ints, ts: Ints, values: Mapping[str, Floats]) -> Step:
        raise NotImplementedError

    def _finish(self, dev: Ints, violating: Bools, ok: Bools, shown: Floats) -> Step:
        was = self.active[dev]
        raised = violating & ~was
        cleared = ok & was
        self.active[dev] = (was | raised) & ~cleared
        return Step(raised, cleared, shown)


class LevelEvaluator(Evaluator):
    """threshold, duration and expression: a limit with a deadband and a hold time."""

    def inherit(self, old: Evaluator) -> None:
        latest = getattr(old, "latest", {})
        self.latest: dict[str, Floats] = {
            n: latest[n].copy() for n in self.rule.inputs() if n in latest
        }

    def _reserve(self, size: int) -> None:
        self.since = _grown(getattr(self, "since", np.zeros(0, np.int64)), size, -1)
        self.latest = {
            name: _grown(getattr(self, "latest", {}).get(name, np.zeros(0)), size, np.nan)
            for name in self.rule.inputs()
        }

    def step(self, dev: Ints, ts: Ints, values: Mapping[str, Floats]) -> Step:
        expression = self.rule.expression
        if expression is None:
            value = values[self.rule.metric or ""]
        else:
            # Inputs not sent at this moment keep their last value: devices often report the
            # metrics of one expression in separate messages.
            for name in expression.names:
                fresh = values[name]
                column = self.latest[name]
                given = ~np.isnan(fresh)
                column[dev[given]] = fresh[given]
            value = expression.evaluate({n: self.latest[n][dev] for n in expression.names})
        cols = self.params.columns
        above, below, band = cols["above"][dev], cols["below"][dev], cols["deadband"][dev]
        # fmax, not nan_to_num: the same for these columns and several times cheaper, which
        # counts in a flood of one device's moments (one step each).
        band = np.fmax(band, 0.0)
        with np.errstate(invalid="ignore"):
            violating = (value > above) | (value < below)
            ok_high = np.isnan(above) | (value <= above - band)
            ok_low = np.isnan(below) | (value >= below + band)
        ok = ok_high & ok_low & ~np.isnan(value)
        since = self.since[dev]
        since = np.where(violating & (since < 0), ts, since)
        since = np.where(ok, -1, since)
        self.since[dev] = since
        hold_ms = np.fmax(cols["for_s"][dev], 0.0) * 1000.0
        held = violating & (ts - since >= hold_ms)
        return self._finish(dev, held, ok, value)


class RateEvaluator(Evaluator):
    """Change per hour between anchor points at least ``window_s`` apart."""

    def _reserve(self, size: int) -> None:
        self.anchor_ts = _grown(getattr(self, "anchor_ts", np.zeros(0, np.int64)), size, -1)
        self.anchor_v = _grown(getattr(self, "anchor_v", np.zeros(0)), size, np.nan)

    def step(self, dev: Ints, ts: Ints, values: Mapping[str, Floats]) -> Step:
        value = values[self.rule.metric or ""]
        a_ts, a_v = self.anchor_ts[dev], self.anchor_v[dev]
        fresh = (a_ts < 0) | np.isnan(a_v)
        due = ~fresh & (ts - a_ts >= self.rule.window_s * 1000.0) & ~np.isnan(value)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_h = (value - a_v) / ((ts - a_ts) / 3_600_000.0)
            rise, fall = (
                self.params.columns["max_rise_per_h"][dev],
                self.params.columns["max_fall_per_h"][dev],
            )
            violating = due & ((per_h > rise) | (per_h < -fall))
        ok = due & ~violating
        move = (fresh | due) & ~np.isnan(value)
        self.anchor_ts[dev[move]] = ts[move]
        self.anchor_v[dev[move]] = value[move]
        return self._finish(dev, violating, ok, np.where(due, per_h, np.nan))


class StalledEvaluator(Evaluator):
    """A counter that does not rise while the machine says it runs."""

    def _reserve(self, size: int) -> None:
        self.count = _grown(getattr(self, "count", np.zeros(0)), size, np.nan)
        self.rise_ts = _grown(getattr(self, "rise_ts", np.zeros(0, np.int64)), size, -1)
        self.running = _grown(getattr(self, "running", np.zeros(0)), size, np.nan)
        self.run_since = _grown(getattr(self, "run_since", np.zeros(0, np.int64)), size, -1)

    def step(self, dev: Ints, ts: Ints, values: Mapping[str, Floats]) -> Step:
        counter = values[self.rule.metric or ""]
        running_now = values[self.rule.running_metric or ""]
        has_run = ~np.isnan(running_now)
        starts = has_run & (running_now == 1) & (self.running[dev] != 1)
        self.run_since[dev[starts]] = ts[starts]
        self.running[dev[has_run]] = running_now[has_run]
        previous = self.count[dev]
        has_count = ~np.isnan(counter)
        # Any change counts as progress: a counter reset to zero is not a stall.
        rose = has_count & (np.isnan(previous) | (counter != previous))
        self.rise_ts[dev[rose]] = ts[rose]
        self.count[dev[has_count]] = counter[has_count]
        reference = np.maximum(self.rise_ts[dev], self.run_since[dev])
        hold_ms = self.params.columns["for_s"][dev] * 1000.0
        running = self.running[dev] == 1
        stalled = running & (reference >= 0) & (ts - reference >= hold_ms)
        ok = ~running | rose
        shown = (ts - reference) / 1000.0
        return self._finish(dev, stalled & ~rose, ok, shown.astype(np.float64))


class BurstEvaluator(Evaluator):
    """At least ``at_least`` entries into the counted states within ``window_s``: each device
    keeps the times of its last entries in a small ring, so the count is exact and O(1)."""

    def _reserve(self, size: int) -> None:
        self.previous = _grown(getattr(self, "previous", np.zeros(0)), size, np.nan)
        self.count = _grown(getattr(self, "count", np.zeros(0, np.int64)), size, 0)
        ring = getattr(self, "ring", np.zeros((0, MAX_BURST), np.int64))
        if len(ring) < size:
            grown = np.zeros((max(size, 2 * len(ring)), MAX_BURST), np.int64)
            grown[: len(ring)] = ring
            ring = grown
        self.ring = ring

    def step(self, dev: Ints, ts: Ints, values: Mapping[str, Floats]) -> Step:
        value = values[self.rule.metric or ""]
        counted = np.asarray(self.rule.into or (), dtype=np.float64)
        previous = self.previous[dev]
        entered = np.isin(value, counted) & ~np.isnan(previous) & ~np.isin(previous, counted)
        where = dev[entered]
        self.ring[where, self.count[where] % MAX_BURST] = ts[entered]
        self.count[where] += 1
        given = ~np.isnan(value)
        self.previous[dev[given]] = value[given]
        need = np.nan_to_num(self.params.at_least[dev], nan=1.0).astype(np.int64)
        count = self.count[dev]
        nth = self.ring[dev, (count - need) % MAX_BURST]
        window_ms = self.rule.window_s * 1000.0
        violating = (count >= need) & (ts - nth <= window_ms)
        # Shown: the entries within the window (what a person compares with the limit), not
        # the device's count since the monitor started.
        recent = np.minimum((self.ring[dev] >= (ts - window_ms)[:, None]).sum(axis=1), count)
        # The deadband counts entries: the alarm clears once the window holds at most
        # ``at_least - 1 - deadband`` of them, so a rate hovering at the limit is one alarm.
        band = np.nan_to_num(self.params.columns["deadband"][dev], nan=0.0)
        settled = ~violating & (recent <= need - 1 - band)
        return self._finish(dev, violating & entered, settled, recent.astype(np.float64))


def make_evaluator(rule: RuleSpec, params: DeviceParams) -> Evaluator | None:
    """The evaluator of a point-driven kind; None for kinds the engine drives by time."""
    if rule.kind in (RuleKind.threshold, RuleKind.duration, RuleKind.expression):
        return LevelEvaluator(rule, params)
    if rule.kind is RuleKind.rate:
        return RateEvaluator(rule, params)
    if rule.kind is RuleKind.counter_stalled:
        return StalledEvaluator(rule, params)
    if rule.kind is RuleKind.burst:
        return BurstEvaluator(rule, params)
    return None


def finite_or_none(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else float(value)
