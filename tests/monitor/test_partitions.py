"""Monitor workers divide devices by rendezvous hashing: balanced, stable, the same everywhere."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from shugu.monitor.partitions import handover, owned, owners

DEVICES = np.arange(1, 20_001)
THREE = ["monitor-a", "monitor-b", "monitor-c"]


def test_every_device_has_one_owner_and_the_shares_are_even() -> None:
    owner = owners(DEVICES, THREE)
    shares = np.bincount(owner, minlength=3) / DEVICES.size
    assert owner.min() >= 0 and owner.max() <= 2
    assert np.all(np.abs(shares - 1 / 3) < 0.02), shares
    assert sum(len(owned(DEVICES, THREE, m)) for m in THREE) == DEVICES.size


def test_when_a_member_leaves_only_its_devices_move() -> None:
    before = owners(DEVICES, THREE)
    after = owners(DEVICES, ["monitor-a", "monitor-c"])
    names_before = np.array(THREE)[before]
    names_after = np.array(["monitor-a", "monitor-c"])[after]
    moved = names_before != names_after
    assert np.all(names_before[moved] == "monitor-b")
    assert np.all(names_before[~moved] != "monitor-b")
    # Its devices spread over both survivors, not onto one.
    took = np.bincount(after[moved], minlength=2) / moved.sum()
    assert np.all(np.abs(took - 0.5) < 0.05), took


def test_a_member_joining_takes_a_fair_share_from_each() -> None:
    four = [*THREE, "monitor-d"]
    change = handover(DEVICES, THREE, four, "monitor-d")
    assert not change.lost
    assert abs(len(change.gained) / DEVICES.size - 0.25) < 0.02
    for member in THREE:
        moved = handover(DEVICES, THREE, four, member)
        assert not moved.gained
        assert moved.lost <= change.gained
        assert abs(len(moved.lost) / DEVICES.size - 1 / 12) < 0.02


def test_a_member_not_alive_watches_nothing_and_nobody_alive_means_no_owner() -> None:
    assert owned(DEVICES, THREE, "monitor-z") == frozenset()
    assert set(owners(DEVICES[:5], [])) == {-1}
    assert handover(DEVICES, [], THREE, "monitor-a").gained == owned(DEVICES, THREE, "monitor-a")


def test_every_process_computes_the_same_owners() -> None:
    """No salted hash: a fresh interpreter with another hash seed agrees."""
    code = (
        "import numpy as np; from shugu.monitor.partitions import owners; "
        f"print(owners(np.arange(1, 2001), {THREE!r}).tolist())"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert other.stdout.strip() == str(owners(np.arange(1, 2001), THREE).tolist())
