"""Power meters: the energy counter against the power it reports, three-phase consistency,
plausibility, and a metered plant passing its inner plant through."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from shugu.domain.profiles import get_profile
from shugu.sim.datahall import DataHall
from shugu.sim.model import Fault, Readings, SimDevice
from shugu.sim.power import MeteredPlant, PowerMeter, PowerMeterParams

T0 = 1_700_000_000_000


class TwoMotors:
    """A minimal plant: two devices reporting ``power_kw``, and one fault that doubles it."""

    def __init__(self) -> None:
        self.faults: list[str] = []

    def devices(self) -> list[SimDevice]:
        return [SimDevice("m1", "generic"), SimDevice("m2", "generic")]

    def step(self, t_ms: int, dt_s: float) -> Readings:
        factor = 2.0 if "overload" in self.faults else 1.0
        return {"m1": {"power_kw": 3.0 * factor, "speed_rpm": 900.0}, "m2": {"power_kw": 5.0}}

    def inject(self, fault: Fault) -> None:
        if fault.kind != "overload":
            raise ValueError(f"unknown fault kind {fault.kind!r}; this plant knows overload")
        self.faults.append(fault.kind)

    def clear(self, kind: str) -> None:
        self.faults.remove(kind)


def test_energy_counter_is_the_integral_of_reported_power_for_varying_steps() -> None:
    rng = np.random.default_rng(5)
    meter = PowerMeter(np.random.default_rng(1), PowerMeterParams(initial_energy_kwh=1234.5))
    integral = 1234.5
    for dt in rng.uniform(0.1, 900.0, 500):
        load = float(rng.uniform(0.0, 800.0))
        reading = meter.read(load, float(dt))
        integral += reading["active_power_kw"] * dt / 3600.0
        assert reading["energy_kwh"] == pytest.approx(integral, rel=1e-12)
    assert meter.energy_kwh == pytest.approx(integral, rel=1e-12)


def test_a_steady_load_accumulates_the_same_energy_whatever_the_step() -> None:
    params = PowerMeterParams(power_noise=0.0)
    totals = []
    for dt in (1.0, 7.5, 60.0, 3600.0):
        meter = PowerMeter(np.random.default_rng(2), params)
        for _ in range(round(3600 / dt)):
            reading = meter.read(120.0, dt)
        totals.append(reading["energy_kwh"])
    assert totals == pytest.approx([120.0] * 4, rel=1e-12)


def test_energy_never_runs_backwards_when_power_is_fed_back() -> None:
    meter = PowerMeter(np.random.default_rng(3))
    first = meter.read(50.0, 60.0)["energy_kwh"]
    fed_back = meter.read(-30.0, 60.0)
    assert fed_back["active_power_kw"] < 0
    assert fed_back["energy_kwh"] == first
    assert fed_back["current_a"] > 0


def test_current_follows_three_phase_power_and_readings_are_plausible() -> None:
    profile = get_profile("power_meter").metrics
    meter = PowerMeter(np.random.default_rng(4), PowerMeterParams(base_load_kw=20.0))
    rng = np.random.default_rng(6)
    for _ in range(2000):
        r = meter.read(float(rng.uniform(0.0, 600.0)), 60.0)
        assert set(r) == set(profile)
        assert all(profile[m].is_plausible(v) for m, v in r.items()), r
        p_kw, u, i, pf = r["active_power_kw"], r["voltage_v"], r["current_a"], r["power_factor"]
        assert p_kw * 1000.0 == pytest.approx(math.sqrt(3) * u * i * pf, rel=1e-12)
        assert 396.0 <= u <= 404.0
        assert 0.90 <= pf <= 0.95
        assert p_kw >= 20.0 * 0.95


def test_meters_are_deterministic() -> None:
    a, b = PowerMeter(np.random.default_rng(9)), PowerMeter(np.random.default_rng(9))
    for k in range(50):
        assert a.read(10.0 * k, 30.0) == b.read(10.0 * k, 30.0)


def test_metered_plant_passes_devices_readings_and_faults_through() -> None:
    inner = TwoMotors()
    plant = MeteredPlant(inner, "meter-1", np.random.default_rng(1))
    assert plant.devices() == [*inner.devices(), SimDevice("meter-1", "power_meter")]

    readings = plant.step(T0, 60.0)
    assert {k: v for k, v in readings.items() if k != "meter-1"} == inner.step(T0, 60.0)
    assert readings["meter-1"]["active_power_kw"] == pytest.approx(8.0, rel=0.03)

    plant.inject(Fault("overload"))
    assert inner.faults == ["overload"]
    assert plant.step(T0 + 60_000, 60.0)["meter-1"]["active_power_kw"] == pytest.approx(
        11.0, rel=0.03
    )
    plant.clear("overload")
    assert inner.faults == []
    with pytest.raises(ValueError, match="knows overload"):
        plant.inject(Fault("melted"))


def test_metered_plant_takes_a_metric_name_or_a_function() -> None:
    params = PowerMeterParams(base_load_kw=2.0, power_noise=0.0)
    by_name = MeteredPlant(TwoMotors(), "meter", np.random.default_rng(1), "power_kw", params)
    by_function = MeteredPlant(
        TwoMotors(), "meter", np.random.default_rng(1), lambda r: r["m2"]["power_kw"], params
    )
    assert by_name.step(T0, 10.0)["meter"]["active_power_kw"] == pytest.approx(10.0)
    assert by_function.step(T0, 10.0)["meter"]["active_power_kw"] == pytest.approx(7.0)


def test_metered_plant_rejects_a_meter_named_like_an_inner_device() -> None:
    with pytest.raises(ValueError, match="already has a device named 'm1'"):
        MeteredPlant(TwoMotors(), "m1", np.random.default_rng(1))


def test_a_metered_data_hall_sees_its_it_load_plus_cooling() -> None:
    hall = DataHall(
        [f"crah-{j}" for j in range(1, 9)],
        [f"rack-{i:03d}" for i in range(1, 201)],
        np.random.default_rng(8),
    )
    params = replace(PowerMeterParams(), base_load_kw=15.0, power_noise=0.0)
    plant = MeteredPlant(hall, "hall-meter", np.random.default_rng(2), params=params)
    energy = 0.0
    for k in range(1, 61):
        readings = plant.step(T0 + k * 60_000, 60.0)
        meter = readings["hall-meter"]
        assert meter["active_power_kw"] == pytest.approx(hall.total_power_kw() + 15.0)
        energy += meter["active_power_kw"] / 60.0
        assert meter["energy_kwh"] == pytest.approx(energy)
    assert hall.total_power_kw() > hall.it_power_kw() > 500.0
    plant.inject(Fault("crah_trip", "crah-3"))
    assert plant.step(T0 + 61 * 60_000, 60.0)["crah-3"]["fan_running"] == 0.0
