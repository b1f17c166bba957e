"""The rule engine: every stored batch, every rule, vectorised.

For each rule the engine keeps which devices it applies to (with per-device limits after
overrides) and an evaluator whose state is a set of numpy arrays indexed by device id. A batch is
filtered to the points a rule reads, ordered by device and time, and cut into layers with at
most one moment per device, so each device's points are applied in order while all devices of a
layer are evaluated together. The engine returns transitions (raise, clear); what becomes of them
is the alarm book's business.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from shugu.domain.batch import Batch
from shugu.domain.errors import ShuguError
from shugu.monitor.alarm_text import alarm_text
from shugu.monitor.evaluators import DeviceParams, Evaluator, finite_or_none, make_evaluator
from shugu.monitor.model import Severity
from shugu.monitor.rules import RuleKind, RuleScope, RuleSpec

log = logging.getLogger(__name__)

SEVERITIES = list(Severity)
#: Points older than this (against the wall clock) are history: stored, but not alarmed on.
DEFAULT_MAX_LAG_MS = 15 * 60_000


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: int
    enterprise_id: int
    name: str
    profile: str
    #: Assets from the device's own up to the site, for asset-subtree scopes.
    asset_path: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleBinding:
    """A rule as configured: its reference, owner (None: a profile default) and scope."""

    ref: str
    rule: RuleSpec
    scope: RuleScope
    enterprise_id: int | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    ref: str
    device_id: int
    raised: bool
    ts_ms: int
    value: float | None
    severity: Severity
    #: What drove the alarm, where the rule kind knows (a plant rule's sensor).
    driver: str | None = None


@dataclass(slots=True)
class CompiledRule:
    binding: RuleBinding
    params: DeviceParams
    evaluator: Evaluator | None
    #: For time-driven kinds (no_data): whether the alarm is active per device.
    active: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))
    metric_ids: dict[str, int] = field(default_factory=dict)
    #: Per-device rules after overrides, for showing a device its effective limits.
    effective: dict[int, RuleSpec] = field(default_factory=dict)


def applies(binding: RuleBinding, device: DeviceInfo) -> bool:
    """Whether a rule as configured watches a device."""
    scope = binding.scope
    if binding.enterprise_id is not None and device.enterprise_id != binding.enterprise_id:
        return False
    if scope.profile is not None:
        return device.profile == scope.profile
    if scope.asset_id is not None:
        return scope.asset_id in device.asset_path
    return device.id == scope.device_id


def _ranked(
    dev: npt.NDArray[np.int64], ts: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """Rows ordered by device and time, and each one's moment number within its device."""
    order = np.lexsort((ts, dev))
    d, t = dev[order], ts[order]
    new_moment = np.ones(len(order), np.bool_)
    new_moment[1:] = (d[1:] != d[:-1]) | (t[1:] != t[:-1])
    new_device = np.ones(len(order), np.bool_)
    new_device[1:] = d[1:] != d[:-1]
    moment_no = np.cumsum(new_moment) - 1
    first_moment_of_device = np.maximum.accumulate(np.where(new_device, moment_no, 0))
    return order, (moment_no - first_moment_of_device).astype(np.int64)


def split_turn(batch: Batch, moments_per_device: int) -> tuple[Batch, Batch | None]:
    """The rows of each device's first ``moments_per_device`` moments, and the rest (None when
    nothing is left over).

    Each moment of a device is one vectorised step of every rule reading it, so a device
    sending thousands of moments at once would make a turn of the monitor last thousands of
    steps for every tenant; capped, a turn costs at most ``moments_per_device`` steps and the
    device's later moments wait for the next turns, in order.
    """
    if not len(batch) or np.bincount(batch.device).max() <= moments_per_device:
        return batch, None  # no device has that many rows, so none has that many moments
    order, rank = _ranked(batch.device.astype(np.int64), batch.ts)
    now = np.empty(len(batch), np.bool_)
    now[order] = rank < moments_per_device
    return batch.take(now), batch.take(~now)


def _layers(
    dev: npt.NDArray[np.int64], ts: npt.NDArray[np.int64]
) -> Iterator[npt.NDArray[np.intp]]:
    """Row indices grouped so that each group holds one moment per device, in time order."""
    order, rank = _ranked(dev, ts)
    by_rank = np.argsort(rank, kind="stable")
    ranks = rank[by_rank]
    bounds = np.flatnonzero(np.diff(ranks)) + 1
    for chunk in np.split(by_rank, bounds):
        yield order[chunk]


