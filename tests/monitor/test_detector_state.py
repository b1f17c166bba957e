"""What anomaly and plant rules learn survives a monitor's restart, a handover and an edit of
the rule (decision 0068): a saved state continues exactly where it stopped, a state of another
layout is not read, and a restarted monitor alarms on a departure at once instead of spending a
silent learning day."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from shugu.domain.batch import QUALITY_GOOD, Batch
from shugu.monitor import service
from shugu.monitor.anomaly import WITH_PATTERN
from shugu.monitor.anomaly_plant_rule import PlantEvaluator
from shugu.monitor.anomaly_rule import AnomalyEvaluator
from shugu.monitor.detector_state import Field, Layout
from shugu.monitor.engine import RuleBinding, RuleEngine
from shugu.monitor.rules import validate_rule
from tests.monitor.points import one_point
from tests.monitor.site import DAY, STEP_MS, T0, Site, anomaly_rule, curve
from tests.monitor.test_engine import engine_with


def evaluator_of(engine: RuleEngine) -> AnomalyEvaluator:
    evaluator = engine.rules()["r"].evaluator
    assert isinstance(evaluator, AnomalyEvaluator)
    return evaluator


def run(engine: RuleEngine, x: np.ndarray, start: int) -> list[tuple[int, bool]]:
    out = []
    for i, value in enumerate(x.tolist(), start):
        ts = T0 + i * STEP_MS
        out += [(i, t.raised) for t in engine.evaluate(one_point(ts, value), ts)]
    return out


@pytest.mark.parametrize("options", [{}, {"pattern": False}])
def test_a_saved_anomaly_state_continues_exactly_where_it_stopped(options: dict) -> None:
    rule = {"kind": "anomaly", "metric": "v", **options}
    first = engine_with(rule, devices=1)
    learned = curve(int(1.5 * DAY), seed=3)
    run(first, learned, 0)
    blobs = evaluator_of(first).export_states()
    assert list(blobs) == [1]
    assert evaluator_of(first).export_states() == {}  # nothing learned since
    second = engine_with(rule, devices=1)
    evaluator_of(second).import_state(1, blobs[1])
    # Both go on with the same points, a departure among them: the same scores and alarms.
    later = curve(DAY // 2, seed=4, start=len(learned))
    later[600:700] -= 4.0
    a = run(first, later, len(learned))
    b = run(second, later, len(learned))
    at = len(learned) + 600
    assert a == b and any(at <= i < at + 100 and up for i, up in a), a
    for (name, x), (_, y) in zip(
        evaluator_of(first).bank.state_arrays(),
        evaluator_of(second).bank.state_arrays(),
        strict=True,
    ):
        assert np.array_equal(x[0], y[0], equal_nan=True), name


def test_every_statistic_of_the_bank_is_in_its_state() -> None:
    """The optional statistics (shape, hourly calibration) travel too."""
    rule = {"kind": "anomaly", "metric": "v", "pattern": True}
    first = engine_with(rule, devices=1)
    second = engine_with(rule, devices=1)
    params = dataclasses.replace(
        evaluator_of(first).detector, art_weight=1.0, hourly_calibration=True
    )
    for engine in (first, second):
        evaluator = evaluator_of(engine)
        evaluator.detector = params
        evaluator.bank = type(evaluator.bank)(evaluator.bank.sensitivity, params=params)
    names = {name for name, _a in evaluator_of(first).bank.state_arrays()}
    assert {"art.boxes", "hourly.counts", "pattern.contexts", "season.week"} <= names
    learned = curve(DAY, seed=5)
    run(first, learned, 0)
    evaluator_of(second).import_state(1, evaluator_of(first).export_states()[1])
    later = curve(DAY // 4, seed=6, start=DAY)
    later[300:340] -= 4.0
    assert run(first, later, DAY) == run(second, later, DAY)


def test_a_saved_state_is_read_only_by_the_same_layout() -> None:
    layout = evaluator_of(engine_with({"kind": "anomaly", "metric": "v"}, devices=1)).state_layout()
    same = evaluator_of(
        engine_with({"kind": "anomaly", "metric": "v", "sensitivity": 0.2}, devices=1)
    ).state_layout()
    assert same.key == layout.key  # the score does not depend on the sensitivity
    other_metric = evaluator_of(engine_with({"kind": "anomaly", "metric": "w"}, devices=1))
    plain = evaluator_of(engine_with({"kind": "anomaly", "metric": "v", "pattern": False}))
    assert len({layout.key, other_metric.state_layout().key, plain.state_layout().key}) == 3
    assert plain.detector.pattern_weight != WITH_PATTERN.pattern_weight
    # A blob of another size, or no packed state at all, is refused with a reason.
    small = Layout((Field("n", "<f8", ()),), "x").pack([np.zeros(())])
    with pytest.raises(ValueError, match="bytes, expected"):
        other_metric.import_state(1, small)
    with pytest.raises(ValueError, match="not a packed state"):
        other_metric.import_state(1, b"\x00garbage")
    # Among many, a refused state leaves the others to be taken.
    engine = engine_with({"kind": "anomaly", "metric": "v"}, devices=2)
    run(engine, curve(200, seed=2), 0)
    good = evaluator_of(engine).export_states()[1]
    fresh = evaluator_of(engine_with({"kind": "anomaly", "metric": "v"}, devices=2))
    refused = fresh.import_states({1: good, 2: small})
    assert list(refused) == [2] and "bytes, expected" in refused[2]
    assert fresh.bank.keys() == {(1, 0): 0} and fresh.bank.n[0] == 200


def test_editing_an_anomaly_rule_s_sensitivity_keeps_what_it_learned() -> None:
    engine = engine_with({"kind": "anomaly", "metric": "v"}, devices=1)
    run(engine, curve(DAY, seed=7), 0)
    bank = evaluator_of(engine).bank
    learned_n = float(bank.n[0])
    infos = list(engine.devices.values())
    scope = engine.rules()["r"].binding.scope

    def rule(**fields: object) -> RuleBinding:
        body = {"label_zh": "规则", "label_en": "rule", "key": "r", "kind": "anomaly"}
        return RuleBinding("r", validate_rule({**body, **fields}), scope)

    engine.configure(infos, [rule(metric="v", sensitivity=0.2)], {})
    assert evaluator_of(engine).bank is bank and bank.sensitivity == 0.2
    assert float(bank.n[0]) == learned_n
    # Another metric is another series: learned afresh.
    engine.configure(infos, [rule(metric="w", sensitivity=0.2)], {})
    assert evaluator_of(engine).bank is not bank and len(evaluator_of(engine).bank) == 0


def test_a_plant_state_continues_exactly_in_its_fit_and_after() -> None:
    rule = {"kind": "plant", "metrics": ["a", "b"], "fit_points": 50}
    rng = np.random.default_rng(8)
    rows = rng.normal(0, 1, (300, 2))
    rows[200:260, 1] += 6.0  # a fault in the second sensor

    def step(evaluator: PlantEvaluator, i: int) -> tuple[bool, bool, str | None]:
        values = {"a": rows[i : i + 1, 0], "b": rows[i : i + 1, 1]}
        s = evaluator.step(np.array([1]), np.array([T0 + i * 1000]), values)
        return bool(s.raised[0]), bool(s.cleared[0]), (s.drivers or (None,))[0]

    for cut in (20, 120):  # inside the fit period, and after it
        first = engine_with(rule, devices=1).rules()["r"].evaluator
        second = engine_with(rule, devices=1).rules()["r"].evaluator
        assert isinstance(first, PlantEvaluator) and isinstance(second, PlantEvaluator)
        for i in range(cut):
            step(first, i)
        second.import_state(1, first.export_states()[1])
        a = [step(first, i) for i in range(cut, len(rows))]
        b = [step(second, i) for i in range(cut, len(rows))]
        assert a == b and any(r for r, _c, _d in a), cut


def test_a_restarted_monitor_alarms_at_once_where_a_fresh_one_would_still_learn(
    site: Site,
) -> None:
    first = site.monitor()
    ref = anomaly_rule(site, first)
    learned = int(1.5 * DAY)
    site.feed(first, curve(learned, seed=9), 0)
    first.stop()  # saves what it learned
    rows, size = site.registry.detector_state_count()
    assert rows == 1 and 0 < size < 200_000
    # The inlet runs 6 °C cold from the first point after the restart.
    warm = curve(240, seed=10, start=learned) - 6.0
    restarted = site.monitor()
    found = site.feed(restarted, warm, learned)
    assert [t.ref for t in found[:1]] == [ref], found
    assert found[0].ts_ms - (T0 + learned * STEP_MS) <= 10 * 60_000
    # Without the saved state the rule learns for a day, and says nothing of it.
    site.registry.prune_detector_states(keep_refs=())
    assert site.registry.detector_state_count() == (0, 0)
    fresh = site.monitor()
    assert site.feed(fresh, warm, learned + len(warm)) == []


def test_a_handover_carries_the_state_and_a_deleted_rule_or_device_takes_it_away(
    site: Site,
) -> None:
    a, b = site.monitor(), site.monitor()
    ref = anomaly_rule(site, a)
    b.configure()
    b.set_scope(frozenset())  # b watches nothing yet
    learned = DAY + 600
    site.feed(a, curve(learned, seed=11), 0)
    a.set_scope(frozenset())  # a hands the enterprise over, saving first
    b.set_scope(frozenset({site.enterprise}))
    evaluator = b.engine.rules()[ref].evaluator
    assert isinstance(evaluator, AnomalyEvaluator)
    found = site.feed(b, curve(240, seed=12, start=learned) - 6.0, learned)
    assert [t.ref for t in found[:1]] == [ref], found
    assert float(evaluator.bank.n[0]) > learned
    # The state goes with its rule, and with its device.
    b.save_states(prune=True)
    assert site.registry.detector_state_count()[0] == 1
    site.registry.delete_device(site.device)
    assert site.registry.detector_state_count() == (0, 0)


def test_a_running_monitor_saves_on_its_own_beside_evaluation(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "SAVE_EVERY_S", 0.2)
    monitor = site.monitor()
    anomaly_rule(site, monitor)
    monitor.start()
    try:
        values = curve(20, seed=13)
        ts = T0 + np.arange(20) * STEP_MS
        site.clock.now = int(ts[-1])
        batch = Batch(
            np.full(20, site.device, np.int32),
            np.full(20, site.inlet, np.int32),
            ts.astype(np.int64),
            values,
            np.full(20, QUALITY_GOOD, np.uint8),
        )
        monitor.on_batch(batch)
        deadline = time.monotonic() + 20
        while site.registry.detector_state_count()[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert site.registry.detector_state_count()[0] == 1
    finally:
        monitor.stop()
