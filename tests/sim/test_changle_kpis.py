"""The Changle district gives figures worth computing: mills that differ in looms and calendars,
looms and meters that say what they are, a bad warp beam that costs its loom efficiency, a
fouling tower that needs more fan energy and then loses approach, and a data hall whose two
meters give a PUE that follows the weather. All from the simulator's own readings, no server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shugu.sim.build import build_plants
from shugu.sim.datahall import DataHall
from shugu.sim.district import DistrictSpec, expand_enterprises, load_district
from shugu.sim.power import MeteredPlant
from shugu.sim.provision import SimEnterprise, layout
from shugu.sim.runner import Simulation

CHANGLE = Path(__file__).resolve().parents[2] / "districts" / "changle.yaml"
T0 = 1_750_000_000_000  # 2025-06-15 23:06 China time, a Sunday
MILL, TOWERS, DATA_CENTRE = (
    "长乐01号织造有限公司",
    "长乐冷塔运维服务有限公司",
    "福州滨海云数据中心有限公司",
)


def enterprise(district: DistrictSpec, name: str, scale: float) -> SimEnterprise:
    serial = 0
    for park in district.parks:
        copies = expand_enterprises(park, district.region.code, serial)
        serial += len(copies)
        for spec in copies:
            if spec.name == name:
                return SimEnterprise(serial, spec, layout(spec, scale))
    raise AssertionError(name)


def simulation(name: str, scale: float = 0.25, faults: bool = True) -> Simulation:
    district = load_district(CHANGLE)
    if not faults:
        district = district.model_copy(update={"faults": []})
    return Simulation(district, build_plants(district, [enterprise(district, name, scale)]), T0)


def test_the_forty_mills_differ_in_their_looms_and_calendars() -> None:
    district = load_district(CHANGLE)
    mills = [
        m
        for m in expand_enterprises(district.parks[0], district.region.code, 0)
        if m.name.startswith("长乐")
    ]
    plates = [mill.plants[0].looms for mill in mills]
    assert all(len(p) == 1 for p in plates)
    assert {p[0].loom_type for p in plates} == {"air_jet", "rapier", "water_jet"}
    assert len({p[0].width_cm for p in plates}) >= 4
    assert len({(p[0].loom_type, p[0].width_cm) for p in plates}) >= 6
    # The mill of the demo's accounts and faults runs air-jet looms near 600 rpm, as before.
    first = mills[0].plants[0]
    assert (first.looms[0].loom_type, first.looms[0].width_cm) == ("air_jet", 190)
    assert first.loom_params().speed_rpm == pytest.approx(598.0)
    weekly = []
    for mill in mills:
        calendar = mill.shift_calendar()
        assert calendar is not None
        weekly.append(calendar.planned_hours_per_week())
    assert weekly.count(168.0) == 30 and weekly.count(144.0) == 10
    assert weekly[0] == 168.0
    # The same file gives the same district.
    again = expand_enterprises(load_district(CHANGLE).parks[0], district.region.code, 0)
    assert [m.plants[0].looms for m in again if m.name.startswith("长乐")] == plates


def test_looms_and_meters_say_what_they_are() -> None:
    mill = simulation(MILL)
    readings = {n: v for _, r in mill.step(T0 + 60_000, 60.0) for n, v in r.items()}
    (attributes,) = mill.attributes().values()
    looms = mill.plants[0].layout.devices
    assert set(attributes) == {*looms, "织造车间电表"}
    assert attributes["织造车间电表"] == {"meter_role": "line"}
    for name in looms:
        assert attributes[name] == {
            "loom_type": "air_jet",
            "width_cm": 190,
            "rated_speed_rpm": 650.0,
        }
        if readings[name]["running"]:
            # A little below the nameplate, as mills run them.
            assert 0.85 * 650 < readings[name]["speed_rpm"] < 650
    rapier_mill = simulation("长乐03号织造有限公司")
    (rapier,) = rapier_mill.attributes().values()
    assert rapier["织机 001"] == {"loom_type": "rapier", "width_cm": 230, "rated_speed_rpm": 500.0}

    hall = simulation(DATA_CENTRE)
    (reported,) = hall.attributes().values()
    meters = {name: values for name, values in reported.items() if "meter_role" in values}
    assert meters == {"机房总表": {"meter_role": "facility"}, "IT负载总表": {"meter_role": "it"}}
    # Each rack names the CRAHs that cool it (tests/sim/test_datahall.py).
    assert set(reported) - set(meters) == set(hall.plants[0].layout.devices)


def test_the_bad_warp_beam_costs_loom_007_its_efficiency_over_a_day() -> None:
    """Efficiency as shugu would compute it from the readings: the running state held from one
    reading to the next, and the picks counter against the loom's own running speed."""
    sim = simulation(MILL)
    looms = sim.plants[0].layout.devices
    step_s, fault_s = 30.0, 5 * 60.0  # the warp beam goes bad five minutes in
    running = dict.fromkeys(looms, 0.0)
    speeds: dict[str, list[float]] = {n: [] for n in looms}
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    state = dict.fromkeys(looms, 1.0)
    steps = int((fault_s + 24 * 3600) / step_s)
    for k in range(1, steps + 1):
        t = T0 + int(k * step_s * 1000)
        ((_, readings),) = sim.step(t, step_s)
        for name in looms:
            values = readings[name]
            if k * step_s > fault_s:
                running[name] += state[name] * step_s
                if values["running"]:
                    speeds[name].append(values["speed_rpm"])
            elif k * step_s == fault_s:
                first[name] = values["picks"]
            state[name] = values["running"]
            last[name] = values["picks"]
    day_s = (steps * step_s) - fault_s
    by_state = {n: running[n] / day_s for n in looms}
    by_picks = {n: (last[n] - first[n]) / (np.mean(speeds[n]) / 60 * day_s) for n in looms}
    healthy = [n for n in looms if n != "织机 007"]
    for efficiency in (by_state, by_picks):
        assert np.median([efficiency[n] for n in healthy]) > 0.95
        assert 0.70 < efficiency["织机 007"] < min(efficiency[n] for n in healthy) - 0.08
    assert by_picks["织机 007"] == pytest.approx(by_state["织机 007"], abs=0.02)