class RuleEngine:
    def __init__(
        self,
        metric_id: Callable[[str], int | None],
        *,
        max_lag_ms: int = DEFAULT_MAX_LAG_MS,
    ) -> None:
        self._metric_id = metric_id
        self._max_lag_ms = max_lag_ms
        self._rules: dict[str, CompiledRule] = {}
        self._devices: dict[int, DeviceInfo] = {}
        self._size = 1
        #: Wall-clock arrival (ms) of each device's newest point, for offline rules.
        self.last_seen = np.zeros(1, np.int64)
        self.evaluated_points = 0

    # -- configuration -----------------------------------------------------------------------

    @property
    def devices(self) -> Mapping[int, DeviceInfo]:
        return self._devices

    def knows(self, device_ids: npt.NDArray[np.int32]) -> bool:
        if not len(device_ids):
            return True
        top = int(device_ids.max())
        return top < self._size and all(int(d) in self._devices for d in np.unique(device_ids))

    def configure(
        self,
        devices: Iterable[DeviceInfo],
        bindings: Iterable[RuleBinding],
        overrides: Mapping[tuple[str, int], dict[str, Any]],
    ) -> list[str]:
        """Apply devices, rules and overrides; returns problems with overrides (kept out).

        A rule whose definition is unchanged keeps its state, so reconfiguring (a new device, an
        override) neither forgets a pending hold time nor raises anew.
        """
        self._devices = {d.id: d for d in devices}
        self._size = max(self._devices, default=0) + 1
        self.last_seen = np.pad(self.last_seen, (0, max(0, self._size - len(self.last_seen))))
        problems: list[str] = []
        compiled: dict[str, CompiledRule] = {}
        for binding in bindings:
            params = DeviceParams(self._size)
            effective: dict[int, RuleSpec] = {}
            for device in self._devices.values():
                if not applies(binding, device):
                    continue
                rule = binding.rule
                extra = overrides.get((binding.ref, device.id))
                if extra:
                    try:
                        rule = rule.with_overrides(extra)
                    except ShuguError as exc:
                        problems.append(f"{binding.ref} on device {device.id}: {exc.message}")
                params.set(device.id, rule, SEVERITIES.index(rule.severity))
                effective[device.id] = rule
            old = self._rules.get(binding.ref)
            if old is not None and old.binding.rule == binding.rule:
                evaluator = old.evaluator
                active = old.active
                if evaluator is not None:
                    evaluator.params = params
            else:
                evaluator = self.new_evaluator(binding.rule, params)
                if evaluator is not None and old is not None and old.evaluator is not None:
                    evaluator.inherit(old.evaluator)
                active = np.zeros(0, np.bool_)
            if evaluator is not None:
                evaluator.reserve(self._size)
            if len(active) < self._size:
                active = np.pad(active, (0, self._size - len(active)))
            compiled[binding.ref] = CompiledRule(
                binding, params, evaluator, active, effective=effective
            )
        self._rules = compiled
        return problems

    @staticmethod
    def new_evaluator(rule: RuleSpec, params: DeviceParams) -> Evaluator | None:
        """The evaluator the engine gives ``rule`` (None for kinds it drives by time)."""
        if rule.kind is RuleKind.anomaly:
            from shugu.monitor.anomaly_rule import AnomalyEvaluator

            return AnomalyEvaluator(rule, params)
        if rule.kind is RuleKind.plant:
            from shugu.monitor.anomaly_plant_rule import PlantEvaluator

            return PlantEvaluator(rule, params)
        return make_evaluator(rule, params)

    def rules(self) -> Mapping[str, CompiledRule]:
        return self._rules

    @property
    def max_lag_ms(self) -> int:
        return self._max_lag_ms

    def reset_active(self, devices: npt.NDArray[np.int64]) -> None:
        """Forget which rules hold for ``devices`` (before ``restore_active`` sets them)."""
        devices = devices[devices < self._size]
        for compiled in self._rules.values():
            active = (
                compiled.evaluator.active if compiled.evaluator is not None else compiled.active
            )
            active[devices[devices < len(active)]] = False

    def restore_active(self, pairs: Iterable[tuple[str, int]]) -> None:
        """Mark alarms that are open in the alarm book, so that they can clear after a restart."""
        for ref, device in pairs:
            compiled = self._rules.get(ref)
            if compiled is None or device >= self._size:
                continue
            if compiled.evaluator is not None:
                compiled.evaluator.active[device] = True
            else:
                compiled.active[device] = True

    # -- evaluation --------------------------------------------------------------------------

    def evaluate(self, batch: Batch, now_ms: int) -> list[Transition]:
        if not len(batch):
            return []
        known = batch.device < self._size
        dev_all = batch.device[known].astype(np.int64)
        self.last_seen[dev_all] = now_ms
        fresh = known & (batch.ts >= now_ms - self._max_lag_ms)
        out: list[Transition] = []
        for compiled in self._rules.values():
            if compiled.evaluator is None:
                out.extend(self._seen(compiled, dev_all, now_ms))
            else:
                out.extend(self._evaluate_rule(compiled, batch, fresh))
        self.evaluated_points += int(fresh.sum())
        return out

    def _ids(self, compiled: CompiledRule) -> dict[str, int] | None:
        names = compiled.binding.rule.inputs()
        if len(compiled.metric_ids) < len(names):
            for name in names:
                if name not in compiled.metric_ids:
                    metric = self._metric_id(name)
                    if metric is not None:
                        compiled.metric_ids[name] = metric
        return compiled.metric_ids or None

    def _evaluate_rule(
        self, compiled: CompiledRule, batch: Batch, fresh: npt.NDArray[np.bool_]
    ) -> list[Transition]:
        ids = self._ids(compiled)
        evaluator = compiled.evaluator
        if ids is None or evaluator is None:
            return []
        wanted = np.isin(batch.metric, np.fromiter(ids.values(), np.int32, len(ids)))
        rows = np.flatnonzero(wanted & fresh)
        if not len(rows):
            return []
        dev = batch.device[rows].astype(np.int64)
        keep = compiled.params.applies[dev]
        rows, dev = rows[keep], dev[keep]
        ts = batch.ts[rows]
        keep = ts > evaluator.last_ts[dev]
        rows, dev, ts = rows[keep], dev[keep], ts[keep]
        if not len(rows):
            return []
        metric, value = batch.metric[rows], batch.value[rows]
        out: list[Transition] = []
        for layer in _layers(dev, ts):
            layer_dev = dev[layer]
            devices, first = np.unique(layer_dev, return_index=True)
            position = np.searchsorted(devices, layer_dev)
            values: dict[str, npt.NDArray[np.float64]] = {}
            for name in compiled.binding.rule.inputs():
                column = np.full(len(devices), np.nan)
                mid = ids.get(name)
                if mid is not None:
                    mine = metric[layer] == mid
                    column[position[mine]] = value[layer][mine]
                values[name] = column
            moment = ts[layer][first]
            step = evaluator.step(devices, moment, values)
            evaluator.last_ts[devices] = moment
            for mask, raised in ((step.raised, True), (step.cleared, False)):
                out.extend(
                    self._transitions(
                        compiled, devices, moment, mask, raised, step.shown, step.drivers
                    )
                )
        return out

    def _transitions(
        self,
        compiled: CompiledRule,
        devices: npt.NDArray[np.int64],
        ts: npt.NDArray[np.int64],
        mask: npt.NDArray[np.bool_],
        raised: bool,
        shown: npt.NDArray[np.float64],
        drivers: tuple[str | None, ...] | None = None,
    ) -> Iterator[Transition]:
        for i in np.flatnonzero(mask):
            device = int(devices[i])
            yield Transition(
                compiled.binding.ref,
                device,
                raised,
                int(ts[i]),
                finite_or_none(float(shown[i])),
                SEVERITIES[int(compiled.params.severity[device])],
                None if drivers is None else drivers[i],
            )

    def _seen(
        self, compiled: CompiledRule, dev: npt.NDArray[np.int64], now_ms: int
    ) -> Iterator[Transition]:
        """A point from an offline device clears its offline alarm."""
        if not len(dev):
            return
        back = np.unique(dev[compiled.active[dev]])
        compiled.active[back] = False
        yield from self._transitions(
            compiled,
            back,
            np.full(len(back), now_ms, np.int64),
            np.ones(len(back), np.bool_),
            False,
            np.zeros(len(back)),
        )

    def tick(self, now_ms: int) -> list[Transition]:
        """Time-driven rules: devices silent for longer than their rule allows."""
        out: list[Transition] = []
        for compiled in self._rules.values():
            if compiled.binding.rule.kind is not RuleKind.no_data:
                continue
            params = compiled.params
            size = min(len(params.applies), len(self.last_seen))
            seen = self.last_seen[:size]
            silent_ms = now_ms - seen
            limit_ms = params.columns["for_s"][:size] * 1000.0
            with np.errstate(invalid="ignore"):
                due = params.applies[:size] & (seen > 0) & (silent_ms >= limit_ms)
            due &= ~compiled.active[:size]
            devices = np.flatnonzero(due).astype(np.int64)
            compiled.active[devices] = True
            out.extend(
                self._transitions(
                    compiled,
                    devices,
                    np.full(len(devices), now_ms, np.int64),
                    np.ones(len(devices), np.bool_),
                    True,
                    (silent_ms[devices] / 1000.0).astype(np.float64),
                )
            )
        return out

    def seed_last_seen(
        self, device_ids: npt.NDArray[np.int64], ts_ms: npt.NDArray[np.int64]
    ) -> None:
        """Start offline clocks from the store's newest points (after a restart)."""
        inside = device_ids < len(self.last_seen)
        np.maximum.at(self.last_seen, device_ids[inside], ts_ms[inside])


def describe(
    rule: RuleSpec,
    value: float | None,
    lang: str,
    *,
    device: str = "",
    profile: str | None = None,
    at_ms: int | None = None,
    driver: str | None = None,
) -> str:
    """One line for a notice or an alarm list: what, where, how far from the limit, since when
    (``monitor/alarm_text.py``); ``driver`` is the sensor that drove a plant alarm."""
    return alarm_text(rule, value, lang, device=device, profile=profile, at_ms=at_ms, driver=driver)
