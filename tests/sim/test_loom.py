from __future__ import annotations

import numpy as np
import pytest

from shugu.domain.profiles import get_profile
from shugu.sim.loom import CAUSE_MECHANICAL, CAUSE_WARP, LoomParams, LoomShed
from shugu.sim.model import Fault, Readings

SHIFT_S = 8 * 3600
#: The weaving worked example of docs/domain.md: 180 ppm, 20/15/6 stops per 10⁵ picks,
#: 0.85/0.30/0.12 min.
WORKED_EXAMPLE = LoomParams(
    speed_rpm=180.0,
    speed_spread_rpm=0.0,
    warp_stops_per_1e5_picks=20.0,
    weft_stops_per_1e5_picks=15.0,
    mechanical_stops_per_1e5_picks=6.0,
    warp_repair_min=0.85,
    weft_repair_min=0.30,
    mechanical_repair_min=0.12,
    no_order_per_day=0.0,
    doffing_per_day=0.0,
)
DOMAIN_EFFICIENCY = 555.5 / (555.5 + 22.22)


def names(n: int) -> list[str]:
    return [f"loom-{i:04d}" for i in range(n)]


def run(shed: LoomShed, seconds: float, dt_s: float) -> list[Readings]:
    steps = round(seconds / dt_s)
    return [shed.step(int((k + 1) * dt_s * 1000), dt_s) for k in range(steps)]


@pytest.mark.parametrize("dt_s", [60.0, 600.0])
def test_shift_efficiency_matches_the_worked_example(dt_s: float) -> None:
    shed = LoomShed(names(200), np.random.default_rng(7), WORKED_EXAMPLE)
    last = run(shed, SHIFT_S, dt_s)[-1]
    # Running time as the readings tell it: picks inserted at the loom's speed.
    from_picks = np.mean([r["picks"] / (180.0 / 60.0) / SHIFT_S for r in last.values()])
    from_tally = np.mean([shed.tally(n).efficiency for n in last])
    assert from_picks == pytest.approx(DOMAIN_EFFICIENCY, abs=0.01)
    assert from_tally == pytest.approx(DOMAIN_EFFICIENCY, abs=0.01)


def test_worked_example_stop_mix_follows_the_configured_rates() -> None:
    shed = LoomShed(names(200), np.random.default_rng(8), WORKED_EXAMPLE)
    run(shed, SHIFT_S, 600.0)
    stops = np.zeros(6)
    picks = 0.0
    for name in names(200):
        tally = shed.tally(name)
        picks += tally.running_s * 3.0
        for cause, count in tally.stops.items():
            stops[cause] += count
    per_1e5 = stops[1:4] * 1e5 / picks
    assert per_1e5 == pytest.approx([20.0, 15.0, 6.0], rel=0.1)
    assert stops[4] == stops[5] == 0


def test_large_steps_stay_consistent() -> None:
    shed = LoomShed(names(50), np.random.default_rng(3), WORKED_EXAMPLE)
    readings = run(shed, 4 * 3600, 600.0)
    for name, r in readings[-1].items():
        tally = shed.tally(name)
        assert tally.running_s + tally.stopped_s == pytest.approx(4 * 3600)
        assert r["picks"] == pytest.approx(3.0 * tally.running_s, abs=1.0)
        assert r["fabric_m"] == pytest.approx(r["picks"] / 2500.0)
        p = WORKED_EXAMPLE
        expected_kwh = (tally.running_s * p.running_kw + tally.stopped_s * p.stopped_kw) / 3600
        assert r["energy_kwh"] == pytest.approx(expected_kwh)
        assert sum(tally.stops.values()) > 0


def test_counters_never_decrease_and_states_agree() -> None:
    shed = LoomShed(names(100), np.random.default_rng(1))
    before: dict[str, dict[str, float]] = {}
    for readings in run(shed, 3 * 3600, 10.0):
        for name, r in readings.items():
            if r["running"] == 1.0:
                assert r["stop_cause"] == 0.0
                assert 500 < r["speed_rpm"] < 700
                assert r["power_kw"] > 1.0
            else:
                assert r["stop_cause"] in (1.0, 2.0, 3.0, 4.0, 5.0)
                assert r["speed_rpm"] == 0.0
                assert r["power_kw"] < 1.0
            old = before.get(name)
            if old is not None:
                for counter in ("picks", "fabric_m", "energy_kwh"):
                    assert r[counter] >= old[counter]
            before[name] = r


