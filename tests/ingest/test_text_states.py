"""States sent as text: mapped to their codes where the profile names them, refused elsewhere."""

from __future__ import annotations

import pytest

from shugu.domain.errors import ValidationError
from shugu.domain.profiles import get_profile, parse_profile
from shugu.ingest.thingsboard import TelemetryDecoder


def loom_decoder() -> TelemetryDecoder:
    loom = get_profile("loom")
    states = {name: spec for name, spec in loom.metrics.items() if spec.states}
    return TelemetryDecoder(lambda: 1_700_000_000_000, {"running"}, states)


@pytest.mark.parametrize(
    ("metric", "text", "code"),
    [
        ("running", "RUNNING", 1),
        ("running", "running", 1),
        ("running", "Stopped", 0),
        ("running", "运行", 1),
        ("running", "停机", 0),
        ("running", "ON", 1),
        ("stop_cause", "WARP_BREAK", 1),
        ("stop_cause", "warp break", 1),
        ("stop_cause", "Weft-Break", 2),
        ("stop_cause", "经停", 1),
        ("stop_cause", "落布", 5),
        ("stop_cause", " 9 ", 9),
    ],
)
def test_a_named_state_becomes_its_code(metric: str, text: str, code: int) -> None:
    out = loom_decoder().decode({metric: text})
    assert out.refusals == []
    assert (out.metrics, out.values) == ([metric], [float(code)])


def test_an_unknown_state_is_refused_with_the_known_ones() -> None:
    out = loom_decoder().decode({"stop_cause": "COFFEE_BREAK", "speed_rpm": 600})
    assert out.metrics == ["speed_rpm"]
    (refusal,) = out.refusals
    assert refusal.code == "unknown_state" and refusal.metric == "stop_cause"
    assert "WARP_BREAK (1, 经停)" in refusal.reason and "OTHER (9, 其他)" in refusal.reason
    assert loom_decoder().decode({"stop_cause": "7"}).refusals[0].code == "unknown_state"


def test_text_for_a_metric_without_states_is_refused_as_before() -> None:
    out = loom_decoder().decode({"speed_rpm": "fast", "picks": "12"})
    assert out.metrics == []
    assert [r.code for r in out.refusals] == ["non_numeric", "non_numeric"]


def test_a_text_may_name_only_one_state() -> None:
    text = """
name: twin
label_zh: 双
label_en: Twin
strict: true
metrics:
  mode:
    kind: state
    unit: ""
    label_zh: 模式
    label_en: Mode
    states:
      0: {name: AUTO, label_zh: 自动, label_en: Auto}
      1: {name: MANUAL, label_zh: 手动, label_en: Manual, aliases: [auto]}
"""
    with pytest.raises(ValidationError) as info:
        parse_profile(text, "twin.yaml")
    assert "both named 'auto'" in info.value.message


def test_the_shipped_state_metrics_have_names() -> None:
    for profile, metric in [
        ("loom", "running"),
        ("loom", "stop_cause"),
        ("crah", "fan_running"),
    ]:
        spec = get_profile(profile).metrics[metric]
        assert spec.states is not None
        assert all(state.name for state in spec.states.values()), (profile, metric)
    assert get_profile("crah").metrics["fan_running"].state_code("off") == 0


#: Beyond 4,300 digits int() raises ValueError; the text once escaped the decoder with it.
LONG_DIGITS = "9" * 5000


@pytest.mark.parametrize("text", [LONG_DIGITS, "٣", "３", "0" * 10 + "1", "+1", "-0"])
def test_a_state_code_is_one_to_nine_ascii_digits(text: str) -> None:
    # Other scripts' digits (Arabic-Indic ٣, fullwidth ３) passed str.isdecimal and were read as
    # code 3; a text of thousands of digits made int() raise and the whole payload fail.
    out = loom_decoder().decode({"stop_cause": text, "speed_rpm": 600})
    assert out.metrics == ["speed_rpm"]
    (refusal,) = out.refusals
    assert (refusal.metric, refusal.code) == ("stop_cause", "unknown_state")
    assert get_profile("loom").metrics["stop_cause"].state_code(text) is None


def test_state_codes_in_digits_still_name_their_states() -> None:
    spec = get_profile("loom").metrics["stop_cause"]
    assert [spec.state_code(t) for t in ("3", " 3 ", "003", "000000009")] == [3, 3, 3, 9]