def _tower_day(faults: bool) -> tuple[list[float], list[float], list[float]]:
    """Per 10-minute step over 30 hours: the fouling tower's approach, its fan kWh and the heat
    it rejected in MWh, as its readings say."""
    sim = simulation(TOWERS, scale=1.0, faults=faults)
    approach, fan_kwh, heat_mwh = [], [], []
    for k in range(1, 30 * 6 + 1):
        readings = {n: v for _, r in sim.step(T0 + k * 600_000, 600.0) for n, v in r.items()}
        tower = readings["甲站冷却塔 02"]
        approach.append(tower["cold_water_c"] - tower["wet_bulb_c"])
        fan_kwh.append(tower["fan_power_kw"] * 600 / 3600)
        range_k = tower["hot_water_c"] - tower["cold_water_c"]
        heat_mwh.append(tower["flow_m3h"] / 3.6 * 4.186 * range_k * 600 / 3600 / 1000)
    return approach, fan_kwh, heat_mwh


def test_fill_fouling_costs_fan_energy_first_then_approach() -> None:
    fouled_approach, fouled_fan, fouled_heat = _tower_day(faults=True)
    clean_approach, clean_fan, clean_heat = _tower_day(faults=False)
    # The fault starts with the first step; the approach has not moved yet.
    assert fouled_approach[0] == clean_approach[0]
    # Fouling creeps: at first the fan controller holds the set point by speeding up (power ∝
    # speed³), so the approach does not move yet while the fan energy does.
    early = slice(1, 6 * 6)
    assert np.max(np.abs(np.subtract(fouled_approach[early], clean_approach[early]))) < 0.05
    assert sum(fouled_fan[early]) > 1.2 * sum(clean_fan[early])
    # Over the day the fan needs far more energy per MWh rejected ...
    day = slice(1, None)
    fouled_rate = sum(fouled_fan[day]) / sum(fouled_heat[day])
    clean_rate = sum(clean_fan[day]) / sum(clean_heat[day])
    assert fouled_rate > 1.5 * clean_rate
    # ... and once the fan runs flat out, the approach gives way, by about 3 K in the warm, busy
    # afternoon; at night the fouled fill still holds the set point with the fan at full speed.
    gap = np.subtract(fouled_approach, clean_approach)
    assert gap.min() > -0.05
    hourly = gap[: len(gap) // 6 * 6].reshape(-1, 6).mean(axis=1)
    assert hourly.max() > 2.0
    assert gap[day].mean() > 0.5


def test_the_data_halls_meters_give_a_pue_that_follows_the_wet_bulb() -> None:
    sim = simulation(DATA_CENTRE, scale=1.0)
    facility_plant = sim.plants[0].plant
    assert isinstance(facility_plant, MeteredPlant) and isinstance(
        facility_plant.inner, MeteredPlant
    )
    hall = facility_plant.inner.inner
    assert isinstance(hall, DataHall)
    hourly_pue, hourly_wet_bulb, wet_bulbs = [], [], []
    start = previous = None
    for k in range(1, 24 * 12 + 1):
        ((_, readings),) = sim.step(T0 + k * 300_000, 300.0)
        energy = (readings["机房总表"]["energy_kwh"], readings["IT负载总表"]["energy_kwh"])
        wet_bulbs.append(hall.wet_bulb_c())
        if start is None:
            start = previous = energy
        elif k % 12 == 0:
            assert previous is not None
            hourly_pue.append((energy[0] - previous[0]) / (energy[1] - previous[1]))
            hourly_wet_bulb.append(float(np.mean(wet_bulbs[-12:])))
            previous = energy
    assert start is not None
    pue = (energy[0] - start[0]) / (energy[1] - start[1])
    assert 1.3 < pue < 1.5
    assert all(1.3 < p < 1.5 for p in hourly_pue)
    assert max(hourly_pue) - min(hourly_pue) > 0.01
    # A warmer, more humid hour makes the chiller plant work harder.
    assert np.corrcoef(hourly_pue, hourly_wet_bulb)[0, 1] > 0.8
