"""Bridge mode through a Mosquitto restart: what the broker acknowledged reaches the store.

Scaled down from ``shugu bench faults --scenario broker_outage``: the same scenario code, two
bridge workers, a 3-second outage instead of 30 s.
"""

from __future__ import annotations

from pathlib import Path

from bench.faults.broker_outage import OutageSizes, run_broker_outage

from tests.binaries import require_binary

SMALL = OutageSizes(
    devices=20,
    units_per_s=600,
    window=4,
    before_s=5.0,
    pause_s=4.0,
    outage_s=3.0,
    after_s=2.0,
    drain_s=60.0,
    settle_s=60.0,
)


def test_messages_queued_at_the_broker_survive_its_restart(tmp_path: Path) -> None:
    require_binary("mosquitto")
    out = run_broker_outage(tmp_path, SMALL)
    assert out["acked"] > out["acked_before_outage"] > 0
    # The outage began with acknowledged messages that no worker had stored: only Mosquitto's
    # persistence file held them over its restart.
    assert out["queued_in_broker_over_restart"] > 0
    assert out["lost"] == 0 and out["wrong_value"] == 0, out["bad_devices"]
    assert out["duplicated"] == 0 and out["duplicated_unacked"] == 0, out["bad_devices"]
    assert out["unexpected"] == 0
    assert out["verified"]
    # Both workers came back to the broker by themselves and stayed connected.
    assert None not in out["worker_reconnect_s"]
    assert all(out["workers_connected_at_end"])
    assert out["drained"]
