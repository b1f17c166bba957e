"""Where every device sits, as arrays: its profile, enterprise, line, park and industry, and the
attributes KPIs read (a loom's rated speed, a meter's role).

Roll-ups group devices by these arrays with ``bincount``; nothing per device runs in Python when a
query is answered. The snapshot is read in a few queries and refreshed when a device it does not
know shows up, or when it is older than ``max_age_s``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from shugu.analytics.model import Level
from shugu.store.registry.records import EnterpriseRecord, ParkRecord
from shugu.store.registry.region_counts import AssetRow, DeviceAssetRow
from shugu.store.telemetry import AttributeRecord

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

#: Attributes the analytics read, besides each profile's parameters: text ones (a meter's role,
#: a loom's type) and numbers (a loom's width).
METER_ROLE = "meter_role"
LOOM_TYPE = "loom_type"
TEXT_ATTRIBUTES = (METER_ROLE, LOOM_TYPE)
NUMBER_ATTRIBUTES = ("width_cm",)


class PlaceRegistry(Protocol):
    def device_asset_rows(self) -> list[DeviceAssetRow]: ...

    def asset_rows(self) -> list[AssetRow]: ...

    def list_enterprises(self, park_id: int | None = None) -> list[EnterpriseRecord]: ...

    def list_parks(self, region_id: int | None = None) -> list[ParkRecord]: ...


class AttributeReader(Protocol):
    def attributes_named(self, keys: Sequence[str]) -> list[AttributeRecord]: ...


@dataclass(frozen=True, slots=True)
class Places:
    """One snapshot; arrays are indexed by position, ``index_of`` maps device ids to positions."""

    device: I64
    profile: list[str]
    enterprise: I64
    #: The line (ISA-95) a device hangs under, -1 when it hangs under no line.
    line: I64
    park: I64
    #: The enterprise's NBS digital-economy category as an integer code (502 for "0502"), -1 none.
    industry: I64
    created_ms: I64
    #: The assets each device hangs under, nearest first (empty: at the enterprise's root).
    assets: list[tuple[int, ...]]
    device_names: dict[int, str]
    enterprise_names: dict[int, str]
    line_names: dict[int, str]
    park_names: dict[int, str]
    enterprise_park: dict[int, int]
    enterprise_industry: dict[int, str | None]
    #: attribute name → value per device (NaN where the device has none).
    numbers: dict[str, F64]
    #: text attributes (a meter's role) per device, "" where none.
    texts: dict[str, list[str]]
    index_of: dict[int, int] = field(repr=False)

    def positions(self, devices: I64) -> I64:
        """Positions of device ids; -1 for ids not in the snapshot."""
        get = self.index_of.get
        return np.fromiter((get(int(d), -1) for d in devices), np.int64, len(devices))

    def group_ids(self, level: Level) -> I64:
        """Each device's group at ``level`` (region: 0 for all)."""
        if level == "device":
            return self.device
        if level == "line":
            return self.line
        if level == "enterprise":
            return self.enterprise
        if level == "park":
            return self.park
        if level == "industry":
            return self.industry
        return np.zeros(len(self.device), np.int64)

    def of_profile(self, profile: str) -> npt.NDArray[np.bool_]:
        return np.fromiter((p == profile for p in self.profile), np.bool_, len(self.profile))


def industry_code(category: str | None) -> int:
    return int(category) if category and category.isdigit() else -1


def industry_text(code: int) -> str:
    return f"{code:04d}" if code >= 100 else f"{code:02d}"


