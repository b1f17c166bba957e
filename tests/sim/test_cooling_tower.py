from __future__ import annotations

import numpy as np
import pytest

from shugu.domain.profiles import get_profile
from shugu.sim.cooling_tower import (
    CoolingTowerSite,
    TowerParams,
    balance_from_readings,
    tower_balance,
)
from shugu.sim.model import Fault, Readings
from shugu.sim.weather import Weather

#: 2025-06-15 00:00 China time: a summer day starting at local midnight.
MIDNIGHT_MS = 1_749_916_800_000
TOWERS = ["ct-1", "ct-2", "ct-3"]


def site(seed: int = 11) -> CoolingTowerSite:
    rng = np.random.default_rng(seed)
    return CoolingTowerSite(TOWERS, rng, Weather(np.random.default_rng(seed + 1000)))


def run(plant: CoolingTowerSite, hours: float, dt_s: float = 600.0) -> list[Readings]:
    steps = round(hours * 3600 / dt_s)
    return [plant.step(MIDNIGHT_MS + int((k + 1) * dt_s * 1000), dt_s) for k in range(steps)]


def test_balance_matches_the_worked_example() -> None:
    b = tower_balance(37.0, 27.0, 21.0, 1000.0, coc=4.0, drift_pct=0.02)
    assert b.range_k == pytest.approx(10.0)
    assert b.approach_k == pytest.approx(6.0)
    assert b.effectiveness == pytest.approx(0.625)
    assert b.heat_rejected_kw == pytest.approx(11_628, abs=1)
    assert b.evaporation_m3h == pytest.approx(15.3)
    assert b.blowdown_m3h == pytest.approx(5.1)
    assert b.drift_m3h == pytest.approx(0.2)
    assert b.makeup_m3h == pytest.approx(20.6)

    reading = {
        "hot_water_c": 37.0,
        "cold_water_c": 27.0,
        "wet_bulb_c": 21.0,
        "flow_m3h": 1000.0,
        "circ_conductivity_us_cm": 1600.0,
        "makeup_conductivity_us_cm": 400.0,
    }
    assert balance_from_readings(reading) == b
    with pytest.raises(ValueError, match="exceed 1"):
        tower_balance(37.0, 27.0, 21.0, 1000.0, coc=1.0)


def test_a_day_keeps_range_approach_and_water_balance_plausible() -> None:
    p = TowerParams()
    readings = run(site(), 24, dt_s=60.0)
    ranges: list[float] = []
    fans: list[float] = []
    for snapshot in readings[10:]:  # after the loop has settled from its start
        for r in snapshot.values():
            b = balance_from_readings(r, p.drift_pct)
            ranges.append(b.range_k)
            fans.append(r["fan_speed_pct"])
            assert 4.0 < b.range_k < 11.0
            assert 0.3 < b.approach_k < 15.0
            assert 0.3 < b.effectiveness < 0.95
            assert b.coc == pytest.approx(p.coc_target, abs=0.3)
            assert b.makeup_m3h == pytest.approx(b.evaporation_m3h + b.blowdown_m3h + b.drift_m3h)
            # Evaporation is about 0.15 % of flow per kelvin of range.
            assert b.evaporation_m3h / r["flow_m3h"] == pytest.approx(0.00153 * b.range_k)
            # Held at the set point whenever the fan has room to act.
            if 35.0 < r["fan_speed_pct"] < 95.0:
                assert r["cold_water_c"] == pytest.approx(p.cold_water_setpoint_c, abs=0.6)
            assert r["fan_power_kw"] == pytest.approx(
                p.fan_rated_kw * (r["fan_speed_pct"] / 100) ** 3, rel=0.15
            )
            assert 1.0 < r["vibration_mm_s"] < 3.5
    # The range follows the process through the day.
    assert max(ranges) - min(ranges) > 2.5
    assert min(fans) >= p.fan_min_pct - 1 and max(fans) <= 100.0


def test_every_reading_is_plausible_for_the_profile() -> None:
    profile = get_profile("cooling_tower")
    plant = site(4)
    plant.inject(Fault("fan_bearing_wear", "ct-2"))
    plant.inject(Fault("blowdown_stuck", "ct-3"))
    plant.inject(Fault("fill_fouling", "ct-1"))
    assert [d.profile for d in plant.devices()] == ["cooling_tower"] * 3
    for snapshot in run(plant, 72, dt_s=900.0):
        for r in snapshot.values():
            assert set(r) == set(profile.metrics)
            for metric, value in r.items():
                assert profile.metrics[metric].is_plausible(value), (metric, value)


