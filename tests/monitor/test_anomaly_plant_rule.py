"""The plant rule kind in the real rule engine, declared in a (test) device profile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from shugu.domain.batch import Batch
from shugu.domain.errors import ValidationError
from shugu.domain.profiles import load_profiles_from
from shugu.monitor.engine import DeviceInfo, RuleBinding, RuleEngine, Transition, describe
from shugu.monitor.rules import RuleScope, validate_rule

METRICS = {"supply_air_c": 1, "return_air_c": 2, "supply_air_pressure_pa": 3}
NOW = 1_800_000_000_000
PLANT_RULE = {
    "key": "plant_model",
    "kind": "plant",
    "label_zh": "空调机组运行异常",
    "label_en": "Air handler off its normal running",
    "metrics": list(METRICS),
    "fit_points": 300,
    "sensitivity": 0.2,
}


def write_test_profile(tmp_path: Path) -> Path:
    """The shipped crah profile with the plant rule as its only rule, under another name."""
    shipped = Path(__file__).parents[2] / "src/shugu/domain/profiles/crah.yaml"
    data = yaml.safe_load(shipped.read_text())
    data["name"] = "crah_plant_test"
    data["rules"] = [PLANT_RULE]
    (tmp_path / "crah_plant_test.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return tmp_path


@pytest.fixture()
def engine(tmp_path: Path) -> RuleEngine:
    profile = load_profiles_from(write_test_profile(tmp_path))["crah_plant_test"]
    rule = validate_rule(dict(profile.rules[0]))
    engine = RuleEngine(METRICS.get)
    devices = [DeviceInfo(d, 1, f"crah-{d}", "crah_plant_test") for d in (1, 2)]
    binding = RuleBinding("crah_plant_test.plant_model", rule, RuleScope(profile=profile.name))
    engine.configure(devices, [binding], {})
    return engine


def feed(
    engine: RuleEngine, rows: int, *, drift_on_2: float = 0.0, start: int = 0
) -> list[Transition]:
    """Both devices report the three metrics together every 30 s (device 2's return air may sit
    ``drift_on_2`` °C off); the supply pressure follows the supply temperature on both."""
    rng = np.random.default_rng(start)
    out: list[Transition] = []
    for i in range(start, start + rows):
        ts = NOW + i * 30_000
        dev, metric, value = [], [], []
        for d in (1, 2):
            supply = 18 + 0.2 * rng.standard_normal()
            ret = 28 + 0.3 * rng.standard_normal() + (drift_on_2 if d == 2 else 0.0)
            pressure = 250 + 5 * (supply - 18) + rng.standard_normal()
            for name, v in (
                ("supply_air_c", supply),
                ("return_air_c", ret),
                ("supply_air_pressure_pa", pressure),
            ):
                dev.append(d)
                metric.append(METRICS[name])
                value.append(v)
        batch = Batch(
            np.array(dev, np.int32),
            np.array(metric, np.int32),
            np.full(len(dev), ts, np.int64),
            np.array(value),
            np.zeros(len(dev), np.uint8),
        )
        out += engine.evaluate(batch, ts)
    return out


def test_fits_per_device_then_raises_naming_the_sensor_and_clears(engine: RuleEngine) -> None:
    assert feed(engine, 400) == [], "quiet while fitting and on normal running"
    raised = feed(engine, 20, drift_on_2=3.0, start=400)
    assert [(t.device_id, t.raised, t.driver) for t in raised] == [(2, True, "return_air_c")]
    assert raised[0].value is not None and raised[0].value >= 5.0
    rule = engine.rules()["crah_plant_test.plant_model"].binding.rule
    text = describe(rule, raised[0].value, "zh", device="精密空调 02", driver=raised[0].driver)
    assert text.startswith("精密空调 02 return_air_c偏离正常运行模型") and "按前 300 行拟合" in text
    english = describe(rule, raised[0].value, "en", device="CRAH 02", driver=raised[0].driver)
    assert english.startswith("CRAH 02: return_air_c ") and "first 300 rows" in english
    cleared = feed(engine, 60, start=420)
    assert [(t.device_id, t.raised) for t in cleared] == [(2, False)]


def test_plant_rules_need_their_sensors() -> None:
    base = {k: v for k, v in PLANT_RULE.items() if k != "metrics"}
    with pytest.raises(ValidationError, match="metrics"):
        validate_rule(base)
    with pytest.raises(ValidationError, match="named twice"):
        validate_rule({**base, "metrics": ["a", "a"]})
    with pytest.raises(ValidationError, match="belongs to plant rules"):
        validate_rule({**base, "kind": "threshold", "metric": "a", "above": 1, "metrics": ["a"]})
    with pytest.raises(ValidationError, match="fit_points"):
        validate_rule({**PLANT_RULE, "fit_points": 3})
    rule = validate_rule(PLANT_RULE)
    assert rule.inputs() == tuple(METRICS)


def test_a_device_with_its_own_sensitivity_is_judged_against_its_own_threshold(
    engine: RuleEngine,
) -> None:
    assert feed(engine, 400) == []
    ref = "crah_plant_test.plant_model"
    binding = engine.rules()[ref].binding
    devices = [DeviceInfo(d, 1, f"crah-{d}", "crah_plant_test") for d in (1, 2)]
    # At the rule's sensitivity (0.2) a 0.7 °C offset of the return air raises nothing; device 2,
    # told to be more sensitive, raises on it. The detectors keep what they fitted.
    assert engine.configure(devices, [binding], {(ref, 2): {"sensitivity": 0.5}}) == []
    raised = feed(engine, 20, drift_on_2=0.7, start=400)
    assert [(t.device_id, t.raised, t.driver) for t in raised] == [(2, True, "return_air_c")]
