"""A device's state from its last-seen time, the latest values read in one call, and the
profile fields the device list reads (``list_metrics``, ``report_interval_s``)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from shugu.domain.errors import ValidationError
from shugu.domain.profiles import load_profiles, parse_profile
from shugu.monitor.alarm_tree import OpenAlarms, asset_paths, roll_up
from shugu.monitor.liveness import (
    DEFAULT_REPORT_INTERVAL_S,
    LatestValues,
    Liveness,
    Thresholds,
    profile_thresholds,
    state_of,
)
from shugu.monitor.model import Severity
from shugu.store.queries import latest_table
from shugu.store.registry.records import AssetLevel, AssetRecord


def test_a_profile_s_thresholds_follow_its_interval_and_its_offline_alarm() -> None:
    loom = profile_thresholds("loom")
    assert loom == Thresholds(stale_after_ms=30_000, offline_after_ms=600_000)  # no_data 600 s
    rack = profile_thresholds("rack_sensor")
    assert rack == Thresholds(stale_after_ms=180_000, offline_after_ms=300_000)
    # No interval, no offline alarm: the defaults.
    generic = profile_thresholds("generic")
    assert generic.stale_after_ms == 3 * DEFAULT_REPORT_INTERVAL_S * 1000
    assert generic.offline_after_ms == 10 * DEFAULT_REPORT_INTERVAL_S * 1000
    assert profile_thresholds("no-such-profile") == generic


def test_state_of_a_device_by_its_silence() -> None:
    limits = Thresholds(stale_after_ms=30_000, offline_after_ms=600_000)
    now = 10_000_000
    assert state_of(now - 29_999, limits, now) is Liveness.ONLINE
    assert state_of(now - 30_000, limits, now) is Liveness.STALE
    assert state_of(now - 600_000, limits, now) is Liveness.OFFLINE
    assert state_of(None, limits, now) is Liveness.OFFLINE  # never sent anything
    assert state_of(now + 5_000, limits, now) is Liveness.ONLINE  # a clock ahead of ours


def test_latest_values_give_each_device_s_newest_time_and_its_values() -> None:
    columns = (
        np.array([7, 3, 7, 3], np.int32),
        np.array([1, 1, 2, 2], np.int32),
        np.array([500, 100, 900, 300], np.int64),
        np.array([1.5, 2.5, 3.5, np.nan], np.float64),
        np.zeros(4, np.uint8),
    )
    latest = LatestValues(latest_table(columns, {1: "temp", 2: "speed"}))
    assert latest.last_seen() == {3: 300, 7: 900}
    assert latest.values_of([7]) == {7: {"temp": (500, 1.5), "speed": (900, 3.5)}}
    assert latest.values_of([]) == {}
    nothing = (columns[0][:0], columns[1][:0], columns[2][:0], columns[3][:0], columns[4][:0])
    empty = LatestValues(latest_table(nothing, {}))
    assert empty.last_seen() == {}
    plain = pa.table(
        {
            "device": pa.array([4], pa.int32()),
            "metric": pa.array(["temp"]),
            "ts": pa.array([42], pa.int64()),
            "value": pa.array([1.0]),
        }
    )
    assert LatestValues(plain).values_of([4]) == {4: {"temp": (42, 1.0)}}


def test_open_alarms_roll_up_to_every_asset_above_their_device() -> None:
    def asset(id_: int, parent: int | None, level: AssetLevel) -> AssetRecord:
        return AssetRecord(id_, 1, parent, level, f"a{id_}", datetime(2025, 1, 1, tzinfo=UTC))

    assets = [
        asset(1, None, AssetLevel.SITE),
        asset(2, 1, AssetLevel.AREA),
        asset(3, 2, AssetLevel.LINE),
        asset(4, 1, AssetLevel.AREA),
    ]
    assert asset_paths(assets)[3] == (3, 2, 1)
    by_device = {
        10: OpenAlarms(2, Severity.minor),
        11: OpenAlarms(1, Severity.critical),
        12: OpenAlarms(5, Severity.warning),  # placed on no asset
    }
    under = roll_up(assets, {10: 3, 11: 2, 12: None}, by_device)
    assert under[3] == OpenAlarms(2, Severity.minor)
    assert under[2] == under[1] == OpenAlarms(3, Severity.critical)
    assert under[4] == OpenAlarms(0, None)


def test_every_shipped_profile_lists_metrics_it_declares() -> None:
    for profile in load_profiles().values():
        assert set(profile.list_metrics) <= set(profile.metrics), profile.name
    text = (
        "name: kiln\nlabel_zh: 窑\nlabel_en: Kiln\nstrict: true\nlist_metrics: [temp_c, nope]\n"
        "metrics:\n  temp_c: {kind: gauge, unit: °C, label_zh: 温度, label_en: Temperature}\n"
    )
    with pytest.raises(ValidationError, match="nope"):
        parse_profile(text, "kiln.yaml")
    with pytest.raises(ValidationError, match="report_interval_s"):
        parse_profile(text.replace(", nope", "") + "report_interval_s: 0\n", "kiln.yaml")