def test_every_reading_is_plausible_for_the_loom_profile() -> None:
    profile = get_profile("loom")
    shed = LoomShed(names(40), np.random.default_rng(2))
    shed.inject(Fault("loom_down", "loom-0003"))
    seen_causes: set[float] = set()
    for readings in run(shed, 24 * 3600, 120.0):
        for r in readings.values():
            assert set(r) == set(profile.metrics)
            for metric, value in r.items():
                assert profile.metrics[metric].is_plausible(value), (metric, value)
            seen_causes.add(r["stop_cause"])
    assert {0.0, 1.0, 2.0, 3.0} <= seen_causes


def test_same_seed_same_readings() -> None:
    a = LoomShed(names(30), np.random.default_rng(42))
    b = LoomShed(names(30), np.random.default_rng(42))
    for shed in (a, b):
        shed.inject(Fault("warp_beam", "loom-0001", 0.5))
    assert run(a, 3600, 30.0) == run(b, 3600, 30.0)
    c = LoomShed(names(30), np.random.default_rng(43))
    d = LoomShed(names(30), np.random.default_rng(42))
    assert run(c, 600, 30.0) != run(d, 600, 30.0)


def test_bad_warp_beam_raises_warp_stops_until_cleared() -> None:
    shed = LoomShed(names(20), np.random.default_rng(5))
    shed.inject(Fault("warp_beam", "loom-0004", severity=1.0))
    run(shed, 8 * 3600, 60.0)
    bad = shed.tally("loom-0004")
    others = [shed.tally(n) for n in names(20) if n != "loom-0004"]
    # Stops per running hour, so the bad loom's extra downtime does not hide its rate.
    bad_rate = bad.stops[CAUSE_WARP] / bad.running_s
    good_rate = sum(t.stops[CAUSE_WARP] for t in others) / sum(t.running_s for t in others)
    assert bad_rate > 3.5 * good_rate
    assert bad.efficiency < np.median([t.efficiency for t in others]) - 0.1

    shed.clear("warp_beam")
    before = shed.tally("loom-0004")
    run(shed, 8 * 3600, 60.0)
    after = shed.tally("loom-0004")
    repaired_rate = (after.stops[CAUSE_WARP] - before.stops[CAUSE_WARP]) / (
        after.running_s - before.running_s
    )
    assert repaired_rate < 2.0 * good_rate


def test_loom_down_stands_until_repaired() -> None:
    shed = LoomShed(names(3), np.random.default_rng(9))
    shed.inject(Fault("loom_down", "loom-0001"))
    for readings in run(shed, 3600, 60.0):
        assert readings["loom-0001"]["running"] == 0.0
        assert readings["loom-0001"]["stop_cause"] == CAUSE_MECHANICAL
    picks = readings["loom-0001"]["picks"]
    shed.clear("loom_down")
    after = shed.step(3_660_000, 60.0)["loom-0001"]
    assert after["picks"] > picks


def test_unknown_faults_and_targets_are_refused() -> None:
    shed = LoomShed(names(2), np.random.default_rng(0))
    with pytest.raises(ValueError, match="warp_beam, loom_down"):
        shed.inject(Fault("fire"))
    with pytest.raises(ValueError, match="no loom"):
        shed.inject(Fault("warp_beam", "loom-9999"))
    with pytest.raises(ValueError, match="severity"):
        shed.inject(Fault("warp_beam", "loom-0000", severity=2.0))
    with pytest.raises(ValueError, match="warp_beam"):
        shed.clear("fire")
    with pytest.raises(ValueError):
        LoomShed(["a", "a"], np.random.default_rng(0))
    with pytest.raises(ValueError):
        LoomParams(speed_rpm=-1.0)
    assert [d.profile for d in shed.devices()] == ["loom", "loom"]