def read_places(
    registry: PlaceRegistry, attributes: AttributeReader, attribute_names: Sequence[str]
) -> Places:
    devices = registry.device_asset_rows()
    assets = {a.id: a for a in registry.asset_rows()}
    enterprises = {e.id: e for e in registry.list_enterprises()}
    parks = {p.id: p for p in registry.list_parks()}
    line_of_asset: dict[int, int] = {}

    def line_of(asset_id: int | None) -> int:
        if asset_id is None:
            return -1
        if asset_id in line_of_asset:
            return line_of_asset[asset_id]
        found, current, seen = -1, assets.get(asset_id), 0
        while current is not None and seen < 16:
            if current.level == "line":
                found = current.id
                break
            current = assets.get(current.parent_id) if current.parent_id is not None else None
            seen += 1
        line_of_asset[asset_id] = found
        return found

    chains: dict[int, tuple[int, ...]] = {}

    def chain_of(asset_id: int | None) -> tuple[int, ...]:
        if asset_id is None:
            return ()
        if asset_id not in chains:
            chain: list[int] = []
            current = assets.get(asset_id)
            while current is not None and len(chain) < 16:
                chain.append(current.id)
                current = assets.get(current.parent_id) if current.parent_id is not None else None
            chains[asset_id] = tuple(chain)
        return chains[asset_id]

    n = len(devices)
    index_of = {d.id: i for i, d in enumerate(devices)}
    enterprise = np.array([d.enterprise_id for d in devices], np.int64)
    park = np.array(
        [
            enterprises[d.enterprise_id].park_id if d.enterprise_id in enterprises else -1
            for d in devices
        ],
        np.int64,
    )
    industry = np.array(
        [
            industry_code(enterprises[d.enterprise_id].nbs_category)
            if d.enterprise_id in enterprises
            else -1
            for d in devices
        ],
        np.int64,
    )
    numbers: dict[str, F64] = {}
    texts: dict[str, list[str]] = {name: [""] * n for name in TEXT_ATTRIBUTES}
    names = sorted({*attribute_names, *TEXT_ATTRIBUTES, *NUMBER_ATTRIBUTES})
    for record in attributes.attributes_named(names):
        i = index_of.get(record.device)
        if i is None:
            continue
        try:
            value = json.loads(record.value_json)
        except ValueError:
            continue
        if record.key in texts:
            if isinstance(value, str):
                texts[record.key][i] = value
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            continue
        try:
            number = float(value)
        except ValueError:
            continue
        if np.isfinite(number):
            numbers.setdefault(record.key, np.full(n, np.nan))[i] = number
    return Places(
        device=np.array([d.id for d in devices], np.int64),
        profile=[d.profile for d in devices],
        enterprise=enterprise,
        line=np.array([line_of(d.asset_id) for d in devices], np.int64),
        assets=[chain_of(d.asset_id) for d in devices],
        park=park,
        industry=industry,
        created_ms=np.array([d.created_ms for d in devices], np.int64),
        device_names={d.id: d.name for d in devices},
        enterprise_names={e.id: e.name for e in enterprises.values()},
        line_names={a.id: a.name for a in assets.values() if a.level == "line"},
        park_names={p.id: p.name for p in parks.values()},
        enterprise_park={e.id: e.park_id for e in enterprises.values()},
        enterprise_industry={e.id: e.nbs_category for e in enterprises.values()},
        numbers=numbers,
        texts=texts,
        index_of=index_of,
    )


class PlaceBook:
    """The current snapshot, re-read when stale or when an unknown device appears."""

    def __init__(
        self,
        read: Callable[[], Places],
        max_age_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._places: Places | None = None
        self._read_at = 0.0
        #: device id → when a refresh last failed to find it
        self._looked_for: dict[int, float] = {}

    def current(self) -> Places:
        with self._lock:
            if self._places is None or self._clock() - self._read_at > self._max_age_s:
                self._refresh()
            assert self._places is not None
            return self._places

    def knowing(self, devices: I64) -> Places:
        """The snapshot, re-read at once if it misses a device it has not looked for in the last
        minute (a device just registered); ids still missing after that (a deleted device's
        late points) are not looked for again within the minute."""
        places = self.current()
        if not len(devices):
            return places
        unique = np.unique(devices)
        missing = unique[places.positions(unique) < 0]
        if not len(missing):
            return places
        with self._lock:
            now = self._clock()
            fresh = [int(d) for d in missing if now - self._looked_for.get(int(d), -1e9) > 60.0]
            if fresh:
                self._refresh()
                assert self._places is not None
                still = set(missing[self._places.positions(missing) < 0].tolist())
                for device in fresh:
                    if device in still:
                        self._looked_for[device] = now
                if len(self._looked_for) > 100_000:
                    self._looked_for.clear()
            assert self._places is not None
            return self._places

    def invalidate(self) -> None:
        with self._lock:
            self._places = None

    def _refresh(self) -> None:
        self._places = self._read()
        self._read_at = self._clock()
