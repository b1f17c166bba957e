"""The cluster, every part its own process, with an ingest worker and a monitor worker killed
mid-stream: nothing acknowledged is lost or doubled, and alarms keep firing.

Scaled down from ``shugu bench faults --scenario cluster``: the same scenario code (Mosquitto,
two ClickHouse shards, PostgreSQL, two ingest workers, two monitor workers, one API node), a
few seconds of traffic on each side of the kill.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.faults.cluster import ClusterSizes, run_cluster
from bench.faults.cluster_nodes import serve_has_roles

from tests.binaries import in_ci, require_binary
from tests.clickhouse import require_clickhouse
from tests.pg import require_postgres_bin_dir

SMALL = ClusterSizes(
    devices=12,
    units_per_s=300,
    window=4,
    enterprises=4,
    probes_per_enterprise=1,
    settle_monitors_s=1.0,
    before_kill_s=1.0,
    ingest_down_s=2.0,
    after_kill_s=3.0,
    alarm_timeout_s=30.0,
    drain_s=60.0,
    settle_s=60.0,
)


def test_killing_an_ingest_and_a_monitor_worker_loses_nothing_and_alarms_keep_firing(
    tmp_path: Path,
) -> None:
    require_binary("mosquitto")
    require_clickhouse()
    require_postgres_bin_dir()
    if not serve_has_roles():
        reason = "this shugu's serve has no --role option"
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    out = run_cluster(tmp_path, SMALL)
    assert out["acked"] > out["acked_at_kill"] > 0
    # Every acknowledged point readable once, with its value, through the API node alone.
    assert out["lost"] == 0 and out["wrong_value"] == 0, out["bad_devices"]
    assert out["duplicated"] == 0 and out["duplicated_unacked"] == 0, out["bad_devices"]
    assert out["unexpected"] == 0
    assert out["verified"] and out["readable_everything_after_s"] is not None
    assert out["drained"]
    # The killed ingest worker came back to its broker session by itself.
    assert out["ingest_restart_to_connack_s"] >= 0
    # Each probe's inlet_high (before the kill) and inlet_critical (after it) raised once.
    assert out["high_alarms_seen"] and out["critical_alarms_seen"]
    assert out["alarms_raised"] == out["alarms_expected"] == 2 * SMALL.enterprises
    assert out["alarms_missing"] == [] and out["alarms_raised_twice"] == []
    # The killed monitor watched some of the enterprises, and the survivor took them over.
    assert out["monitors_before_kill"] and len(out["monitors_after_kill"]) == 1
    assert out["devices_moved"] > 0
    assert out["first_alarm_after_monitor_kill_s"] is not None
