"""KPI files: every shipped one loads against its device profile, the time model expands into
ISO 22400's facts and KPIs, and each kind of mistake is refused naming the file and the field."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from shugu.analytics.definitions import kpis_for, load_kpis, load_kpis_from, parse_kpis
from shugu.analytics.model import PLANNED_FACT
from shugu.domain.errors import ValidationError
from shugu.domain.profiles import MetricKind, load_profiles

SHIPPED = ("cooling_tower", "crah", "loom", "power_meter", "rack_sensor")


def test_every_shipped_file_loads_against_its_profile() -> None:
    loaded = load_kpis()
    assert sorted(loaded) == sorted(SHIPPED)
    for name, kpis in loaded.items():
        assert kpis.profile == name
        assert kpis.kpis, name
        assert kpis_for(name) is kpis
    assert kpis_for("generic") is None
    assert kpis_for("no_such_profile") is None


def test_load_kpis_hands_out_a_copy() -> None:
    load_kpis().pop("loom")
    assert "loom" in load_kpis()


def test_every_profile_with_a_state_metric_gets_the_time_model() -> None:
    for name, profile in load_profiles().items():
        states = [m for m, spec in profile.metrics.items() if spec.kind is MetricKind.STATE]
        if not states:
            continue
        kpis = kpis_for(name)
        assert kpis is not None, f"{name} has state metrics {states} but no KPI file"
        assert kpis.state_metric in states
        assert {"availability", "utilisation"} <= set(kpis.kpi_index)


def test_the_loom_time_model_expands_into_iso_22400() -> None:
    kpis = kpis_for("loom")
    assert kpis is not None
    facts = {f.name: f for f in kpis.facts}
    apt = facts["apt_s"]
    assert (apt.kind, apt.metric, apt.states, apt.planned_only) == (
        "state_time",
        "running",
        (1,),
        True,
    )
    assert (facts["not_allocated_s"].metric, facts["not_allocated_s"].states) == (
        "stop_cause",
        (4,),
    )
    assert (facts["failures"].kind, facts["failures"].states) == ("state_entries", (3,))
    assert facts["produced_q"].kind == "counter" and facts["produced_q"].planned_only
    # Every time-model fact counts within planned time only, so its ratios compare like with like.
    assert all(facts[n].planned_only for n in ("apt_s", "planned_data_s", "failure_down_s"))
    assert [(d.name, d.formula.text) for d in kpis.derived] == [
        ("ideal_q", "rated_speed_rpm * apt_s / 60")
    ]
    assert kpis.parameters[0].default == 600 and kpis.parameters[0].attribute == "rated_speed_rpm"
    index = kpis.kpi_index
    assert index["availability"].formula.names == ("apt_s", PLANNED_FACT)
    assert index["utilisation"].formula.text == "apt_s / (planned_data_s - not_allocated_s)"
    # No good-quantity counter: no quality ratio, and the OEE's label says what it is made of.
    assert "quality" not in index
    assert "quality" not in index["oee"].formula.text
    assert "no good-quantity counter" in index["oee"].label_en
    assert "无合格品计数" in index["oee"].label_zh
    assert index["mttr"].better == "lower" and index["mtbf"].better == "higher"
    assert index["throughput"].unit == "pick/h"
    # The loom's own other-stop cause covers every code but running and the three named causes.
    assert facts["other_stops"].states == (4, 5, 9)


def test_an_air_handler_has_availability_but_no_performance() -> None:
    kpis = kpis_for("crah")
    assert kpis is not None
    assert kpis.state_metric == "fan_running"
    assert {"availability", "utilisation", "mtbf", "mttr"} <= set(kpis.kpi_index)
    assert not {"performance", "oee", "quality", "throughput"} & set(kpis.kpi_index)


def _loom_with_time_model(**time_model: Any) -> str:
    return yaml.safe_dump(
        {
            "profile": "loom",
            "parameters": {"rated_speed_rpm": {"default": 600, "unit": "rpm"}},
            "time_model": {"metric": "running", "running": [1], **time_model},
        },
        allow_unicode=True,
        sort_keys=False,
    )


def test_a_good_counter_adds_the_quality_ratio_to_oee() -> None:
    rate = {"parameter": "rated_speed_rpm", "per": "minute"}
    # The loom has no good-quantity counter; fabric_m stands in for one to check the expansion.
    kpis = parse_kpis(
        _loom_with_time_model(produced="picks", good="fabric_m", ideal_rate=rate), "t.yaml"
    )
    assert kpis.kpi_index["quality"].formula.text == "good_q / produced_q"
    assert set(kpis.kpi_index["oee"].formula.names) == {
        "apt_s",
        PLANNED_FACT,
        "produced_q",
        "ideal_q",
        "good_q",
    }
    assert kpis.kpi_index["oee"].label_en == "OEE"
    scrap = parse_kpis(
        _loom_with_time_model(produced="picks", scrap="fabric_m", ideal_rate=rate), "t.yaml"
    )
    assert scrap.kpi_index["quality"].formula.text == "(produced_q - scrap_q) / produced_q"


def test_a_time_model_of_states_alone_has_no_failures_or_output() -> None:
    kpis = parse_kpis(_loom_with_time_model(), "t.yaml")
    assert [k.name for k in kpis.kpis] == ["availability", "utilisation"]
    assert kpis.kpi_index["utilisation"].formula.text == "apt_s / planned_data_s"


BASE: dict[str, Any] = {
    "profile": "loom",
    "output_fact": "fabric_m",
    "parameters": {"rated_speed_rpm": {"default": 600, "unit": "rpm"}},
    "facts": {
        "run_s": {"kind": "state_time", "metric": "running", "states": [1]},
        "stop_s": {"kind": "state_time", "metric": "running", "states": [0]},
        "fabric_m": {"kind": "counter", "metric": "fabric_m"},
        "power_kwh": {"kind": "integral", "expr": "power_kw", "unit": "kWh"},
    },
    "kpis": {
        "efficiency": {
            "formula": "run_s / (run_s + stop_s)",
            "unit": "%",
            "scale": 100,
            "label_zh": "织机效率",
            "label_en": "Loom efficiency",
        }
    },
}


def _text(change: Callable[[dict[str, Any]], object]) -> str:
    data = copy.deepcopy(BASE)
    change(data)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        del node[last]

    return change


def test_the_base_of_the_refusal_cases_loads() -> None:
    kpis = parse_kpis(_text(lambda d: None), "base.yaml")
    assert kpis.fact_names == ("run_s", "stop_s", "fabric_m", "power_kwh")
    assert kpis.facts[2].unit == "m"  # a counter's unit defaults to its metric's


REFUSALS = [
    ("unknown-key", _set("colour", "red"), "colour", "Extra inputs are not permitted"),
    ("unknown-fact-key", _set("facts.run_s.metrik", "x"), "facts.run_s.metrik", "Extra inputs"),
    (
        "unknown-unit",
        _set("kpis.efficiency.unit", "percent"),
        "kpis.efficiency.unit",
        "unknown unit 'percent'",
    ),
    (
        "unknown-fact-unit",
        _set("facts.power_kwh.unit", "kwh"),
        "facts.power_kwh.unit",
        "unknown unit 'kwh'",
    ),
    (
        "scale-as-text",
        _set("kpis.efficiency.scale", "100"),
        "kpis.efficiency.scale",
        "valid number",
    ),
    (
        "flag-as-number",
        _set("facts.run_s.planned_only", 1),
        "facts.run_s.planned_only",
        "valid boolean",
    ),
    ("unknown-kind", _set("facts.run_s.kind", "average"), "facts.run_s.kind", "state_time"),
    ("unknown-profile", _set("profile", "boiler"), "profile", "no device profile 'boiler'"),
    (
        "state-of-a-gauge",
        _set("facts.run_s.metric", "speed_rpm"),
        "facts.run_s.metric",
        "speed_rpm is a gauge metric, not a state metric",
    ),
    (
        "unknown-state",
        _set("facts.run_s.states", [1, 7]),
        "facts.run_s.states",
        "running has no state 7",
    ),
    (
        "states-twice",
        _set("facts.run_s.states_except", [0]),
        "facts.run_s.states",
        "states or states_except",
    ),
    ("no-states", _drop("facts.run_s.states"), "facts.run_s.states", "states or states_except"),
    (
        "except-everything",
        lambda d: d["facts"]["run_s"].update(states=None, states_except=[0, 1]),
        "facts.run_s.states_except",
        "leaves no state",
    ),
    (
        "counter-of-a-gauge",
        _set("facts.fabric_m.metric", "power_kw"),
        "facts.fabric_m.metric",
        "not a counter metric",
    ),
    (
        "counter-with-states",
        _set("facts.fabric_m.states", [1]),
        "facts.fabric_m.states",
        "a fact of kind counter takes no states",
    ),
    (
        "unknown-metric",
        _set("facts.power_kwh.expr", "power_kw + boiler_c"),
        "facts.power_kwh.expr",
        "'boiler_c' is not a metric of profile loom",
    ),
    ("integral-without-unit", _drop("facts.power_kwh.unit"), "facts.power_kwh.unit", "needs unit"),
    (
        "bad-syntax",
        _set("kpis.efficiency.formula", "run_s /"),
        "kpis.efficiency.formula",
        "syntax error",
    ),
    (
        "formula-names-a-metric",
        _set("kpis.efficiency.formula", "speed_rpm"),
        "kpis.efficiency.formula",
        "'speed_rpm' is not a fact",
    ),
    (
        "formula-names-no-fact",
        _set("kpis.efficiency.formula", "run_s / total_s"),
        "kpis.efficiency.formula",
        "'total_s' is not a fact",
    ),
    (
        "derived-from-planned",
        _set("derived.x.formula", "planned_s * 2"),
        "derived.x.formula",
        "'planned_s' is not a fact or parameter",
    ),
    ("output-fact-missing", _set("output_fact", "metres"), "output_fact", "'metres' is not a fact"),
    ("energy-fact-missing", _set("energy_fact", "kwh"), "energy_fact", "'kwh' is not a fact"),
    ("meter-without-energy", _set("is_meter", True), "is_meter", "needs energy_fact"),
    (
        "not-snake-case",
        _set("facts.Run", {"kind": "state_time", "metric": "running", "states": [1]}),
        "facts.Run",
        "snake_case",
    ),
    (
        "reserved-name",
        _set("facts.planned_s", {"kind": "data_time", "expr": "running"}),
        "facts.planned_s",
        "reserved",
    ),
    (
        "name-twice",
        _set("facts.rated_speed_rpm", {"kind": "data_time", "expr": "running"}),
        "facts.rated_speed_rpm",
        "already a name in parameters",
    ),
    (
        "bound-upside-down",
        _set(
            "facts.warm_s",
            {"kind": "time_within", "bounds": [{"expr": "power_kw", "min": 5, "max": 1}]},
        ),
        "facts.warm_s.bounds.0",
        "min (5.0) is greater than max (1.0)",
    ),
    (
        "open-bound",
        _set("facts.warm_s", {"kind": "time_within", "bounds": [{"expr": "power_kw"}]}),
        "facts.warm_s.bounds.0",
        "needs min, max or both",
    ),
    ("no-kpis", _set("kpis", {}), "kpis", "at least one KPI"),
    (
        "time-model-on-a-gauge",
        _set("time_model", {"metric": "speed_rpm", "running": [1]}),
        "time_model.metric",
        "not a state metric",
    ),
    (
        "time-model-unknown-failure",
        _set(
            "time_model",
            {
                "metric": "running",
                "running": [1],
                "failures": {"metric": "stop_cause", "states": [8]},
            },
        ),
        "time_model.failures.states",
        "stop_cause has no state 8",
    ),
    (
        "time-model-rate-undeclared",
        _set(
            "time_model",
            {
                "metric": "running",
                "running": [1],
                "produced": "picks",
                "ideal_rate": {"parameter": "speed", "per": "minute"},
            },
        ),
        "time_model.ideal_rate.parameter",
        "'speed' is not declared",
    ),
    (
        "time-model-good-alone",
        _set("time_model", {"metric": "running", "running": [1], "good": "picks"}),
        "time_model.good",
        "needs produced",
    ),
    (
        "time-model-produced-gauge",
        _set("time_model", {"metric": "running", "running": [1], "produced": "speed_rpm"}),
        "time_model.produced",
        "not a counter metric",
    ),
]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [pytest.param(change, field, words, id=case) for case, change, field, words in REFUSALS],
)
def test_a_mistake_is_refused_naming_file_and_field(
    change: Callable[[dict[str, Any]], object], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_kpis(_text(change), "mill.yaml")
    error = caught.value
    assert error.code == "kpi_file_invalid"
    assert error.details == {"file": "mill.yaml", "field": field}
    assert error.message.startswith("KPI file mill.yaml is invalid: ")
    assert field in error.message and words in error.message, error.message


def test_a_name_the_time_model_makes_is_refused() -> None:
    def change(data: dict[str, Any]) -> None:
        data["time_model"] = {"metric": "running", "running": [1]}
        data["facts"]["apt_s"] = {"kind": "state_time", "metric": "running", "states": [1]}

    with pytest.raises(
        ValidationError, match=re.escape("facts.apt_s: time_model makes fact 'apt_s'")
    ):
        parse_kpis(_text(change), "mill.yaml")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("profile: [loom", "not valid YAML"),
        ("- loom\n", "must be a mapping"),
        ("", "must be a mapping"),
    ],
)
def test_a_file_that_is_no_mapping_is_refused(text: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as caught:
        parse_kpis(text, "broken.yaml")
    assert "broken.yaml" in caught.value.message


def test_a_file_must_be_named_after_its_profile(tmp_path: Path) -> None:
    (tmp_path / "crah.yaml").write_text(_text(lambda d: None), encoding="utf-8")
    with pytest.raises(
        ValidationError, match=re.escape("crah.yaml is invalid: profile: declares profile 'loom'")
    ):
        load_kpis_from(tmp_path)
    (tmp_path / "crah.yaml").rename(tmp_path / "loom.yaml")
    assert list(load_kpis_from(tmp_path)) == ["loom"]
