"""A plant rule with ``conditions`` judges its sensors against what the machine is given
(decision 0072): a meter whose load leaves the range of its fit period is no anomaly, a power
factor that sags at the same load still is."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shugu.domain.errors import ValidationError
from shugu.monitor.alarm_text import limit_line
from shugu.monitor.anomaly_plant import PlantDetector
from shugu.monitor.engine import Transition
from shugu.monitor.rules import validate_rule
from tests.monitor.plant_device import PlantDevice

METRICS = {"active_power_kw": 1, "voltage_v": 2, "current_a": 3, "power_factor": 4}
SENSORS = ["voltage_v", "current_a", "power_factor"]
NOW = 1_800_000_000_000
RULE = {
    "key": "plant_model",
    "kind": "plant",
    "label_zh": "电表运行异常",
    "label_en": "Meter off its normal running",
    "metrics": SENSORS,
    "fit_points": 300,
}
GIVEN = {**RULE, "conditions": ["active_power_kw"]}


class Meter(PlantDevice):
    """One three-phase meter read every 30 s: the load is what the plant draws, the current
    follows it (I = P / (√3 · U · cos φ))."""

    def __init__(self, rule: dict[str, object]) -> None:
        super().__init__(rule, METRICS, "power_meter", seed=11)

    def feed(
        self,
        rows: int,
        *,
        rise_kw: float = 0.0,
        pf: float = 0.92,
        load_every: int = 1,
    ) -> list[Transition]:
        """``rows`` readings at a load wandering between 40 and 60 kW, plus ``rise_kw`` more at
        each row of this call; with ``load_every`` above 1 the load comes only in every so many
        rows, in a message of its own."""
        out: list[Transition] = []
        for i in range(rows):
            ts = NOW + self.row * 30_000
            load = 50 + 10 * math.sin(self.row / 40.0) + rise_kw * i
            self.row += 1
            volts = 400 + 2 * self.rng.standard_normal()
            factor = pf + 0.003 * self.rng.standard_normal()
            amps = load * 1000 / (math.sqrt(3) * volts * factor) + 0.3 * self.rng.standard_normal()
            if self.row % load_every == 0:
                out += self.send(ts - 1_000, [("active_power_kw", load)])
            sensors = [("voltage_v", volts), ("current_a", amps), ("power_factor", factor)]
            out += self.send(ts, sensors)
        return out


def test_a_load_beyond_the_fit_period_is_no_anomaly_given_the_load() -> None:
    # Judged as a sensor, a load above the fit period's range is an anomaly, and so is the
    # current that follows it.
    sensor = Meter({**RULE, "metrics": ["active_power_kw", *SENSORS]})
    assert sensor.feed(300) == []
    raised = [t for t in sensor.feed(120, rise_kw=1.0) if t.raised]
    assert raised and raised[0].driver in ("active_power_kw", "current_a")
    # Given the load, the same afternoon is normal running, the load tripled.
    given = Meter(GIVEN)
    assert given.feed(300) == []
    assert given.feed(120, rise_kw=1.0) == []
    # A power factor that sags is still found, and named.
    found = given.feed(40, rise_kw=0.0, pf=0.85)
    assert [(t.raised, t.driver) for t in found] == [(True, "power_factor")]


def test_a_load_sent_less_often_than_the_sensors_holds_until_the_next() -> None:
    meter = Meter(GIVEN)
    assert meter.feed(300, load_every=5) == []
    assert meter.feed(120, rise_kw=1.0, load_every=5) == []
    detector = meter.evaluator.detectors[1]
    assert detector.context == 1 and not math.isnan(detector.conditions[0])


def test_the_held_load_is_kept_with_the_detector() -> None:
    meter = Meter(GIVEN)
    meter.feed(310)
    meter.evaluator.export_rows([1])
    assert meter.evaluator.state_devices() == []
    # The load alone, with no sensor row: the state changed and is saved again.
    meter.send(NOW + 310 * 30_000, [("active_power_kw", 150.0)])
    assert meter.evaluator.state_devices() == [1]
    saved = meter.evaluator.export_rows([1])[0]
    restarted = Meter(GIVEN)
    restarted.evaluator.import_state(1, meter.evaluator.state_layout().pack(saved))
    assert restarted.evaluator.detectors[1].conditions[0] == 150.0
    assert restarted.evaluator.state_devices() == []
    assert Meter(RULE).evaluator.state_layout().key != restarted.evaluator.state_layout().key


def test_a_device_that_sends_only_the_load_keeps_no_model() -> None:
    meter = Meter(GIVEN)
    for i in range(50):  # a submeter that reports its load and nothing the rule judges
        meter.send(NOW + i * 30_000, [("active_power_kw", 40.0 + i)])
    assert meter.evaluator.detectors == {} and meter.evaluator.state_devices() == []
    # Its first sensor row is judged against the load it sent last.
    meter.send(NOW + 50 * 30_000, [("voltage_v", 400.0), ("current_a", 80.0)])
    assert meter.evaluator.detectors[1].conditions.tolist() == [89.0]


def test_a_condition_still_in_the_fit_period_is_left_out() -> None:
    """A condition that never moved while the model was fitted says nothing of how the sensors
    answer it. When it moves later, the sensor is judged as without it, and a fault is found."""
    rng = np.random.default_rng(9)
    for still in (40.3, 0.7, 400.0):
        detector = PlantDetector(2, context=1)
        for i in range(400):
            detector.update(NOW + i * 1000, np.array([10 + rng.standard_normal(), still]))
        assert detector.weights[1, 0] == 0.0 and not detector.coef_cov.any()
        moved = [
            detector.update(NOW + i * 1000, np.array([10 + rng.standard_normal(), 3 * still]))
            for i in range(400, 500)
        ]
        assert not any(r.alarm for r in moved), still
        fault = [
            detector.update(NOW + i * 1000, np.array([18 + rng.standard_normal(), 3 * still]))
            for i in range(500, 530)
        ]
        assert fault[-1].alarm and fault[-1].driver == 0, still


def test_a_condition_is_never_the_driver() -> None:
    rng = np.random.default_rng(3)
    detector = PlantDetector(2, params=PlantDetector(1).params, context=1)
    for i in range(400):
        x = rng.standard_normal()
        detector.update(NOW + i * 1000, np.array([2 * x + 0.1 * rng.standard_normal(), x]))
    # The condition alone far outside its fitted range, the sensor following it as fitted.
    for i in range(400, 460):
        row = detector.update(NOW + i * 1000, np.array([2 * 9.0, 9.0]))
        assert not row.alarm and row.driver == 0
    with pytest.raises(ValueError, match="judged column"):
        PlantDetector(2, context=2)


def test_conditions_belong_to_plant_rules_and_are_shown_in_the_limit() -> None:
    rule = validate_rule({**GIVEN, "running_metric": "on"})
    assert rule.inputs() == (*SENSORS, "active_power_kw", "on")
    assert (
        limit_line(rule, "zh")
        == "按前 300 行拟合，灵敏度 0.4，对照工况 active_power_kw，仅在设备运行时判断"
    )
    assert limit_line(rule, "en") == (
        "fit 300 rows, sensitivity 0.4, given active_power_kw, judged only while running"
    )
    assert rule.limit_text() == "fit 300 rows, sensitivity 0.4, given active_power_kw, while on"
    refused: dict[str, dict[str, object]] = {
        "conditions: belongs to plant rules": {
            "key": "k", "kind": "anomaly", "metric": "current_a", "label_zh": "甲",
            "label_en": "A", "conditions": ["active_power_kw"],
        },
        "conditions: a metric is named twice": {
            **GIVEN, "conditions": ["active_power_kw", "active_power_kw"],
        },
        "conditions: a sensor of the model": {**GIVEN, "conditions": ["current_a"]},
        "running_metric: must be another metric": {**GIVEN, "running_metric": "active_power_kw"},
    }  # fmt: skip
    for message, body in refused.items():
        with pytest.raises(ValidationError, match=message):
            validate_rule(dict(body))
