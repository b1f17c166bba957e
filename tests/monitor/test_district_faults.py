"""Simulated faults through the real store, monitor and rounds: what an engineer would see.

A CRAH trip in a simulated data hall must raise rack-inlet alarms near the tripped unit and fail
an inspection round; fill fouling in a simulated cooling tower must raise the approach alarm.
The monitor's clock follows simulated time so that hours of plant behaviour run in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from argon2 import PasswordHasher

from shugu.domain.batch import QUALITY_GOOD, Batch
from shugu.monitor.model import CheckOutcome
from shugu.monitor.round_service import RoundService
from shugu.monitor.service import Monitor
from shugu.sim.cooling_tower import CoolingTowerSite
from shugu.sim.datahall import DataHall
from shugu.sim.model import Fault, Plant, Readings
from shugu.sim.weather import Weather
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry

START = 1_790_000_000_000  # a Tuesday in 2026, 12:53 China time


class SimClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def site(
    tmp_path: Path, password_hasher: PasswordHasher
) -> Iterator[tuple[Registry, DuckDBTelemetryStore]]:
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}", password_hasher=password_hasher)
    store = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    region = registry.create_region("350112", "长乐区")
    park = registry.create_park(region.id, "数字经济产业园", "350112")
    registry.create_enterprise(park.id, "福州滨海云数据中心有限公司", "91350112MA000901XW", "0405")
    try:
        yield registry, store
    finally:
        store.close()
        registry.close()


def _devices(registry: Registry, enterprise: int, names: dict[str, str]) -> dict[str, int]:
    site = registry.create_asset(enterprise, "site", "一号楼")
    return {
        name: registry.create_device(enterprise, name, profile, asset_id=site.id)[0].id
        for name, profile in names.items()
    }


def _feed(store: DuckDBTelemetryStore, ids: dict[str, int], readings: Readings, t_ms: int) -> None:
    dev, met, val = [], [], []
    for name, metrics in readings.items():
        metric_ids = store.metric_ids(list(metrics))
        for metric_id, value in zip(metric_ids, metrics.values(), strict=True):
            dev.append(ids[name])
            met.append(int(metric_id))
            val.append(value)
    n = len(dev)
    batch = Batch(
        np.array(dev, np.int32),
        np.array(met, np.int32),
        np.full(n, t_ms, np.int64),
        np.array(val, np.float64),
        np.full(n, QUALITY_GOOD, np.uint8),
    )
    store.submit(batch).result(10)


def _run(
    plant: Plant,
    store: DuckDBTelemetryStore,
    monitor: Monitor,
    clock: SimClock,
    ids: dict[str, int],
    *,
    minutes: float,
    step_s: float,
) -> None:
    for _ in range(int(minutes * 60 / step_s)):
        clock.now += int(step_s * 1000)
        _feed(store, ids, plant.step(clock.now, step_s), clock.now)
        monitor.process_pending()
        monitor.book.apply(monitor.engine.tick(clock.now))


def _open(registry: Registry, rule: str) -> set[int]:
    return {
        a.device_id for a in registry.list_alarms(None, statuses=("active",)) if a.rule_ref == rule
    }


def test_crah_trip_raises_rack_inlet_alarms_and_fails_the_round(
    site: tuple[Registry, DuckDBTelemetryStore],
) -> None:
    registry, store = site
    crahs = [f"精密空调 {i:02d}" for i in range(1, 5)]
    racks = [f"机柜 R{i:03d}" for i in range(1, 61)]
    enterprise = registry.list_enterprises()[0].id
    ids = _devices(
        registry,
        enterprise,
        {**dict.fromkeys(crahs, "crah"), **dict.fromkeys(racks, "rack_sensor")},
    )
    hall = DataHall(crahs, racks, np.random.default_rng(3))
    clock = SimClock()
    monitor = Monitor(registry, store, clock=clock)
    store.add_listener(monitor.on_batch)
    plan = registry.put_config(
        "plan",
        enterprise,
        {
            "name": "机房日常巡检",
            "times": ["10:00", "22:00"],
            "checks": [
                {
                    "label_zh": "机柜进风温度",
                    "label_en": "Rack inlet",
                    "devices": {"profile": "rack_sensor"},
                    "metric": "inlet_c",
                    "below": 18,
                    "above": 27,
                    "unit": "°C",
                },
                {
                    "label_zh": "空调运行",
                    "label_en": "CRAH running",
                    "devices": {"profile": "crah"},
                    "metric": "fan_running",
                    "below": 1,
                },
            ],
        },
    )
    rounds = RoundService(registry, store, monitor)

    _run(hall, store, monitor, clock, ids, minutes=40, step_s=30)
    assert not _open(registry, "rack_sensor.inlet_high"), "a healthy hall raises no inlet alarm"
    calm = rounds.run(plan.id, at_ms=clock.now)
    assert calm is not None and calm.failed == 0

    hall.inject(Fault("crah_trip", crahs[1]))
    _run(hall, store, monitor, clock, ids, minutes=20, step_s=30)
    assert _open(registry, "crah.fan_stopped") == {ids[crahs[1]]}
    hot = _open(registry, "rack_sensor.inlet_high")
    assert hot, "racks near the tripped CRAH pass 27 °C"
    positions = hall.positions()
    tripped = np.array(positions[crahs[1]])
    distance = {ids[r]: float(np.hypot(*(np.array(positions[r]) - tripped))) for r in racks}
    median = float(np.median(list(distance.values())))
    assert all(distance[d] < median for d in hot), "only racks near the unit alarm"

    failing = rounds.run(plan.id, at_ms=clock.now)
    assert failing is not None
    outcomes = {(r["device_name"], r["outcome"]) for r in failing.results}
    assert (crahs[1], CheckOutcome.failed.value) in outcomes
    # The round reads the latest values: a rack inside the alarm's deadband passes it.
    failed_racks = {r["device_id"] for r in failing.results if r["outcome"] == "fail"} - {
        ids[crahs[1]]
    }
    assert failed_racks and failed_racks <= hot

    hall.clear("crah_trip")
    _run(hall, store, monitor, clock, ids, minutes=40, step_s=30)
    assert not _open(registry, "rack_sensor.inlet_high"), "the alarms clear after the repair"
    assert not _open(registry, "crah.fan_stopped")


def test_fill_fouling_raises_the_approach_alarm(
    site: tuple[Registry, DuckDBTelemetryStore],
) -> None:
    registry, store = site
    towers = [f"甲站冷却塔 {i:02d}" for i in range(1, 4)]
    enterprise = registry.list_enterprises()[0].id
    ids = _devices(registry, enterprise, dict.fromkeys(towers, "cooling_tower"))
    plant = CoolingTowerSite(towers, np.random.default_rng(5), Weather(np.random.default_rng(6)))
    clock = SimClock()
    monitor = Monitor(registry, store, clock=clock)
    store.add_listener(monitor.on_batch)

    _run(plant, store, monitor, clock, ids, minutes=24 * 60, step_s=600)
    assert not _open(registry, "cooling_tower.approach_high"), "a clean fill stays in band"

    plant.inject(Fault("fill_fouling", towers[1], severity=1.0))
    _run(plant, store, monitor, clock, ids, minutes=3 * 24 * 60, step_s=600)
    assert _open(registry, "cooling_tower.approach_high") == {ids[towers[1]]}
    alarm = next(
        a for a in registry.list_alarms(None) if a.rule_ref == "cooling_tower.approach_high"
    )
    assert alarm.value is not None and alarm.value > 8
    assert "逼近度" in alarm.detail["rule_zh"]
