"""A live run catches up with the present; counters carry on from where a run left them."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import numpy as np
import pytest

from shugu.sim.build import build_plants
from shugu.sim.client import ShuguClient
from shugu.sim.district import DistrictError, expand_enterprises, load_district
from shugu.sim.loom import LoomShed
from shugu.sim.power import MeteredPlant
from shugu.sim.provision import SimEnterprise, layout
from shugu.sim.runner import CATCH_UP_STEPS, LiveRunner, Simulation, now_ms
from shugu.sim.state import load_counters, save_counters

CHANGLE = Path(__file__).resolve().parents[2] / "districts" / "changle.yaml"


def mill_simulation(start_ms: int) -> Simulation:
    """The first Changle mill, posting over HTTP with no tokens: stepped, nothing sent."""
    district = load_district(CHANGLE)
    spec = expand_enterprises(district.parks[0], district.region.code, 0)[0]
    spec = spec.model_copy(update={"transport": "http"})
    mill = SimEnterprise(1, spec, layout(spec, 0.1))
    return Simulation(district, build_plants(district, [mill]), start_ms)


def test_a_live_run_that_starts_behind_catches_up_with_the_present() -> None:
    began = now_ms()
    start = began - 75_000  # where a backfill ended, a minute and more ago
    sim = mill_simulation(start)
    stop = threading.Event()
    steps: list[int] = []

    def checkpoint(t_ms: int) -> None:
        steps.append(t_ms)
        if t_ms >= began - 5_000:
            stop.set()

    runner = LiveRunner(ShuguClient("http://127.0.0.1:9"), sim, "127.0.0.1", None, 5.0)
    runner.checkpoint = checkpoint
    worker = threading.Thread(target=runner.run, args=(stop, start), daemon=True)
    worker.start()
    # Before, the clock moved 5 s per 5 s and stayed 75 s behind for ever.
    worker.join(timeout=15)
    stop.set()
    worker.join()
    runner.close()
    assert steps and steps[-1] >= began - 5_000, steps
    assert len(steps) <= CATCH_UP_STEPS + 1
    assert steps == sorted(steps) and len(set(steps)) == len(steps)


def test_loom_and_meter_counters_resume_where_they_stood() -> None:
    names = ["a", "b"]
    rng = np.random.default_rng(1)
    shed = MeteredPlant(LoomShed(names, rng), "meter", rng)
    for k in range(1, 121):
        shed.step(k * 60_000, 60.0)
    kept = shed.counters()
    assert kept["a"]["picks"] > 0 and kept["meter"]["energy_kwh"] > 0
    again = MeteredPlant(LoomShed(names, rng), "meter", rng)
    again.resume_counters(kept)
    first = again.step(121 * 60_000, 5.0)
    for name in names:
        assert first[name]["picks"] >= np.floor(kept[name]["picks"])
        assert first[name]["energy_kwh"] >= kept[name]["energy_kwh"]
    assert first["meter"]["energy_kwh"] >= kept["meter"]["energy_kwh"]
    with pytest.raises(ValueError, match="picks"):
        again.resume_counters({"a": {"picks": -1.0}})


def test_a_restarted_district_resumes_its_counters_from_the_state_file(tmp_path: Path) -> None:
    before = mill_simulation(0)
    for k in range(1, 61):
        before.step(k * 60_000, 60.0)
    state = tmp_path / "counters.json"
    save_counters(state, 3_600_000, before.counters())
    after = mill_simulation(7_200_000)
    assert after.resume_counters(load_counters(state)) == len(before.counters())
    old = dict(before.step(3_605_000, 5.0)[0][1])
    new = dict(after.step(7_205_000, 5.0)[0][1])
    for device, values in old.items():
        if "energy_kwh" in values:
            # The restarted machines go on from the stored registers, not from zero.
            assert new[device]["energy_kwh"] >= 0.99 * values["energy_kwh"] > 0


def test_an_unreadable_state_file_starts_from_zero_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "counters.json"
    state.write_text("{not json")
    with caplog.at_level(logging.WARNING):
        assert load_counters(state) == {}
    assert "cannot be read" in caplog.text
    state.write_text(json.dumps({"counters": {"1/a": {"picks": -5, "energy_kwh": 2, "x": "y"}}}))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert load_counters(state) == {"1/a": {"energy_kwh": 2.0}}
    assert "2 counter entries" in caplog.text


def test_plant_params_are_checked_when_the_district_is_loaded(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        'name: x\nregion: {code: "350112", name: y}\nparks:\n  - name: p\n    enterprises:\n'
        "      - name: e\n        plants:\n          - kind: loom_shed\n            line: l\n"
        '            devices: "a {i}"\n            count: 1\n'
        "            params: {warp_stops: 3, speed_rpm: fast}\n"
    )
    with pytest.raises(DistrictError) as info:
        load_district(bad)
    assert f"{bad}:8: parks.0.enterprises.0.plants.0" in info.value.message
    assert "unknown loom_shed params warp_stops" in info.value.message
