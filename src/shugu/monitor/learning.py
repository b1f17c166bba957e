"""How far the learning rules watching a device have got (学习进度), read from their saved state.

An anomaly rule learns a day of each device's series time before it alarms (decision 0067); a
plant rule fits each device on its first ``fit_points`` rows, a day of them when made in the
console (decision 0074). Until then the rule judges nothing, and an engineer who made it should
see that, and how far along it is, rather than take the silence for a healthy machine.

The monitor saves each device's learned state every few minutes and when it stops (decision
0068). This reads the saved states back from the registry, so it answers the same in one
process and in a cluster, as of the last save; a rule whose state has not been saved yet has
learned nothing that a restart would keep.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from shugu.monitor.anomaly import AnomalyBank
from shugu.monitor.anomaly_rule import AnomalyEvaluator
from shugu.monitor.engine import CompiledRule, RuleEngine
from shugu.monitor.evaluators import DeviceParams, Evaluator, Progress
from shugu.monitor.rules import RuleSpec
from shugu.store.registry import Registry


@dataclass(frozen=True, slots=True)
class Learning:
    """A learning rule's progress on one device."""

    progress: Progress
    #: When the state this was read from was saved; None: nothing saved yet.
    saved_at: datetime | None

    @property
    def learned(self) -> bool:
        """The rule judges the device: its learning is done."""
        return self.saved_at is not None and self.progress.done >= self.progress.needed

    @property
    def percent(self) -> int:
        """Whole per cent done, 100 only when learned (a rule at 99.6 % still judges nothing)."""
        if self.learned:
            return 100
        if self.progress.needed <= 0:
            return 0
        # done * 100 / needed, not (done / needed) * 100: 29 of 100 is 29 %, not 28.
        return min(math.floor(self.progress.done * 100 / self.progress.needed), 99)


def device_learning(
    registry: Registry, rules: Mapping[str, CompiledRule], device_id: int
) -> dict[str, Learning]:
    """Per rule watching ``device_id`` that learns before it judges, its progress there."""
    learners = {}
    for ref, compiled in rules.items():
        watching = compiled.effective.get(device_id)
        # A rule disabled for the device learns nothing there: it has no progress to show.
        if watching is None or not watching.enabled:
            continue
        evaluator = _reader(compiled.binding.rule.model_dump_json())
        if evaluator is None or evaluator.progress(None) is None:
            continue
        learners[ref] = evaluator
    saved = registry.device_detector_states(device_id, list(learners))
    out: dict[str, Learning] = {}
    for ref, evaluator in learners.items():
        layout = evaluator.state_layout()
        found = saved.get(ref)
        progress: Progress | None = None
        at: datetime | None = None
        if found is not None and layout is not None and found[0] == layout.key:
            try:
                progress = evaluator.progress(layout.named(layout.unpack(found[2])))
                at = found[1]
            except ValueError:
                # A damaged blob: the monitor will not read it either, and learns afresh.
                progress = None
        if progress is None:
            progress = evaluator.progress(None)
        assert progress is not None
        out[ref] = Learning(progress, at)
    return out


@functools.lru_cache(maxsize=64)
def _reader(rule_json: str) -> Evaluator | None:
    """An evaluator of the rule to read saved states with, never the monitor's own: only its
    layout and its reading of a state are wanted, and the monitor's runs on another thread.
    Kept per rule: making an anomaly rule's detector bank takes milliseconds, and a page asks
    for every rule of the device. Its bank has room for one series: it reads, never learns."""
    rule = RuleSpec.model_validate_json(rule_json)
    evaluator = RuleEngine.new_evaluator(rule, DeviceParams(0))
    if isinstance(evaluator, AnomalyEvaluator):
        evaluator.bank = AnomalyBank(
            sensitivity=rule.effective_sensitivity, params=evaluator.detector, capacity=1
        )
    return evaluator


__all__ = ["Learning", "device_learning"]
