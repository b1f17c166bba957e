"""The simulated week's anomaly rules (``shugu bench alarms --anomaly``): one per gauge metric of
each profile an enterprise has devices of, valid as the monitor reads them, and named back."""

from __future__ import annotations

from pathlib import Path

from bench.alarms_anomaly import (
    anomaly_metrics,
    plant_metrics,
    register_anomaly_rules,
    tallied,
)

from shugu.monitor.config import all_bindings, check_custom_rule
from shugu.store.registry import ParkRecord, Registry


def _park(tmp_path: Path) -> tuple[Registry, ParkRecord]:
    """A registry with one park of 长乐区, for the bench's enterprises."""
    registry = Registry(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    region = registry.create_region("350112", "长乐区")
    return registry, registry.create_park(region.id, "数字经济产业园", "350112")


def test_every_gauge_metric_gets_one_anomaly_rule_and_counters_none(tmp_path: Path) -> None:
    metrics = anomaly_metrics(["loom", "rack_sensor", "loom"])
    assert metrics == [
        ("loom", "speed_rpm"),
        ("loom", "power_kw"),
        ("rack_sensor", "inlet_c"),
        ("rack_sensor", "inlet_rh_pct"),
    ]
    registry, park = _park(tmp_path)
    try:
        mill = registry.create_enterprise(park.id, "织造", "91350112MA000901XW", "05")
        hall = registry.create_enterprise(park.id, "机房", "91110108551385082Q", "0405")
        names = register_anomaly_rules(registry, {mill.id: {"loom"}, hall.id: {"rack_sensor"}})
        assert sorted(names.values()) == [
            "anomaly:loom.power_kw",
            "anomaly:loom.speed_rpm",
            "anomaly:rack_sensor.inlet_c",
            "anomaly:rack_sensor.inlet_rh_pct",
        ]
        bound = {b.ref: b for b in all_bindings(registry) if b.ref in names}
        assert len(bound) == 4
        assert all(b.rule.kind == "anomaly" and b.rule.uses_pattern for b in bound.values())
        assert all(b.rule.running_metric is None for b in bound.values())
        # --while-running: the looms' rules judge only while the loom runs; rack sensors have
        # no running flag.
        again = register_anomaly_rules(
            registry, {mill.id: {"loom"}, hall.id: {"rack_sensor"}}, while_running=True
        )
        flags = {
            again[b.ref]: b.rule.running_metric for b in all_bindings(registry) if b.ref in again
        }
        assert flags == {
            "anomaly:loom.power_kw": "running",
            "anomaly:loom.speed_rpm": "running",
            "anomaly:rack_sensor.inlet_c": None,
            "anomaly:rack_sensor.inlet_rh_pct": None,
        }
    finally:
        registry.close()


def test_plant_rules_cover_each_profile_s_gauges_and_pass_the_api_s_checks(
    tmp_path: Path,
) -> None:
    assert plant_metrics(["loom", "rack_sensor"]) == [
        ("loom", ("speed_rpm", "power_kw")),
        ("rack_sensor", ("inlet_c", "inlet_rh_pct")),
    ]
    registry, park = _park(tmp_path)
    try:
        mill = registry.create_enterprise(park.id, "织造", "91350112MA000901XW", "05")
        names = register_anomaly_rules(
            registry, {mill.id: {"loom"}}, per_metric=False, plant=True, while_running=True
        )
        assert list(names.values()) == ["anomaly:loom.plant"]
        assert tallied(["loom"], per_metric=False, plant=True) == {"anomaly:loom.plant": "loom"}
        [bound] = [b for b in all_bindings(registry) if b.ref in names]
        assert bound.rule.kind == "plant" and bound.rule.running_metric == "running"
        record = registry.list_configs("rule", [mill.id])[0]
        assert check_custom_rule(registry, mill.id, record.body).rule["running_metric"]
    finally:
        registry.close()


def test_plant_conditions_are_the_gauges_the_profile_declares_and_pass_the_api_s_checks(
    tmp_path: Path,
) -> None:
    registry, park = _park(tmp_path)
    try:
        site = registry.create_enterprise(park.id, "冷站", "91350112MA000901XW", "0405")
        names = register_anomaly_rules(
            registry,
            {site.id: {"cooling_tower", "power_meter"}},
            per_metric=False,
            plant=True,
            plant_conditions=True,
        )
        rules = {names[b.ref]: b.rule for b in all_bindings(registry) if b.ref in names}
        tower, meter = rules["anomaly:cooling_tower.plant"], rules["anomaly:power_meter.plant"]
        assert tower.conditions == ("wet_bulb_c",)
        assert "wet_bulb_c" not in (tower.metrics or ()) and "cold_water_c" in (tower.metrics or ())
        assert meter.conditions == ("active_power_kw",)
        assert meter.metrics == ("voltage_v", "current_a", "power_factor")
        for record in registry.list_configs("rule", [site.id]):
            assert check_custom_rule(registry, site.id, record.body).rule["conditions"]
        # --plant-held-out: the fan's set point is left to the approach rule.
        held = register_anomaly_rules(
            registry,
            {site.id: {"cooling_tower"}},
            per_metric=False,
            plant=True,
            plant_conditions=True,
            plant_held_out=True,
        )
        [tower] = [b.rule for b in all_bindings(registry) if b.ref in held]
        assert "cold_water_c" not in (tower.metrics or ()) and tower.conditions == ("wet_bulb_c",)
    finally:
        registry.close()
