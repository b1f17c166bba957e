"""One device watched by one plant rule in a real rule engine, for the plant rule's tests."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from shugu.domain.batch import Batch
from shugu.monitor.anomaly_plant_rule import PlantEvaluator
from shugu.monitor.engine import DeviceInfo, RuleBinding, RuleEngine, Transition
from shugu.monitor.rules import RuleScope, validate_rule


class PlantDevice:
    """Device 1 of ``profile`` under the plant rule ``rule``; :meth:`send` evaluates one
    message of named readings."""

    def __init__(
        self, rule: Mapping[str, object], metrics: Mapping[str, int], profile: str, seed: int
    ) -> None:
        self.metrics = metrics
        self.ref = f"{profile}.plant_model"
        self.engine = RuleEngine(metrics.get)
        binding = RuleBinding(self.ref, validate_rule(dict(rule)), RuleScope(profile=profile))
        self.engine.configure([DeviceInfo(1, 1, f"{profile}-01", profile)], [binding], {})
        self.rng = np.random.default_rng(seed)
        #: Rows sent so far; the next row's time is counted from it.
        self.row = 0

    @property
    def evaluator(self) -> PlantEvaluator:
        found = self.engine.rules()[self.ref].evaluator
        assert isinstance(found, PlantEvaluator)
        return found

    def send(self, ts_ms: int, named: list[tuple[str, float]]) -> list[Transition]:
        batch = Batch(
            np.ones(len(named), np.int32),
            np.array([self.metrics[n] for n, _ in named], np.int32),
            np.full(len(named), ts_ms, np.int64),
            np.array([v for _, v in named]),
            np.zeros(len(named), np.uint8),
        )
        return self.engine.evaluate(batch, ts_ms)
