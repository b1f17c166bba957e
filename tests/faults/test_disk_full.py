"""Disk full and read-only data directory, on a real filesystem of fixed size (a tmpfs).

Scaled down from ``shugu bench faults --scenario disk_full``: the same scenario code, seconds
instead of minutes. Mounting needs root, which CI has; elsewhere the tests skip and say why.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from bench.faults.disk_full import DiskSizes, check_read_only_start, run_disk_full
from bench.faults.tmpfs import NoPrivateDisk, private_disk

from tests.binaries import in_ci

SMALL = DiskSizes(
    json_devices=3,
    mqtt_devices=6,
    http_connections=2,
    units_per_request=10,
    units_per_s=300,
    before_s=1.5,
    full_s=3.0,
    after_s=2.0,
    disk_mib=48,
    drain_s=30.0,
)


@pytest.fixture
def can_mount(tmp_path: Path) -> None:
    try:
        with private_disk(tmp_path / "probe", 1):
            pass
    except NoPrivateDisk as exc:
        if in_ci():
            pytest.fail(f"CI runs as root and must be able to mount a tmpfs: {exc}")
        pytest.skip(str(exc))


@pytest.mark.usefixtures("can_mount")
def test_a_full_disk_refuses_instead_of_acknowledging_and_recovers(tmp_path: Path) -> None:
    out = run_disk_full(tmp_path, SMALL)
    # Every acknowledged point survived the full disk and a kill -9 after it, exactly once.
    assert out["acked"] > 0
    assert out["lost"] == 0 and out["duplicated"] == 0 and out["unexpected"] == 0, out
    assert out["verified"], out
    # While full, the server said so instead of acknowledging: 503s and dropped MQTT
    # connections (the devices reconnected and sent again), and it stayed up.
    refused = out["refused_while_full"]
    assert refused["http_503"] > 0 and refused["mqtt_reconnects"] > 0, out
    assert out["server_alive_while_full"] is True
    # It took data again by itself once space returned, and everything queued got through.
    assert out["recovery_s"] is not None
    assert out["drained"], out


@pytest.mark.usefixtures("can_mount")
def test_with_two_workers_every_process_refuses_while_full_and_recovers(tmp_path: Path) -> None:
    """``--workers 2``: the front's devices store through main's writer, so they meet the full
    disk as main's failed commits; the front must refuse them too, not acknowledge."""
    # More connections than alone, so that the kernel's spread leaves some on each process;
    # no kill -9 at the end: the log's replay is the test above's, a restart with fronts
    # test_crash.py's.
    sizes = dataclasses.replace(SMALL, mqtt_devices=8, http_connections=4, restart=False)
    out = run_disk_full(tmp_path, sizes, workers=2)
    assert out["acked"] > 0
    assert out["lost"] == 0 and out["duplicated"] == 0 and out["unexpected"] == 0, out
    assert out["verified"] and out["drained"], out
    assert out["server_alive_while_full"] is True
    assert out["recovery_s"] is not None
    workers = out["per_worker"]
    assert len(workers) == 2 and not any(w["restarted"] for w in workers), workers
    for worker in workers:
        # Each process had devices of its own (none sat idle while main did the work) ...
        assert worker["accepted_before_full"] > 0, workers
        # ... refused them while the disk was full, acknowledging nothing ...
        assert worker["store_failures_while_full"] > 0, workers
        assert worker["accepted_while_full"] == 0, workers
        # ... and took data again once space returned, without a restart.
        assert worker["accepted_after_release"] > 0, workers
    refused = out["refused_while_full"]
    assert refused["http_503"] > 0 and refused["mqtt_reconnects"] > 0, out


@pytest.mark.usefixtures("can_mount")
def test_serve_refuses_to_start_on_a_read_only_data_directory(tmp_path: Path) -> None:
    out = check_read_only_start(tmp_path)
    assert out["exit_code"] == 2
    assert "cannot be written" in out["reason"] and "Read-only" in out["reason"]
