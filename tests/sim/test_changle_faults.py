"""The Changle district's scheduled faults show in the data, where default rules can see them."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from shugu.domain.batch import Batch
from shugu.monitor.engine import DeviceInfo, RuleBinding, RuleEngine
from shugu.monitor.rules import RuleScope, default_rules
from shugu.sim.build import build_plants
from shugu.sim.district import DistrictSpec, expand_enterprises, load_district
from shugu.sim.loom import CAUSE_WARP
from shugu.sim.provision import SimEnterprise, layout
from shugu.sim.runner import Simulation

CHANGLE = Path(__file__).resolve().parents[2] / "districts" / "changle.yaml"
T0 = 1_800_000_000_000
STEP_S = 5.0
METRICS = {"stop_cause": 1}
TOWERS = "长乐冷塔运维服务有限公司"


def first_mill(district: DistrictSpec, scale: float = 0.25) -> Simulation:
    spec = expand_enterprises(district.parks[0], district.region.code, 0)[0]
    mill = SimEnterprise(1, spec, layout(spec, scale))
    return Simulation(district, build_plants(district, [mill]), T0)


def test_the_bad_warp_beam_on_loom_007_raises_its_warp_stops_alarm_alone() -> None:
    district = load_district(CHANGLE)
    sim = first_mill(district)
    looms = [d for d in sim.plants[0].layout.devices]
    ids = {name: i + 1 for i, name in enumerate(looms)}
    profile, rule = default_rules()["loom.warp_stops_high"]
    engine = RuleEngine(METRICS.get)
    engine.configure(
        [DeviceInfo(ids[n], 1, n, profile) for n in looms],
        [RuleBinding("loom.warp_stops_high", rule, RuleScope(profile=profile))],
        {},
    )
    raised: set[str] = set()
    warp_samples = dict.fromkeys(looms, 0)
    running_samples = dict.fromkeys(looms, 0)
    pending: list[tuple[int, int, float]] = []
    steps = int((5 * 60 + 2 * 3600) / STEP_S)
    for k in range(1, steps + 1):
        t = T0 + int(k * STEP_S * 1000)
        for _, readings in sim.step(t, STEP_S):
            for name in looms:
                values = readings[name]
                pending.append((ids[name], t, values["stop_cause"]))
                if t > T0 + 5 * 60_000:
                    warp_samples[name] += values["stop_cause"] == CAUSE_WARP
                    running_samples[name] += values["running"] == 1.0
        if k % 60 == 0:
            batch = Batch(
                np.array([p[0] for p in pending], np.int32),
                np.ones(len(pending), np.int32),
                np.array([p[1] for p in pending], np.int64),
                np.array([p[2] for p in pending], np.float64),
                np.zeros(len(pending), np.uint8),
            )
            for transition in engine.evaluate(batch, t):
                if transition.raised:
                    raised.add(looms[transition.device_id - 1])
            pending.clear()
    assert raised == {"织机 007"}
    healthy = [n for n in looms if n != "织机 007"]
    # Against the healthy looms' average: one of them may have had a long repair by chance.
    assert warp_samples["织机 007"] > 4 * np.mean([warp_samples[n] for n in healthy])
    # Efficiency: the share of samples the loom was running.
    efficiency = {n: running_samples[n] / (steps - 60) for n in looms}
    assert efficiency["织机 007"] < min(efficiency[n] for n in healthy) - 0.05


def test_faults_replayed_in_history_are_noted_not_announced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = first_mill(load_district(CHANGLE))
    sim.replaying = True
    with caplog.at_level(logging.INFO, logger="shugu.sim.runner"):
        sim.step(T0 + 10 * 60_000, 600.0)
        assert sim.replayed == ["warp_beam on 长乐01号织造有限公司 / 织机 007"]
        assert "starts" not in caplog.text
        sim.replaying = False
        sim.repair_all()
        sim.plan_faults(T0 + 3_600_000)
        sim.step(T0 + 3_600_000 + 60_000, 60.0)
        assert "starts" not in caplog.text  # not yet: five minutes into live time
        sim.step(T0 + 3_600_000 + 6 * 60_000, 300.0)
    assert "fault warp_beam starts on 长乐01号织造有限公司 / 织机 007" in caplog.text


def test_faults_in_progress_at_the_end_of_history_carry_on_into_live_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """As the demo goes live after its backfill: the bad warp beam and the fouled fill are
    still there (a repaired tower would need days to foul again, and raise nothing meanwhile),
    not started afresh; the CRAH trip, over within the history, happens again on schedule."""
    district = load_district(CHANGLE)
    enterprises = []
    for park in district.parks:
        for spec in expand_enterprises(park, district.region.code, len(enterprises)):
            if spec.name in ("长乐01号织造有限公司", "福州滨海云数据中心有限公司", TOWERS):
                enterprises.append(SimEnterprise(len(enterprises) + 1, spec, layout(spec, 0.25)))
    sim = Simulation(district, build_plants(district, enterprises), T0)
    sim.replaying = True
    for k in range(1, 2 * 24 + 1):  # two days of history, as the demo's backfill replays
        sim.step(T0 + k * 3_600_000, 3600.0)
    sim.replaying = False
    assert len(sim.replayed) == 3
    live = T0 + 2 * 86_400_000
    carried = sim.in_progress()
    assert carried == [
        "warp_beam on 长乐01号织造有限公司 / 织机 007",
        f"fill_fouling on {TOWERS} / 甲站冷却塔 02",
    ]
    sim.plan_faults(live)
    with caplog.at_level(logging.INFO, logger="shugu.sim.runner"):
        t, towers = live, {}
        for _ in range(20 * 12):  # twenty minutes live, 5 s steps
            t += 5000
            for running, readings in sim.step(t, 5.0):
                if running.enterprise.spec.name == TOWERS:
                    towers.update(readings)
    assert sim.in_progress() == [*carried, "crah_trip on 福州滨海云数据中心有限公司 / 精密空调 02"]
    assert "fault crah_trip starts on 福州滨海云数据中心有限公司 / 精密空调 02" in caplog.text
    assert "warp_beam starts" not in caplog.text and "fill_fouling starts" not in caplog.text
    # Two days of fouling at severity 0.8: the tower's approach, weighted by its fan's share of
    # full speed as the default rule reads it, is past the rule's 8 K from the first minutes.
    profile, rule = default_rules()["cooling_tower.approach_high"]
    assert profile == "cooling_tower" and rule.expression is not None and rule.above == 8.0
    fouled = rule.expression.evaluate(
        {k: np.array([v]) for k, v in towers["甲站冷却塔 02"].items()}
    )
    clean = rule.expression.evaluate({k: np.array([v]) for k, v in towers["甲站冷却塔 01"].items()})
    assert float(fouled[0]) > 8.0 > float(clean[0])