def test_same_seed_same_readings() -> None:
    a, b = site(5), site(5)
    for plant in (a, b):
        plant.inject(Fault("fill_fouling", "ct-2", 0.5))
    assert run(a, 6) == run(b, 6)
    assert run(site(6), 1)[-1] != run(site(5), 1)[-1]


def approach(r: dict[str, float]) -> float:
    return r["cold_water_c"] - r["wet_bulb_c"]


def test_fill_fouling_creeps_the_approach_up() -> None:
    clean, fouled = site(), site()
    fouled.inject(Fault("fill_fouling", "ct-1", severity=1.0))
    healthy, faulty = run(clean, 48), run(fouled, 48)
    # Same seed, same weather: the fault is the only difference, so compare step by step.
    gap = [approach(f["ct-1"]) - approach(h["ct-1"]) for h, f in zip(healthy, faulty, strict=True)]
    assert abs(gap[0]) < 0.1
    assert np.mean(gap[-36:]) > 2.0
    assert np.mean(gap[-36:]) > np.mean(gap[144:180])  # still creeping on day two
    # The fan works harder before the approach gives way.
    assert faulty[-1]["ct-1"]["fan_speed_pct"] > healthy[-1]["ct-1"]["fan_speed_pct"]
    assert abs(approach(faulty[-1]["ct-2"]) - approach(healthy[-1]["ct-2"])) < 1e-9

    fouled.clear("fill_fouling")
    after = run(fouled, 2)[-1]["ct-1"]
    assert approach(after) < approach(faulty[-1]["ct-1"]) - 1.0


def test_bearing_wear_grows_vibration_and_oil_temperature() -> None:
    healthy_site, worn_site = site(), site()
    worn_site.inject(Fault("fan_bearing_wear", "ct-3", severity=1.0))
    healthy, worn = run(healthy_site, 48), run(worn_site, 48)
    gap = [
        w["ct-3"]["vibration_mm_s"] - h["ct-3"]["vibration_mm_s"]
        for h, w in zip(healthy, worn, strict=True)
    ]
    assert abs(gap[0]) < 0.1
    assert np.mean(gap[-36:]) > np.mean(gap[108:144]) > 0.5
    assert np.mean(gap[-36:]) > 2.5
    oil_gap = worn[-1]["ct-3"]["gearbox_oil_temp_c"] - healthy[-1]["ct-3"]["gearbox_oil_temp_c"]
    assert oil_gap > 5.0
    worn_site.clear("fan_bearing_wear")
    assert run(worn_site, 1)[-1]["ct-3"]["vibration_mm_s"] < 3.5


def coc(r: dict[str, float]) -> float:
    return r["circ_conductivity_us_cm"] / r["makeup_conductivity_us_cm"]


def test_stuck_blowdown_drives_the_cycles_up() -> None:
    plant = site()
    plant.inject(Fault("blowdown_stuck", "ct-2", severity=1.0))
    readings = run(plant, 48)
    cycles = [coc(r["ct-2"]) for r in readings]
    assert cycles[0] == pytest.approx(4.0, abs=0.2)
    assert np.mean(cycles[-6:]) > 5.0
    assert np.mean(cycles[-6:]) > np.mean(cycles[138:144]) > np.mean(cycles[:6])
    assert coc(readings[-1]["ct-1"]) == pytest.approx(4.0, abs=0.2)
    plant.clear("blowdown_stuck")
    recovered = [coc(r["ct-2"]) for r in run(plant, 24)]
    assert recovered[-1] < cycles[-1] - 0.5


def test_unknown_faults_and_bad_setups_are_refused() -> None:
    plant = site()
    with pytest.raises(ValueError, match="fill_fouling, fan_bearing_wear, blowdown_stuck"):
        plant.inject(Fault("lightning"))
    with pytest.raises(ValueError, match="no cooling tower"):
        plant.inject(Fault("fill_fouling", "ct-9"))
    with pytest.raises(ValueError, match="blowdown_stuck"):
        plant.clear("lightning")
    with pytest.raises(ValueError, match="one TowerParams per tower"):
        CoolingTowerSite(TOWERS, np.random.default_rng(0), params=[TowerParams()])
    with pytest.raises(ValueError, match="coc_target"):
        TowerParams(coc_target=1.0)
    # Towers of different sizes at one site.
    big = TowerParams(design_flow_m3h=4000.0, fan_rated_kw=132.0, holding_volume_m3=1500.0)
    mixed = CoolingTowerSite(
        ["small", "big"], np.random.default_rng(0), params=[TowerParams(), big]
    )
    r = run(mixed, 1)[-1]
    assert r["big"]["flow_m3h"] == pytest.approx(4 * r["small"]["flow_m3h"], rel=0.03)
