"""A device's own sensitivity for an anomaly rule (an override): one noisy machine is made
quieter, or one critical one sharper, without changing the rule on the others; and an override
names only limits the rule's kind has."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from shugu.domain.batch import Batch
from shugu.domain.errors import ValidationError
from shugu.monitor.anomaly import PATTERN_SENSITIVITY, WITH_PATTERN, AnomalyBank
from shugu.monitor.engine import DeviceInfo, RuleBinding, RuleEngine
from shugu.monitor.rules import RuleScope, validate_rule
from tests.monitor.test_anomaly_pattern import ZIGZAG, every_step, stairs_then_zigzag

REF = "generic.unusual_v"
RULE = validate_rule(
    {"key": "unusual_v", "kind": "anomaly", "metric": "v", "label_zh": "异常", "label_en": "x"}
)
DEVICES = [DeviceInfo(d, 1, f"d{d}", "generic") for d in (1, 2)]


def both(ts: int, value: float) -> Batch:
    """The same value from devices 1 and 2 at ``ts``."""
    return Batch(
        np.array([1, 2], np.int32),
        np.array([1, 1], np.int32),
        np.array([ts, ts], np.int64),
        np.array([value, value]),
        np.zeros(2, np.uint8),
    )


def raising_devices(
    engine: RuleEngine, x: npt.NDArray[np.float64], rows: range
) -> list[tuple[int, int]]:
    ts = every_step(len(x)).tolist()
    out = []
    for i in rows:
        out += [(t.device_id, i) for t in engine.evaluate(both(ts[i], x[i]), ts[i]) if t.raised]
    return out


def test_a_device_told_to_be_less_sensitive_stays_quiet_where_the_others_alarm() -> None:
    x = stairs_then_zigzag()
    engine = RuleEngine({"v": 1}.get)
    binding = RuleBinding(REF, RULE, RuleScope(profile="generic"))
    engine.configure(DEVICES, [binding], {})
    assert raising_devices(engine, x, range(0, 1200)) == []
    # Set while running: the rule is unchanged, so the detector keeps what it learned.
    assert engine.configure(DEVICES, [binding], {(REF, 2): {"sensitivity": 0.05}}) == []
    raised = raising_devices(engine, x, range(1200, len(x)))
    assert [d for d, _ in raised] == [1], raised
    assert 2400 <= raised[0][1] < 2400 + len(ZIGZAG)


def test_the_bank_takes_a_sensitivity_per_point() -> None:
    x = stairs_then_zigzag()
    ts = every_step(len(x))
    alone = AnomalyBank(sensitivity=PATTERN_SENSITIVITY, params=WITH_PATTERN)
    shared = AnomalyBank(sensitivity=0.9, params=WITH_PATTERN)
    own = np.array([PATTERN_SENSITIVITY, np.nan])  # slot 1 keeps the bank's 0.9
    alarms = np.zeros(2, np.int64)
    for i in range(len(x)):
        expect_score, expect_alarm = alone.update(np.array([0]), ts[i : i + 1], x[i : i + 1])
        score, alarm = shared.update(np.array([0, 1]), np.repeat(ts[i], 2), np.repeat(x[i], 2), own)
        assert score[0] == expect_score[0] and alarm[0] == expect_alarm[0], i
        alarms += alarm
    assert alarms[1] > alarms[0] >= 1, alarms


def test_an_override_names_only_limits_its_rules_kind_has() -> None:
    assert RULE.with_overrides({"sensitivity": 0.2}).effective_sensitivity == 0.2
    with pytest.raises(ValidationError, match="above is not a limit of anomaly rules"):
        RULE.with_overrides({"above": 5})
    threshold = validate_rule(
        {
            "key": "hot",
            "kind": "threshold",
            "metric": "v",
            "above": 5,
            "label_zh": "热",
            "label_en": "hot",
        }
    )
    with pytest.raises(ValidationError, match="sensitivity is not a limit of threshold rules"):
        threshold.with_overrides({"sensitivity": 0.2})
    assert threshold.with_overrides({"above": 6, "severity": "minor"}).above == 6
    with pytest.raises(ValidationError, match="sensitivity") as refused:
        RULE.with_overrides({"sensitivity": 1.5})
    assert refused.value.details.get("field") in {"sensitivity", "rule.sensitivity"}
