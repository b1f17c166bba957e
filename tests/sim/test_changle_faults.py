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
