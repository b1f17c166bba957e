from __future__ import annotations

from pathlib import Path

import pytest

from shugu.domain.errors import ValidationError
from shugu.domain.profiles import (
    MetricKind,
    PlantRole,
    get_profile,
    load_profiles,
    load_profiles_from,
    parse_profile,
)

SHIPPED = {"loom", "cooling_tower", "crah", "rack_sensor", "power_meter", "generic"}


def test_all_shipped_profiles_load() -> None:
    assert set(load_profiles()) == SHIPPED


def test_load_profiles_hands_out_a_copy() -> None:
    load_profiles().pop("loom")
    assert "loom" in load_profiles()


def test_generic_is_open_and_the_others_strict() -> None:
    profiles = load_profiles()
    assert not profiles["generic"].strict
    assert profiles["generic"].metrics == {}
    for name in SHIPPED - {"generic"}:
        assert profiles[name].strict, name
        assert profiles[name].metrics, name


def test_loom_metrics() -> None:
    loom = get_profile("loom")
    running = loom.metrics["running"]
    assert running.kind is MetricKind.STATE and running.bool_as_number
    speed = loom.metrics["speed_rpm"]
    assert (speed.min, speed.max, speed.unit) == (0, 1500, "rpm")
    assert not speed.bool_as_number
    for counter in ("picks", "fabric_m", "energy_kwh"):
        assert loom.metrics[counter].kind is MetricKind.COUNTER
    stop = loom.metrics["stop_cause"]
    assert stop.states is not None
    labels = {state.label_en for state in stop.states.values()}
    assert {"Warp break", "Weft break", "No order", "Doffing"} <= labels


def test_expected_metrics_per_profile() -> None:
    assert {
        "hot_water_c",
        "cold_water_c",
        "wet_bulb_c",
        "flow_m3h",
        "fan_power_kw",
        "fan_speed_pct",
        "vibration_mm_s",
        "basin_level_pct",
        "circ_conductivity_us_cm",
        "makeup_conductivity_us_cm",
    } <= set(get_profile("cooling_tower").metrics)
    crah = get_profile("crah")
    assert {
        "supply_air_c",
        "return_air_c",
        "humidity_pct",
        "chw_supply_c",
        "chw_return_c",
        "supply_air_pressure_pa",
        "fan_running",
    } == set(crah.metrics)
    assert crah.metrics["fan_running"].bool_as_number
    assert set(get_profile("rack_sensor").metrics) == {"inlet_c", "inlet_rh_pct"}
    meter = get_profile("power_meter")
    assert meter.metrics["energy_kwh"].kind is MetricKind.COUNTER
    assert (meter.metrics["power_factor"].min, meter.metrics["power_factor"].max) == (-1, 1)


def test_ranges_hold_the_domain_examples() -> None:
    # docs/domain.md's cooling-tower worked example and data-hall envelopes: realistic values
    # must be plausible.
    tower = get_profile("cooling_tower")
    for metric, value in [("hot_water_c", 37), ("cold_water_c", 27), ("wet_bulb_c", 21)]:
        assert tower.metrics[metric].is_plausible(value)
    assert tower.metrics["flow_m3h"].is_plausible(1000)
    rack = get_profile("rack_sensor")
    assert rack.metrics["inlet_c"].is_plausible(27)
    assert not rack.metrics["inlet_c"].is_plausible(200)
    crah = get_profile("crah")
    assert crah.metrics["supply_air_pressure_pa"].is_plausible(12)
    assert crah.metrics["chw_supply_c"].is_plausible(7)


def test_state_plausibility() -> None:
    stop = get_profile("loom").metrics["stop_cause"]
    assert stop.is_plausible(1)
    assert not stop.is_plausible(1.5)
    assert not stop.is_plausible(7)
    assert not get_profile("loom").metrics["speed_rpm"].is_plausible(float("nan"))


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        get_profile("toaster")
    assert caught.value.code == "unknown_profile"
    assert caught.value.details["field"] == "profile"
    for name in SHIPPED:
        assert name in caught.value.message


