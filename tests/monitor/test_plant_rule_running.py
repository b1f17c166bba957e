"""A plant rule with ``running_metric`` fits on and judges only the rows a device sends while it
runs (decision 0071): an air handler whose fan is switched off for the night is no anomaly,
and its model is not fitted on the night."""

from __future__ import annotations

import pytest

from shugu.domain.errors import ValidationError
from shugu.monitor.alarm_text import limit_line
from shugu.monitor.engine import Transition
from shugu.monitor.rules import validate_rule
from tests.monitor.plant_device import PlantDevice

METRICS = {"supply_air_c": 1, "return_air_c": 2, "supply_air_pressure_pa": 3, "fan_running": 4}
SENSORS = ["supply_air_c", "return_air_c", "supply_air_pressure_pa"]
NOW = 1_800_000_000_000
RULE = {
    "key": "plant_model",
    "kind": "plant",
    "label_zh": "空调机组运行异常",
    "label_en": "Air handler off its normal running",
    "metrics": SENSORS,
    "fit_points": 300,
    "sensitivity": 0.2,
}


class Crah(PlantDevice):
    """One air handler sending its three sensors every 30 s, and its fan flag only when it
    changes (as building management systems often do)."""

    def __init__(self, rule: dict[str, object]) -> None:
        super().__init__(rule, METRICS, "crah", seed=7)
        self.fan: float | None = None

    def feed(self, rows: int, *, fan: float = 1.0, return_offset: float = 0.0) -> list[Transition]:
        out: list[Transition] = []
        for _ in range(rows):
            ts = NOW + self.row * 30_000
            self.row += 1
            if fan:
                supply = 18 + 0.2 * self.rng.standard_normal()
                pressure = 250 + 5 * (supply - 18) + self.rng.standard_normal()
            else:  # no air moves: the coil warms the still air, no pressure
                supply = 27 + 0.5 * self.rng.standard_normal()
                pressure = 2 * self.rng.standard_normal()
            ret = 28 + 0.3 * self.rng.standard_normal() + return_offset
            named = [("supply_air_c", supply), ("return_air_c", ret)]
            named += [("supply_air_pressure_pa", pressure)]
            if fan != self.fan:
                named.append(("fan_running", fan))
                self.fan = fan
            out += self.send(ts, named)
        return out


def night_and_day(crah: Crah) -> list[Transition]:
    """Fitted (400 rows, 3.3 hours), then a short night: two hours with the fan off, then an
    hour of normal running."""
    assert crah.feed(400) == []
    return crah.feed(240, fan=0.0) + crah.feed(120)


def test_a_night_with_the_fan_off_is_no_anomaly_when_judged_while_running() -> None:
    always = night_and_day(Crah(RULE))
    # Judged on every row, the still night is an anomaly from its tenth row until the morning.
    assert [(t.raised, t.ts_ms) for t in always][:1] == [(True, NOW + 409 * 30_000)]
    crah = Crah({**RULE, "running_metric": "fan_running"})
    assert night_and_day(crah) == []
    assert crah.evaluator.detectors[1].last_ms == NOW + 759 * 30_000, "the morning was judged"
    # A real fault while it runs is still found, and named.
    found = crah.feed(20, return_offset=3.0)
    assert [(t.raised, t.driver) for t in found] == [(True, "return_air_c")]


def test_the_model_is_fitted_on_running_rows_only() -> None:
    crah = Crah({**RULE, "running_metric": "fan_running"})
    crah.feed(1)
    assert crah.feed(150, fan=0.0) == []
    crah.feed(298)
    assert not crah.evaluator.detectors[1].fitted, "299 running rows: still fitting"
    crah.feed(1)
    assert crah.evaluator.detectors[1].fitted
    assert crah.feed(200) == [], "a model fitted on the night would not know the day"


def test_the_fan_s_last_state_is_kept_with_the_detector() -> None:
    crah = Crah({**RULE, "running_metric": "fan_running"})
    crah.feed(400)
    crah.feed(5, fan=0.0)  # the flag arrives once, with the first of these rows
    assert crah.evaluator.state_devices() == [1], "the flag changed since the last save"
    saved = crah.evaluator.export_rows([1])[0]
    assert crah.evaluator.state_devices() == []
    restarted = Crah({**RULE, "running_metric": "fan_running"})
    restarted.fan, restarted.row, restarted.rng = 0.0, crah.row, crah.rng
    restarted.evaluator.import_state(1, crah.evaluator.state_layout().pack(saved))
    # After the restart the fan is still off and says nothing new: the night stays unjudged.
    assert restarted.feed(240, fan=0.0) == []
    assert restarted.evaluator.detectors[1].last_ms == NOW + 399 * 30_000
    plain = Crah(RULE)
    assert plain.evaluator.state_layout().key != restarted.evaluator.state_layout().key


def test_the_flag_is_another_metric_and_is_shown_in_the_limit() -> None:
    rule = validate_rule({**RULE, "running_metric": "fan_running"})
    assert rule.inputs() == (*SENSORS, "fan_running")
    assert limit_line(rule, "zh") == "按前 300 行拟合，灵敏度 0.2，仅在设备运行时判断"
    assert rule.limit_text() == "fit 300 rows, sensitivity 0.2, while fan_running"
    with pytest.raises(ValidationError, match="running_metric: must be another metric"):
        validate_rule({**RULE, "running_metric": "return_air_c"})
