"""A short soak at a fixed, moderate rate: nothing lost, queues bounded, memory sampled.

Scaled down from ``shugu bench faults --scenario soak``: the same scenario code, fixed rates
instead of measured capacities, seconds instead of minutes. Memory slopes and latencies are
figures for ``bench/``; this test checks the ledger and that the server's queues drained.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bench.faults.soak import SoakSizes, run_soak

SMALL = SoakSizes(
    http_devices=4,
    mqtt_devices=20,
    http_connections=2,
    units_per_request=10,
    mqtt_window=2,
    minutes=15 / 60,
    sample_s=1.5,
    probe_s=0.0,
    http_units_per_s=300.0,
    mqtt_units_per_s=300.0,
    drain_s=60.0,
)


def test_a_short_soak_loses_nothing_and_its_queues_drain(tmp_path: Path) -> None:
    out = run_soak(tmp_path, SMALL)
    assert out["acked"] > 0
    assert out["lost"] == 0 and out["duplicated"] == 0 and out["unexpected"] == 0, out
    assert out["verified"] and out["drained"]
    samples = out["samples"]
    assert len(samples) >= 8
    assert all(s["rss_mib"] > 0 and s["queued_jobs"] is not None for s in samples)
    assert all(s["acked_points_per_s"] > 0 for s in samples), "the stream never stalled"
    verdict = out["verdict"]
    assert verdict["queues_flat"], verdict
    # After the devices stopped, nothing waits for the writer or the monitor.
    assert verdict["queued_jobs_at_end"] == 0
    assert verdict["monitor_pending_rows_at_end"] == 0


def test_with_two_workers_a_short_soak_loses_nothing_and_samples_every_process(
    tmp_path: Path,
) -> None:
    """``--workers 2``: the same checks, with the memory of main and of the front sampled."""
    out = run_soak(tmp_path, dataclasses.replace(SMALL, http_connections=4), workers=2)
    assert out["acked"] > 0
    assert out["lost"] == 0 and out["duplicated"] == 0 and out["unexpected"] == 0, out
    assert out["verified"] and out["drained"]
    # Both processes took devices (20 MQTT connections and 4 HTTP ones, spread by the kernel).
    accepted = out["accepted_by_process"]
    assert len(accepted) == 2 and all(w["points_accepted"] > 0 for w in accepted), accepted
    samples = out["samples"]
    assert len(samples) >= 8
    for sample in samples:
        by_process = sample["rss_by_process_mib"]
        assert len(by_process) == 2 and all(v > 0 for v in by_process.values()), sample
        assert abs(sample["rss_mib"] - sum(by_process.values())) < 0.5, sample
    verdict = out["verdict"]
    assert verdict["queues_flat"], verdict
    assert len(verdict["rss_slope_mib_per_min_second_half_by_process"]) == 2, verdict
    assert verdict["queued_jobs_at_end"] == 0
    assert verdict["monitor_pending_rows_at_end"] == 0
