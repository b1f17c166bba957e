"""kill -9 of `shugu serve` mid-stream: nothing acknowledged is lost or answered twice.

Scaled down from ``shugu bench faults --scenario crash``: the same scenario code, with a few
devices on each path (device JSON and Arrow batches over HTTP, MQTT at QoS 1) and one kill.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bench.faults.crash import CrashSizes, run_crash

SMALL = CrashSizes(
    json_devices=4,
    arrow_devices=6,
    mqtt_devices=10,
    http_connections=2,
    units_per_request=20,
    mqtt_window=4,
    stream_s=3.0,
    kills=1,
    tail_s=1.0,
    drain_s=30.0,
)


def test_every_acknowledged_point_survives_kill_9_exactly_once(tmp_path: Path) -> None:
    out = run_crash(tmp_path, SMALL)
    assert out["kills"] == 1
    assert out["acked"] > 0
    assert out["lost"] == 0 and out["wrong_value"] == 0, out["bad_devices"]
    assert out["duplicated"] == 0 and out["duplicated_unacked"] == 0, out["bad_devices"]
    assert out["unexpected"] == 0
    assert out["checksum_stored"] == out["checksum_expected"]
    # The server came back and acknowledged again after the restart.
    assert out["kill_log"][0]["recovery_s"] is not None
    assert out["acked"] > out["kill_log"][0]["acked_before"]
    assert out["drained"], "every unacknowledged point was sent again and acknowledged"
    assert out["client"]["refused_points"] == 0


def test_with_two_workers_killing_a_front_then_main_loses_nothing(tmp_path: Path) -> None:
    """``--workers 2``: kill -9 of the front process (main starts another), then of main (the
    front exits with it; the restarted main starts a new one)."""
    sizes = dataclasses.replace(SMALL, kills=2)
    out = run_crash(tmp_path, sizes, workers=2)
    assert [k["killed"] for k in out["kill_log"]] == ["front", "main"]
    assert out["lost"] == 0 and out["wrong_value"] == 0, out["bad_devices"]
    assert out["duplicated"] == 0 and out["duplicated_unacked"] == 0, out["bad_devices"]
    assert out["unexpected"] == 0
    assert out["checksum_stored"] == out["checksum_expected"]
    assert all(k["recovery_s"] is not None for k in out["kill_log"]), out["kill_log"]
    assert out["acked"] > out["kill_log"][1]["acked_before"]
    assert out["drained"], "every unacknowledged point was sent again and acknowledged"
