"""`shugu bench states` at a tiny size: every state saved is restored, none refused, and the
figures it reports are there."""

from __future__ import annotations

from bench.detector_states import run


def test_the_states_bench_restores_every_state_it_saved() -> None:
    result = run(devices=20, hours=1.0, runs=1, postgres=False, log=False)
    sqlite = result["sqlite"]
    assert sqlite["states"] == 40  # two anomaly rules on each of 20 rack sensors
    assert 0 < sqlite["state_bytes_median"] < sqlite["state_raw_bytes"]
    assert sqlite["eval_pps_default"] > 0 and sqlite["eval_pps_anomaly"] > 0
    assert result["postgres"] == "off"
