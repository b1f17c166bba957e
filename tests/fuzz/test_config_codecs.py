"""Hostile configuration: alarm rules, profile and district YAML, the anomaly command's CSV.

Each is accepted (and then works: rules run through the rule engine, districts are laid out into
devices) or refused with a code and a message that says what is wrong. The ``@example`` rows are
inputs that once crashed or slipped through.
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from bench.fuzz_cases import judge
from bench.fuzz_config import RULE_TEMPLATES, RuleWorld, check_profile, profile_cases, rule_cases
from bench.fuzz_files import DISTRICT, csv_checker, csv_files, district_cases, district_checker
from hypothesis import example, given

from shugu.domain.errors import ShuguError
from shugu.sim.district import DistrictError, load_district
from tests.fuzz.fuzzing import fuzz, sound


def _rule(**changes: Any) -> dict[str, Any]:
    threshold = next(r for r in RULE_TEMPLATES if r["kind"] == "threshold")
    return {**copy.deepcopy(threshold), **changes}


@fuzz()
@given(rule_cases)
# An id beyond 64 bits reached SQLite and raised OverflowError.
@example(({"rule": _rule(), "scope": {"asset_id": 2**70}}, {}, [1.0]))
@example(({"rule": _rule(), "scope": {"device_id": 2**64}}, {}, [1.0]))
# A bare function name passed as an expression and raised KeyError in the rule engine.
@example(
    (
        {
            "rule": _rule(kind="expression", metric=None, expr="abs + inlet_c", above=1.0),
            "scope": {"profile": "rack_sensor"},
        },
        {},
        [30.0, 1.0],
    )
)
def test_alarm_rules(
    rule_world: RuleWorld, case: tuple[dict[str, Any], dict[str, Any], list[float]]
) -> None:
    sound(judge(rule_world.check, case))


@pytest.mark.parametrize("limit", [math.nan, math.inf, -math.inf])
def test_a_rule_limit_must_be_a_number(rule_world: RuleWorld, limit: float) -> None:
    # NaN was accepted as a limit: the rule then never fired.
    body = {"rule": _rule(above=limit), "scope": {"profile": "cooling_tower"}}
    verdict = judge(rule_world.check, (body, {}, [1.0]))
    assert verdict.outcome == "rejected" and verdict.codes == ("rule_invalid",)


@fuzz()
@given(profile_cases)
# PyYAML recursed past the stack on deep nesting (RecursionError).
@example("metrics: " + "[" * 3000 + "]" * 3000)
@example("- " * 3000 + "x")
# A lone surrogate escaped in YAML reached pydantic, which could not encode it.
@example('name: m\nlabel_zh: m\nlabel_en: m\nstrict: true\nlist_metrics:\n- "\\uD800"\n')
def test_profile_yaml(text: str) -> None:
    sound(judge(check_profile, text))


@fuzz(0.5)
@given(district_cases)
# Not UTF-8 (UnicodeDecodeError) or nested too deeply (RecursionError).
@example(b"name: \xff\xfe\n")
@example(b"parks: " + b"[" * 3000 + b"]" * 3000)
# A device pattern other than {i} raised KeyError or ValueError when laid out.
@example(yaml.safe_dump(DISTRICT, allow_unicode=True).replace("{i:03d}", "{i}{x}").encode())
@example(yaml.safe_dump(DISTRICT, allow_unicode=True).replace("{i:03d}", "{i:q}").encode())
def test_district_yaml(scratch: Path, data: bytes) -> None:
    with district_checker(scratch) as check:
        sound(judge(check, data))


@pytest.mark.parametrize(
    ("good", "bad", "field"),
    [
        # A pattern other than {i} failed only when the district was laid out.
        ("{i:03d}", "{i}{x}", "parks.0.enterprises.0.plants.0.devices"),
        # A malformed credit code was refused without the file's line.
        ("91350112MA000901XW", "ABC", "parks.0.enterprises.1.uscc"),
        # A division code that is not six digits failed only when credit codes were generated.
        ("division_code: '350112'", "division_code: 35-01", "parks.0.division_code"),
    ],
)
def test_district_errors_name_the_line(tmp_path: Path, good: str, bad: str, field: str) -> None:
    path = tmp_path / "district.yaml"
    path.write_text(yaml.safe_dump(DISTRICT, allow_unicode=True).replace(good, bad), "utf-8")
    with pytest.raises(DistrictError) as caught:
        load_district(path)
    assert re.search(rf"district\.yaml:\d+: {re.escape(field)}: ", caught.value.message)


@fuzz()
@given(csv_files())
# A field longer than the csv module's limit (csv.Error); an epoch beyond 64 bits
# (OverflowError when the timestamps became an array).
@example((b'timestamp,value\n1,"' + b"x" * 140_000 + b'"\n', ["value"]))
@example((b"timestamp,value\n" + b"1" * 30 + b",1\n", ["value"]))
def test_anomaly_csv(scratch: Path, case: tuple[bytes, list[str]]) -> None:
    with csv_checker(scratch) as check:
        sound(judge(check, case))


def test_profile_limits_must_be_numbers() -> None:
    text = """
name: probe
label_zh: 探头
label_en: Probe
strict: true
metrics:
  temp_c: {unit: "°C", kind: gauge, min: .nan, label_zh: 温度, label_en: Temperature}
"""
    with pytest.raises(ShuguError) as caught:
        check_profile(text)
    assert caught.value.code == "profile_invalid"