KILN = """
name: kiln
label_zh: 窑
label_en: Kiln
strict: true
metrics:
  temp_c: {kind: gauge, unit: °C, label_zh: 温度, label_en: Temperature}
"""


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        (KILN.replace("°C", "degC"), "metrics.temp_c.unit", "unknown unit 'degC'"),
        (
            KILN.replace("unit: °C", "unit: °C, min: 5, max: 1"),
            "metrics.temp_c",
            "min (5.0) is greater than max (1.0)",
        ),
        (
            KILN.replace("kind: gauge", "kind: gauge, bool_as_number: true"),
            "metrics.temp_c",
            "bool_as_number is for state metrics",
        ),
        (KILN.replace("kind: gauge", "kind: level"), "metrics.temp_c.kind", "gauge"),
        (KILN.replace("strict: true", "strict: true\ncolour: red"), "colour", "Extra"),
        (KILN.replace("label_en: Kiln\n", ""), "label_en", "Field required"),
        (
            KILN.replace("kind: gauge, unit: °C", "kind: state, unit: ''"),
            "metrics.temp_c",
            "must list its states",
        ),
        (
            KILN.replace("kind: gauge, unit: °C", "kind: counter, unit: kWh, min: -1"),
            "metrics.temp_c",
            "never goes below zero",
        ),
        (
            KILN.replace(
                "kind: gauge, unit: °C", "kind: counter, unit: kWh, plant_role: condition"
            ),
            "metrics.temp_c",
            "only gauges have a plant_role",
        ),
        (
            KILN.replace("unit: °C", "unit: °C, plant_role: weather"),
            "metrics.temp_c.plant_role",
            "'condition' or 'set_point'",
        ),
    ],
)
def test_invalid_profiles_name_file_and_field(text: str, field: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_profile(text, "kiln.yaml")
    error = caught.value
    assert error.code == "profile_invalid"
    assert error.details["file"] == "kiln.yaml"
    assert error.details["field"] == field
    assert "kiln.yaml" in error.message
    assert fragment in error.message


def test_plant_roles_say_what_a_plant_rule_judges_against_and_leaves_out() -> None:
    """What a machine is given (the weather, its load) and what a controller holds at a set
    point are declared with the profile; the other gauges are the sensors a plant rule judges."""
    profiles = load_profiles()
    tower, meter, crah = profiles["cooling_tower"], profiles["power_meter"], profiles["crah"]
    assert tower.plant_gauges(PlantRole.CONDITION) == ["wet_bulb_c"]
    assert tower.plant_gauges(PlantRole.SET_POINT) == ["cold_water_c"]
    assert "hot_water_c" in tower.plant_gauges(None)
    assert "cold_water_c" not in tower.plant_gauges(None)
    assert meter.plant_gauges(PlantRole.CONDITION) == ["active_power_kw"]
    assert meter.plant_gauges(None) == ["voltage_v", "current_a", "power_factor"]
    assert crah.plant_gauges(PlantRole.CONDITION) == ["return_air_c", "chw_supply_c"]
    assert crah.plant_gauges(PlantRole.SET_POINT) == ["supply_air_c"]
    kiln = parse_profile(KILN.replace("unit: °C", "unit: °C, plant_role: set_point"), "kiln.yaml")
    assert kiln.metrics["temp_c"].plant_role is PlantRole.SET_POINT


def test_yaml_syntax_errors_name_the_file() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_profile("name: [unclosed", "broken.yaml")
    assert caught.value.code == "profile_invalid"
    assert "broken.yaml" in caught.value.message


def test_file_name_must_match_profile_name(tmp_path: Path) -> None:
    (tmp_path / "oven.yaml").write_text(KILN, encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_profiles_from(tmp_path)
    assert caught.value.details == {"file": "oven.yaml", "field": "name"}


def test_profiles_from_a_directory(tmp_path: Path) -> None:
    (tmp_path / "kiln.yaml").write_text(KILN, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    profiles = load_profiles_from(tmp_path)
    assert list(profiles) == ["kiln"]
    assert profiles["kiln"].metric("temp_c") is not None
    assert profiles["kiln"].metric("pressure") is None


def test_a_profile_counts_the_readings_a_device_sends_in_a_stretch_of_time() -> None:
    """A day of a tower's rows at one every 30 s, of a loom's at one every 10 s; a part of an
    interval still brings a reading; a profile that states no interval cannot say."""
    profiles = load_profiles()
    assert profiles["cooling_tower"].rows_in(86_400) == 2880
    assert profiles["loom"].rows_in(86_400) == 8640
    assert profiles["loom"].rows_in(25) == 3
    assert profiles["loom"].rows_in(0) == 1
    assert parse_profile(KILN, "kiln.yaml").rows_in(86_400) is None
