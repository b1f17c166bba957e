"""Whether a device is reporting: online, stale or offline, told by when it last sent a value.

A device is *stale* once it has been silent for a few of its profile's report intervals
(``report_interval_s``), and *offline* once the silence is as long as the profile's own offline
alarm waits (its ``no_data`` rule), so that the state shown beside a device agrees with the
alarm it raises. A device that never sent anything is offline.

The latest values come from the store's in-memory cache in one call for any number of devices;
per-device work is numpy, so the state of 2,000 devices costs a few milliseconds.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shugu.domain.errors import ValidationError
from shugu.domain.profiles import Profile, get_profile
from shugu.store.telemetry import TelemetryStore

#: A profile that names no report interval is expected to report at least once a minute.
DEFAULT_REPORT_INTERVAL_S: Final = 60.0
#: Missed reports before a device is shown as stale.
STALE_AFTER_INTERVALS: Final = 3
#: Missed reports before a device whose profile has no offline alarm is shown as offline.
OFFLINE_AFTER_INTERVALS: Final = 10


class Liveness(StrEnum):
    ONLINE = "online"
    STALE = "stale"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Thresholds:
    stale_after_ms: int
    offline_after_ms: int


def _offline_rule_s(profile: Profile) -> float | None:
    for rule in profile.rules:
        seconds = rule.get("for_s")
        if rule.get("kind") == "no_data" and isinstance(seconds, int | float) and seconds > 0:
            return float(seconds)
    return None


def thresholds_of(profile: Profile | None) -> Thresholds:
    interval = (profile.report_interval_s if profile else None) or DEFAULT_REPORT_INTERVAL_S
    stale_s = STALE_AFTER_INTERVALS * interval
    offline_s = (_offline_rule_s(profile) if profile else None) or (
        OFFLINE_AFTER_INTERVALS * interval
    )
    return Thresholds(int(stale_s * 1000), int(max(offline_s, stale_s) * 1000))


@functools.cache
def profile_thresholds(profile_name: str) -> Thresholds:
    """The thresholds of a shipped profile; the defaults for a name no profile has."""
    try:
        return thresholds_of(get_profile(profile_name))
    except ValidationError:
        return thresholds_of(None)


def state_of(last_seen_ms: int | None, thresholds: Thresholds, now_ms: int) -> Liveness:
    if last_seen_ms is None:
        return Liveness.OFFLINE
    silent = now_ms - last_seen_ms
    if silent >= thresholds.offline_after_ms:
        return Liveness.OFFLINE
    if silent >= thresholds.stale_after_ms:
        return Liveness.STALE
    return Liveness.ONLINE


#: (ts ms, value) of one metric.
Point = tuple[int, float]


class LatestValues:
    """The latest value of every metric of a set of devices, read from the store at once."""

    def __init__(self, table: pa.Table) -> None:
        self._device: npt.NDArray[np.int64] = table.column("device").to_numpy().astype(np.int64)
        self._ts: npt.NDArray[np.int64] = table.column("ts").to_numpy().astype(np.int64)
        self._value: npt.NDArray[np.float64] = table.column("value").to_numpy()
        metric = table.column("metric").combine_chunks()
        if isinstance(metric, pa.DictionaryArray):
            self._names: list[str] = metric.dictionary.to_pylist()
            self._metric: npt.NDArray[np.int64] = metric.indices.to_numpy(
                zero_copy_only=False
            ).astype(np.int64)
        else:  # a plain string column: number its names here
            plain = np.asarray(metric.to_pylist(), dtype=object)
            names, codes = np.unique(plain, return_inverse=True)
            self._names = [str(n) for n in names]
            self._metric = codes.astype(np.int64)

    @classmethod
    def read(cls, store: TelemetryStore, device_ids: Sequence[int]) -> LatestValues:
        return cls(store.latest(list(device_ids)))

    def last_seen(self) -> dict[int, int]:
        """Device → the time of its newest value (ms), for devices that sent anything."""
        if not len(self._device):
            return {}
        order = np.argsort(self._device, kind="stable")
        device, ts = self._device[order], self._ts[order]
        starts = np.flatnonzero(np.r_[True, device[1:] != device[:-1]])
        newest = np.maximum.reduceat(ts, starts)
        return dict(zip(device[starts].tolist(), newest.tolist(), strict=True))

    def values_of(self, device_ids: Iterable[int]) -> dict[int, dict[str, Point]]:
        """Device → metric → (ts, value), for the given devices only."""
        wanted = np.fromiter(device_ids, dtype=np.int64)
        rows = np.flatnonzero(np.isin(self._device, wanted))
        out: dict[int, dict[str, Point]] = {}
        for device, metric, ts, value in zip(
            self._device[rows].tolist(),
            self._metric[rows].tolist(),
            self._ts[rows].tolist(),
            self._value[rows].tolist(),
            strict=True,
        ):
            out.setdefault(device, {})[self._names[metric]] = (ts, value)
        return out


def states(
    profiles: Mapping[int, str], last_seen: Mapping[int, int], now_ms: int
) -> dict[int, Liveness]:
    """Device (by its profile name) → its state now."""
    return {
        device: state_of(last_seen.get(device), profile_thresholds(profile), now_ms)
        for device, profile in profiles.items()
    }
