"""An anomaly rule with ``running_metric`` judges and learns its metric only while the device
runs (decision 0069): a loom's long stop for want of an order is no anomaly of its speed, a loom
running slow still is, and a running flag sent only when it changes holds until the next one."""

from __future__ import annotations

import numpy as np
import pytest

from shugu.domain.batch import Batch
from shugu.domain.errors import ValidationError
from shugu.monitor.alarm_text import limit_line
from shugu.monitor.anomaly_rule import AnomalyEvaluator
from shugu.monitor.engine import RuleEngine
from shugu.monitor.rules import validate_rule
from tests.monitor.test_engine import METRICS, engine_with

T0 = 1_800_000_000_000
STEP_MS = 30_000
PER_HOUR = 120
IDLE_H = 30
SLOW_H = 38


def loom(hours: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Speed about 600 rpm and the running flag, every 30 s. From hour 30 (past the learning
    day) the loom stands for four hours without an order (speed 0, not running)."""
    rng = np.random.default_rng(seed)
    n = int(hours * PER_HOUR)
    speed = 600.0 + rng.normal(0, 2.0, n)
    running = np.ones(n)
    idle = slice(IDLE_H * PER_HOUR, (IDLE_H + 4) * PER_HOUR)
    speed[idle], running[idle] = 0.0, 0.0
    return speed, running


def raised(
    rule: dict, speed: np.ndarray, running: np.ndarray, *, flag_on_change: bool
) -> list[int]:
    engine = engine_with({"kind": "anomaly", "metric": "v", **rule}, devices=1)
    out = []
    for i in range(len(speed)):
        ts = T0 + i * STEP_MS
        metrics, values = [METRICS["v"]], [speed[i]]
        if not flag_on_change or i == 0 or running[i] != running[i - 1]:
            metrics.append(METRICS["running"])
            values.append(running[i])
        n = len(metrics)
        batch = Batch(
            np.ones(n, np.int32),
            np.array(metrics, np.int32),
            np.full(n, ts, np.int64),
            np.array(values),
            np.zeros(n, np.uint8),
        )
        out += [i for t in engine.evaluate(batch, ts) if t.raised]
    return out


def test_a_stop_without_an_order_is_no_anomaly_while_running_is_judged() -> None:
    speed, running = loom(42, seed=1)
    # Judged on every reading, the four idle hours are an anomaly of the speed.
    idle = IDLE_H * PER_HOUR
    plain = raised({}, speed, running, flag_on_change=True)
    assert any(idle <= i < idle + 4 * PER_HOUR for i in plain), plain
    # Judged only while the loom runs, they are not seen at all, whether the flag comes with
    # every reading or only when it changes.
    only_running = {"running_metric": "running"}
    assert raised(only_running, speed, running, flag_on_change=True) == []
    assert raised(only_running, speed, running, flag_on_change=False) == []
    # Running 30 rpm slow from hour 38 is an anomaly.
    slow = speed.copy()
    slow[SLOW_H * PER_HOUR :] -= 30.0
    found = raised(only_running, slow, running, flag_on_change=True)
    assert found and SLOW_H * PER_HOUR <= found[0] < (SLOW_H + 1) * PER_HOUR, found


def test_running_metric_belongs_to_anomaly_and_counter_stalled_rules() -> None:
    base = {"key": "r", "label_zh": "规则", "label_en": "rule"}
    rule = validate_rule({**base, "kind": "anomaly", "metric": "v", "running_metric": "running"})
    assert rule.inputs() == ("v", "running")
    assert limit_line(rule, "zh") == "灵敏度 0.34，仅在设备运行时判断"
    assert rule.limit_text() == "sensitivity 0.34, while running"
    with pytest.raises(ValidationError, match="running_metric: belongs to counter_stalled"):
        validate_rule(
            {**base, "kind": "threshold", "metric": "v", "above": 1, "running_metric": "x"}
        )
    with pytest.raises(ValidationError, match="running_metric: must be another metric"):
        validate_rule({**base, "kind": "anomaly", "metric": "v", "running_metric": "v"})


def test_a_stop_sent_once_is_saved_and_restored_with_the_rule_s_state() -> None:
    def send(engine: RuleEngine, i: int, speed: float, flag: float | None) -> None:
        ts = T0 + i * STEP_MS
        named = [(METRICS["v"], speed)] + ([(METRICS["running"], flag)] if flag is not None else [])
        batch = Batch(
            np.ones(len(named), np.int32),
            np.array([m for m, _ in named], np.int32),
            np.full(len(named), ts, np.int64),
            np.array([v for _, v in named]),
            np.zeros(len(named), np.uint8),
        )
        engine.evaluate(batch, ts)

    rule = {"kind": "anomaly", "metric": "v", "running_metric": "running"}
    engine = engine_with(rule, devices=1)
    send(engine, 0, 600.0, 1.0)
    for i in range(1, 100):
        send(engine, i, 600.0 + i % 3, None)
    evaluator = engine.rules()["r"].evaluator
    assert isinstance(evaluator, AnomalyEvaluator)
    evaluator.export_rows(evaluator.state_devices())
    assert evaluator.state_devices() == []
    send(engine, 100, 0.0, 0.0)  # the loom stops; the flag comes once, and no point is learned
    assert evaluator.state_devices() == [1], "the stop alone must be saved"
    saved = evaluator.state_layout().pack(evaluator.export_rows([1])[0])

    restarted = engine_with(rule, devices=1)
    again = restarted.rules()["r"].evaluator
    assert isinstance(again, AnomalyEvaluator)
    again.import_state(1, saved)
    learned = int(again.bank.n[again.bank.slot((1, 0))])
    for i in range(101, 200):
        send(restarted, i, 0.0, None)  # still standing, saying nothing new
    assert int(again.bank.n[again.bank.slot((1, 0))]) == learned, "the stop was learned"
