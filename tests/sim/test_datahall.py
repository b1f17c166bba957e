"""The data hall's physics: the ASHRAE envelope in normal operation, realistic ΔTs, a CRAH trip
warming the racks it served, a degraded chiller, recovery, and determinism."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from shugu.domain.profiles import get_profile
from shugu.sim.datahall import CrahParams, DataHall, DataHallParams, RackParams, cooled_by
from shugu.sim.model import Fault, Readings

T0 = 1_700_000_000_000  # 2023-11-15 06:13 China time
CRAHS = [f"crah-{j:02d}" for j in range(1, 9)]
SUPPLY = CrahParams().supply_setpoint_c
RACKS = [f"rack-{i:03d}" for i in range(1, 201)]
#: Without noise, so that runs with different step lengths can be compared value for value.
QUIET = replace(
    DataHallParams(),
    rack=replace(RackParams(), noise=0.0, daily_swing=0.0),
    dew_point_wander_k=0.0,
    sensor_noise_c=0.0,
    sensor_noise_rh=0.0,
    sensor_noise_pa=0.0,
)


def make_hall(seed: int = 7, params: DataHallParams | None = None) -> DataHall:
    return DataHall(CRAHS, RACKS, np.random.default_rng(seed), params)


def run(hall: DataHall, start_ms: int, seconds: float, dt_s: float) -> tuple[int, Readings]:
    """Step ``seconds`` forward from ``start_ms``; the end time and the last readings."""
    t, readings = start_ms, {}
    for _ in range(round(seconds / dt_s)):
        t += round(dt_s * 1000)
        readings = hall.step(t, dt_s)
    return t, readings


def inlets(hall: DataHall, readings: Readings) -> np.ndarray:
    return np.array([readings[name]["inlet_c"] for name in hall.rack_names])


def near_and_far(hall: DataHall, crah: str) -> tuple[np.ndarray, np.ndarray]:
    """The 10 racks nearest the CRAH, and the half of the hall farthest from it."""
    distance = np.linalg.norm(hall.rack_xy - hall.crah_xy[hall.crah_names.index(crah)], axis=1)
    order = np.argsort(distance)
    return order[:10], order[len(order) // 2 :]


def test_devices_and_profiles() -> None:
    hall = make_hall()
    devices = hall.devices()
    assert [d.name for d in devices] == CRAHS + RACKS
    assert {d.profile for d in devices} == {"crah", "rack_sensor"}
    readings = hall.step(T0, 10.0)
    for device in devices:
        assert set(readings[device.name]) == set(get_profile(device.profile).metrics)
    assert set(hall.positions()) == set(CRAHS + RACKS)


def test_a_day_of_normal_operation_keeps_racks_in_the_recommended_envelope() -> None:
    hall = make_hall()
    crah, rack = get_profile("crah").metrics, get_profile("rack_sensor").metrics
    t = T0
    for _ in range(24 * 12):
        t += 300_000
        readings = hall.step(t, 300.0)
        temps = inlets(hall, readings)
        # ASHRAE TC 9.9 recommended inlet envelope (docs/domain.md).
        assert temps.min() >= 18.0 and temps.max() <= 27.0
        for name in CRAHS:
            assert all(crah[m].is_plausible(v) for m, v in readings[name].items()), readings[name]
            assert readings[name]["fan_running"] == 1.0
            assert 8.0 <= readings[name]["supply_air_pressure_pa"] <= 12.0
        for name in RACKS:
            assert all(rack[m].is_plausible(v) for m, v in readings[name].items()), readings[name]
            assert readings[name]["inlet_rh_pct"] <= 70.0
    assert hall.cooling_share().min() > 0.95


def test_air_and_chilled_water_delta_t_are_in_realistic_bands() -> None:
    hall = make_hall()
    _, readings = run(hall, T0, 3600, 60.0)
    for name in CRAHS:
        r = readings[name]
        assert SUPPLY - 0.5 <= r["supply_air_c"] <= SUPPLY + 0.5
        assert 8.0 <= r["return_air_c"] - r["supply_air_c"] <= 14.0
        assert 6.5 <= r["chw_supply_c"] <= 7.8
        assert 4.5 <= r["chw_return_c"] - r["chw_supply_c"] <= 7.0
    # Cooling plant electrical power for a chilled-water hall: PUE well above 1, below 1.6.
    assert 1.1 < hall.total_power_kw() / hall.it_power_kw() < 1.6


def test_a_crah_trip_warms_the_racks_it_served_far_more_than_distant_ones() -> None:
    hall = make_hall()
    t, before = run(hall, T0, 1800, 10.0)
    near, far = near_and_far(hall, "crah-02")
    hall.inject(Fault("crah_trip", "crah-02"))
    t, after = run(hall, t, 900, 10.0)

    rise = inlets(hall, after) - inlets(hall, before)
    assert rise[near].mean() >= 3.0
    assert rise[far].mean() < 0.5
    assert rise[near].mean() > 5 * max(rise[far].mean(), 0.1)

    tripped, neighbour = after["crah-02"], after["crah-01"]
    assert [name for name in CRAHS if after[name]["fan_running"] == 0.0] == ["crah-02"]
    # A stopped unit's supply air floats towards the room; the running ones hold the set point.
    assert tripped["supply_air_c"] > before["crah-02"]["supply_air_c"] + 5.0
    assert abs(neighbour["supply_air_c"] - SUPPLY) < 0.5
    assert tripped["supply_air_pressure_pa"] < before["crah-02"]["supply_air_pressure_pa"] - 1.5


@pytest.mark.parametrize(("crahs", "racks"), [(8, 200), (2, 50)])
def test_each_rack_names_the_crahs_whose_trip_warms_it(crahs: int, racks: int) -> None:
    """``cooled_by`` (the racks' attribute that groups a trip's alarms under the unit): a rack a
    trip warms by more than a kelvin names the tripped unit; one that does not name it stays
    within half a kelvin. The district's hall (8 units) and the demo's at scale 0.25 (2)."""
    crah_names, rack_names = CRAHS[:crahs], RACKS[:racks]
    links = cooled_by(crah_names, rack_names)
    assert set(links) == set(rack_names)
    assert all(1 <= len(n) <= crahs and set(n) <= set(crah_names) for n in links.values())
    for tripped in crah_names[:2]:
        hall = DataHall(crah_names, rack_names, np.random.default_rng(7), QUIET)
        t, before = run(hall, T0, 600, 60.0)
        hall.inject(Fault("crah_trip", tripped))
        _, after = run(hall, t, 1800, 60.0)
        rise = dict(zip(rack_names, inlets(hall, after) - inlets(hall, before), strict=True))
        warmed = {rack for rack, r in rise.items() if r > 1.0}
        assert warmed, tripped
        assert {rack for rack in warmed if tripped not in links[rack]} == set()
        assert max(r for rack, r in rise.items() if tripped not in links[rack]) < 0.5
    # Not every rack is everyone's: a unit cools its part of the hall.
    assert sum(len(names) for names in links.values()) < racks * max(2, crahs // 2)
    # Each rack sensor reports it about itself, as a client attribute.
    reported = DataHall(crah_names, rack_names, np.random.default_rng(1)).attributes()
    assert reported == {rack: {"cooled_by": names} for rack, names in links.items()}


def test_a_trip_warms_racks_over_minutes_not_at_once() -> None:
    hall = make_hall()
    t, before = run(hall, T0, 600, 10.0)
    near, _ = near_and_far(hall, "crah-05")
    hall.inject(Fault("crah_trip", "crah-05"))
    t, after_1min = run(hall, t, 60, 10.0)
    _, after_15min = run(hall, t, 840, 10.0)
    early = (inlets(hall, after_1min) - inlets(hall, before))[near].mean()
    late = (inlets(hall, after_15min) - inlets(hall, before))[near].mean()
    assert 0.0 < early < 0.5 * late


def test_the_underfloor_pressure_dips_hall_wide_while_the_other_fans_ramp_up() -> None:
    hall = make_hall(params=QUIET)
    t, _ = run(hall, T0, 600, 5.0)
    hall.inject(Fault("crah_trip", "crah-01"))
    t, dip = run(hall, t, 15, 5.0)
    _, later = run(hall, t, 600, 5.0)
    # The far unit's pressure dips while the tripped fan coasts down faster than the pressure
    # loop ramps the others up, then recovers into the usual band.
    far = "crah-08"
    assert dip[far]["supply_air_pressure_pa"] < 9.5
    assert 10.0 < later[far]["supply_air_pressure_pa"] <= 12.0


def test_clearing_a_trip_recovers() -> None:
    hall = make_hall(params=QUIET)
    t, before = run(hall, T0, 1800, 10.0)
    hall.inject(Fault("crah_trip", "crah-03"))
    t, _ = run(hall, t, 1800, 10.0)
    hall.clear("crah_trip")
    _, after = run(hall, t, 1800, 10.0)
    assert all(after[name]["fan_running"] == 1.0 for name in CRAHS)
    assert np.abs(inlets(hall, after) - inlets(hall, before)).max() < 0.3
    assert abs(after["crah-03"]["supply_air_c"] - before["crah-03"]["supply_air_c"]) < 0.3


def test_trip_without_target_picks_a_running_unit() -> None:
    hall = make_hall()
    hall.step(T0, 10.0)
    for _ in CRAHS:
        hall.inject(Fault("crah_trip"))
    readings = hall.step(T0 + 10_000, 10.0)
    assert all(readings[name]["fan_running"] == 0.0 for name in CRAHS)
    with pytest.raises(ValueError, match="already tripped"):
        hall.inject(Fault("crah_trip"))


def test_a_degraded_chiller_warms_chilled_water_and_supply_air_then_recovers() -> None:
    hall = make_hall()
    t, before = run(hall, T0, 600, 30.0)
    hall.inject(Fault("chiller_degraded", severity=1.0))
    t, during = run(hall, t, 3600, 30.0)
    for name in CRAHS:
        assert during[name]["chw_supply_c"] > before[name]["chw_supply_c"] + 5.0
        assert during[name]["supply_air_c"] > before[name]["supply_air_c"] + 3.0
    assert inlets(hall, during).mean() > inlets(hall, before).mean() + 3.0
    hall.clear("chiller_degraded")
    _, after = run(hall, t, 3 * 3600, 30.0)
    for name in CRAHS:
        assert after[name]["chw_supply_c"] < 7.8
        assert after[name]["supply_air_c"] < SUPPLY + 0.5
    assert inlets(hall, after).max() <= 27.0


def test_every_step_length_integrates_to_the_same_hall() -> None:
    """Exponential relaxation is exact for a constant target: fine steps agree closely, and
    coarse steps land on the same equilibrium."""

    def trip(dt: float, minutes: float) -> np.ndarray:
        hall = make_hall(params=QUIET)
        t, _ = run(hall, T0, 600, 600.0)
        hall.inject(Fault("crah_trip", "crah-04"))
        _, readings = run(hall, t, minutes * 60, dt)
        return inlets(hall, readings)

    fine = trip(1.0, 15)
    assert np.abs(trip(10.0, 15) - fine).max() < 0.05
    assert np.abs(trip(60.0, 15) - fine).max() < 0.3
    settled = trip(10.0, 120)
    for dt in (60.0, 600.0, 1800.0):
        assert np.abs(trip(dt, 120) - settled).max() < 0.05


def test_losing_most_cooling_heats_until_servers_throttle_whatever_the_step() -> None:
    crah, rack = get_profile("crah").metrics, get_profile("rack_sensor").metrics
    finals = []
    for dt in (10.0, 3600.0):
        hall = make_hall(params=QUIET)
        t, _ = run(hall, T0, 600, 600.0)
        for name in CRAHS[:7]:
            hall.inject(Fault("crah_trip", name))
        _, readings = run(hall, t, 7200, dt)
        temps = inlets(hall, readings)
        # Servers throttle as their inlet nears 45 °C, which bounds the heat and the temperatures.
        assert 40.0 < temps.max() < 47.0
        assert hall.it_power_kw() < 0.5 * 800
        # The one unit left holds on at capacity; the stopped ones read the hot room around them
        # (their supply air may then exceed what the profile expects of a supply sensor).
        running = readings["crah-08"]
        assert all(crah[m].is_plausible(v) for m, v in running.items()), running
        assert running["supply_air_c"] > 20.0
        for name in RACKS:
            assert all(rack[m].is_plausible(v) for m, v in readings[name].items()), readings[name]
        finals.append(temps)
    assert np.abs(finals[0] - finals[1]).max() < 0.5


def test_the_same_seed_gives_the_same_readings() -> None:
    a, b, c = make_hall(seed=11), make_hall(seed=11), make_hall(seed=12)
    for k in range(1, 31):
        t = T0 + k * 10_000
        if k == 10:
            for hall in (a, b, c):
                hall.inject(Fault("crah_trip"))
        ra, rb, rc = a.step(t, 10.0), b.step(t, 10.0), c.step(t, 10.0)
        assert ra == rb
    assert ra != rc


def test_faults_and_names_are_checked() -> None:
    hall = make_hall()
    with pytest.raises(ValueError, match="crah_trip, chiller_degraded"):
        hall.inject(Fault("fan_fire"))
    with pytest.raises(ValueError, match="crah_trip, chiller_degraded"):
        hall.clear("fan_fire")
    with pytest.raises(ValueError, match="no CRAH named 'crah-99'"):
        hall.inject(Fault("crah_trip", "crah-99"))
    with pytest.raises(ValueError, match="different names"):
        DataHall(["a", "b"], ["b", "c"], np.random.default_rng(0))
    with pytest.raises(ValueError, match="different names"):
        DataHall([], ["r1"], np.random.default_rng(0))
    # 200 racks of about 4 kW need six CRAHs of 150 kW; fewer would only melt down.
    with pytest.raises(ValueError, match=r"4 CRAHs cannot cool \d+ kW of IT; the hall needs 6"):
        DataHall(CRAHS[:4], RACKS, np.random.default_rng(7))
