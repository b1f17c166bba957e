"""The rule engine, kind by kind, on hand-made batches."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from shugu.domain.batch import Batch
from shugu.domain.errors import ValidationError
from shugu.monitor.engine import DeviceInfo, RuleBinding, RuleEngine, Transition
from shugu.monitor.rules import RuleScope, default_rules, validate_rule
from tests.monitor.points import one_point

NOW = 1_800_000_000_000
METRICS = {"v": 1, "w": 2, "picks": 3, "running": 4, "inlet_c": 5}


def batch(rows: list[tuple[int, str, int, float]]) -> Batch:
    """Rows of (device, metric, seconds after NOW-10 min, value)."""
    return Batch(
        np.array([r[0] for r in rows], np.int32),
        np.array([METRICS[r[1]] for r in rows], np.int32),
        np.array([NOW - 600_000 + r[2] * 1000 for r in rows], np.int64),
        np.array([r[3] for r in rows], np.float64),
        np.zeros(len(rows), np.uint8),
    )


def engine_with(rule: dict[str, Any], devices: int = 2) -> RuleEngine:
    engine = RuleEngine(METRICS.get)
    spec = validate_rule({"label_zh": "规则", "label_en": "rule", "key": "r", **rule})
    infos = [DeviceInfo(d, 1, f"d{d}", "generic") for d in range(1, devices + 1)]
    engine.configure(infos, [RuleBinding("r", spec, RuleScope(profile="generic"))], {})
    return engine


def flips(transitions: list[Transition]) -> list[tuple[int, bool, int]]:
    """(device, raised?, seconds after NOW-10 min) of each transition."""
    return [(t.device_id, t.raised, (t.ts_ms - NOW + 600_000) // 1000) for t in transitions]


def test_threshold_raises_once_and_clears_past_the_deadband() -> None:
    engine = engine_with({"kind": "threshold", "metric": "v", "above": 27, "deadband": 0.5})
    got = engine.evaluate(
        batch([(1, "v", 0, 26), (1, "v", 10, 28), (1, "v", 20, 29), (1, "v", 30, 26.8)]), NOW
    )
    assert flips(got) == [(1, True, 10)]
    assert got[0].value == 28
    assert flips(engine.evaluate(batch([(1, "v", 40, 26.4)]), NOW)) == [(1, False, 40)]


def test_a_spike_and_its_end_inside_one_batch_are_both_seen() -> None:
    engine = engine_with({"kind": "threshold", "metric": "v", "below": 18})
    got = engine.evaluate(batch([(2, "v", 5, 17), (2, "v", 6, 19), (1, "v", 5, 20)]), NOW)
    assert flips(got) == [(2, True, 5), (2, False, 6)]


def test_late_and_old_points_do_not_flip_state() -> None:
    engine = engine_with({"kind": "threshold", "metric": "v", "above": 27})
    engine.evaluate(batch([(1, "v", 100, 30)]), NOW)
    # A late point from before the newest one, and history older than the lag limit.
    assert engine.evaluate(batch([(1, "v", 50, 20)]), NOW) == []
    assert engine.evaluate(batch([(1, "v", 200, 20)]), NOW + 3_600_000) == []


def test_duration_needs_the_condition_to_hold() -> None:
    engine = engine_with({"kind": "duration", "metric": "v", "above": 10, "for_s": 60})
    rows = [(1, "v", 0, 11), (1, "v", 30, 12), (1, "v", 40, 9), (1, "v", 50, 11)]
    assert engine.evaluate(batch(rows), NOW) == []
    got = engine.evaluate(batch([(1, "v", 100, 11), (1, "v", 110, 11.5)]), NOW)
    assert flips(got) == [(1, True, 110)]


def test_rate_of_change_per_hour_over_the_window() -> None:
    engine = engine_with(
        {"kind": "rate", "metric": "v", "max_rise_per_h": 20, "window_s": 300, "unit": "°C"}
    )
    # 1 K in 5 min = 12 K/h: fine. Then 3 K in 5 min = 36 K/h: too fast.
    steady = engine.evaluate(batch([(1, "v", 0, 20), (1, "v", 300, 21)]), NOW)
    assert steady == []
    got = engine.evaluate(batch([(1, "v", 600, 24)]), NOW)
    assert flips(got) == [(1, True, 600)]
    assert got[0].value == pytest.approx(36.0)


def test_expression_combines_metrics_sent_apart() -> None:
    engine = engine_with({"kind": "expression", "expr": "v - w", "below": 3, "deadband": 0.3})
    assert engine.evaluate(batch([(1, "v", 0, 12)]), NOW) == []  # w unknown yet: no value
    got = engine.evaluate(batch([(1, "w", 10, 10), (2, "v", 10, 13), (2, "w", 10, 6)]), NOW)
    assert flips(got) == [(1, True, 10)]
    assert got[0].value == pytest.approx(2.0)
    assert flips(engine.evaluate(batch([(1, "w", 20, 8.5)]), NOW)) == [(1, False, 20)]


def test_counter_stalled_while_running_but_not_while_stopped() -> None:
    engine = engine_with(
        {"kind": "counter_stalled", "metric": "picks", "running_metric": "running", "for_s": 60}
    )
    rows = [(1, "running", 0, 1), (1, "picks", 0, 100), (1, "picks", 30, 200)]
    rows += [(2, "running", 0, 0), (2, "picks", 0, 50), (2, "picks", 90, 50)]
    assert engine.evaluate(batch(rows), NOW) == []
    got = engine.evaluate(batch([(1, "picks", 100, 200), (2, "picks", 100, 50)]), NOW)
    assert flips(got) == [(1, True, 100)]
    assert flips(engine.evaluate(batch([(1, "picks", 110, 260)]), NOW)) == [(1, False, 110)]
    # Starting again restarts the clock: no alarm at once for device 2.
    assert engine.evaluate(batch([(2, "running", 120, 1), (2, "picks", 125, 50)]), NOW) == []


def test_burst_counts_entries_into_a_state() -> None:
    engine = engine_with(
        {"kind": "burst", "metric": "running", "into": [0], "at_least": 3, "window_s": 3600}
    )
    rows = []
    for i in range(3):
        rows += [(1, "running", i * 60, 1), (1, "running", i * 60 + 30, 0)]
    got = engine.evaluate(batch(rows), NOW)
    assert flips(got) == [(1, True, 150)]
    # An hour without a new stop: fewer than three in the window, cleared.
    later = NOW + 3 * 3_600_000
    quiet = Batch(
        np.array([1], np.int32),
        np.array([4], np.int32),
        np.array([later], np.int64),
        np.array([1.0]),
        np.zeros(1, np.uint8),
    )
    assert [t.raised for t in engine.evaluate(quiet, later)] == [False]


def test_no_data_raises_on_tick_and_clears_on_a_point() -> None:
    engine = engine_with({"kind": "no_data", "for_s": 300})
    engine.evaluate(batch([(1, "v", 0, 1)]), NOW)
    assert engine.tick(NOW + 299_000) == []
    got = engine.tick(NOW + 301_000)
    assert [(t.device_id, t.raised) for t in got] == [(1, True)]  # device 2 never reported
    assert engine.tick(NOW + 400_000) == []
    back = engine.evaluate(batch([(1, "v", 700, 1)]), NOW + 410_000)
    assert [(t.device_id, t.raised) for t in back] == [(1, False)]


def test_anomaly_rule_raises_on_a_departure() -> None:
    engine = engine_with({"kind": "anomaly", "metric": "v"}, devices=1)
    rng = np.random.default_rng(1)
    start = NOW - 30 * 86_400_000
    raised_at = []
    for i in range(30 * 288):
        ts = start + i * 300_000
        value = 20 + 0.5 * rng.standard_normal() + (15 if i >= 29 * 288 else 0)
        one = one_point(ts, value)
        raised_at += [i for t in engine.evaluate(one, ts) if t.raised]
    shift = 29 * 288
    before = [i for i in raised_at if i < shift]
    after = [i for i in raised_at if i >= shift]
    # At most one false alarm per week of noise; the shift is caught within the hour.
    assert len(before) <= 29 / 7, before
    assert after and after[0] < shift + 12, after


def test_overrides_apply_per_device_and_bad_ones_are_reported() -> None:
    engine = RuleEngine(METRICS.get)
    spec = validate_rule(
        {
            "key": "r",
            "kind": "threshold",
            "metric": "v",
            "above": 27,
            "label_zh": "x",
            "label_en": "x",
        }
    )
    infos = [DeviceInfo(1, 1, "d1", "generic"), DeviceInfo(2, 1, "d2", "generic")]
    problems = engine.configure(
        infos,
        [RuleBinding("r", spec, RuleScope(profile="generic"))],
        {("r", 2): {"above": 30}, ("r", 1): {"metric": "w"}},
    )
    assert problems and "metric cannot be overridden" in problems[0]
    got = engine.evaluate(batch([(1, "v", 0, 28), (2, "v", 0, 28)]), NOW)
    assert flips(got) == [(1, True, 0)]


def test_scopes_profile_asset_and_device() -> None:
    spec = validate_rule(
        {
            "key": "r",
            "kind": "threshold",
            "metric": "v",
            "above": 1,
            "label_zh": "x",
            "label_en": "x",
        }
    )
    infos = [
        DeviceInfo(1, 1, "d1", "crah", (10, 1)),
        DeviceInfo(2, 1, "d2", "crah", (11, 1)),
        DeviceInfo(3, 2, "d3", "crah", (20,)),
    ]
    cases = {
        "profile of its enterprise": (RuleScope(profile="crah"), 1, {1, 2}),
        "asset subtree": (RuleScope(asset_id=10), 1, {1}),
        "site covers all below": (RuleScope(asset_id=1), 1, {1, 2}),
        "one device": (RuleScope(device_id=2), 1, {2}),
        "platform default": (RuleScope(profile="crah"), None, {1, 2, 3}),
    }
    for name, (scope, owner, wanted) in cases.items():
        engine = RuleEngine(METRICS.get)
        engine.configure(infos, [RuleBinding("r", spec, scope, owner)], {})
        got = engine.evaluate(batch([(d, "v", 0, 5) for d in (1, 2, 3)]), NOW)
        assert {t.device_id for t in got} == wanted, name


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "threshold", "above": 1}, "a threshold rule needs metric"),
        ({"kind": "threshold", "metric": "v"}, "needs above, below or both"),
        ({"kind": "threshold", "metric": "v", "above": 1, "below": 2}, "must be less than"),
        ({"kind": "duration", "metric": "v", "above": 1}, "for_s greater than 0"),
        ({"kind": "expression", "expr": "v ** 2", "above": 1}, "only + - * /"),
        ({"kind": "expression", "expr": "open('x')", "above": 1}, "only abs()"),
        ({"kind": "rate", "metric": "v"}, "max_rise_per_h"),
        ({"kind": "counter_stalled", "metric": "v", "for_s": 5}, "running_metric"),
        ({"kind": "threshold", "metric": "v", "above": 1, "deadband": -1}, "deadband"),
        ({"kind": "nonsense", "metric": "v"}, "kind"),
    ],
)
def test_invalid_rules_name_what_is_wrong(rule: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_rule({"key": "r", "label_zh": "x", "label_en": "x", **rule})
    assert field in caught.value.message


def test_every_shipped_default_rule_is_valid_and_covers_the_issue() -> None:
    refs = set(default_rules())
    for wanted in (
        "rack_sensor.inlet_high",
        "crah.supply_pressure_band",
        "crah.chw_delta_t_low",
        "cooling_tower.approach_high",
        "cooling_tower.vibration_alert",
        "loom.warp_stops_high",
        "loom.fault_stop_long",
        "cooling_tower.coc_high",
        "loom.picks_stalled",
    ):
        assert wanted in refs
