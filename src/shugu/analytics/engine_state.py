"""What the fact engine holds per profile: each device's slot in the dense hour and day blocks,
the hour cells of the recent hours and the facts per local day, dirty spans and recompute guards,
and each device's carry (where its series ended) read back from stored rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shugu.analytics.facts import Carry
from shugu.analytics.model import ProfileKpis
from shugu.analytics.places import Places
from shugu.domain.timeutil import CHINA_OFFSET_MS

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
DAY_MS = 86_400_000


def day_of(ts_ms: I64 | int) -> I64:
    """The start of the local (China) day holding each time."""
    day: I64 = ((np.asarray(ts_ms) + CHINA_OFFSET_MS) // DAY_MS) * DAY_MS - CHINA_OFFSET_MS
    return day


@dataclass(slots=True)
class RecomputeGuard:
    """Cells a recompute replaced, and the commit sequences around its read."""

    keys: I64
    before_seq: int
    after_seq: int


@dataclass(slots=True)
class ProfileState:
    """One profile's state. Devices have slots: rows of the dense hour and day blocks."""

    kpis: ProfileKpis
    carry: Carry
    slot: dict[int, int] = field(default_factory=dict)
    slot_device: list[int] = field(default_factory=list)
    #: device → the first hour it has facts for (the day, for days loaded from the fact
    #: store): history sent from before a device was registered counts from there.
    first_seen: dict[int, int] = field(default_factory=dict)
    #: hour start → facts per slot: the hour cells held in memory.
    recent: dict[int, F64] = field(default_factory=dict)
    #: (device, hour) keys changed since the last flush.
    unflushed: set[tuple[int, int]] = field(default_factory=set)
    #: day start → facts per slot
    days: dict[int, F64] = field(default_factory=dict)
    #: device → (first dirty ms, last dirty ms)
    dirty: dict[int, tuple[int, int]] = field(default_factory=dict)
    guards: list[RecomputeGuard] = field(default_factory=list)
    #: ``slot`` and ``first_seen`` as sorted arrays, so that a query looks up thousands of
    #: devices in numpy; dropped when a device gets a slot or an earlier first hour.
    slot_index: tuple[I64, I64] | None = None
    seen_index: tuple[I64, I64] | None = None

    def slot_of(self, device: int) -> int:
        slot = self.slot.get(device)
        if slot is None:
            slot = self.slot[device] = len(self.slot_device)
            self.slot_device.append(device)
            self.slot_index = None
        return slot

    def slots_of(self, devices: I64) -> I64:
        """Slots of devices, -1 for devices without one."""
        if self.slot_index is None:
            self.slot_index = _sorted_index(self.slot)
        return _look_up(self.slot_index, devices, -1)

    def block(self, blocks: dict[int, F64], key: int, rows: int) -> F64:
        """The block at ``key`` with room for ``rows`` slots (grown, zero-filled)."""
        block = blocks.get(key)
        if block is None or len(block) < rows:
            grown = np.zeros(
                (max(rows, 64, 0 if block is None else 2 * len(block)), len(self.kpis.facts))
            )
            if block is not None:
                grown[: len(block)] = block
            blocks[key] = block = grown
        return block

    def seen(self, device: int, hour: int) -> None:
        known = self.first_seen.get(device)
        if known is None or hour < known:
            self.first_seen[device] = hour
            self.seen_index = None

    def first_hours(self, devices: I64, never: int) -> I64:
        """Each device's first hour with facts, ``never`` for devices without one."""
        if self.seen_index is None:
            self.seen_index = _sorted_index(self.first_seen)
        return _look_up(self.seen_index, devices, never)

    def add_to(self, blocks: dict[int, F64], key: int, device: int, delta: F64) -> None:
        slot = self.slot_of(device)
        self.block(blocks, key, slot + 1)[slot] += delta

    def get_from(self, blocks: dict[int, F64], key: int, device: int) -> F64 | None:
        block = blocks.get(key)
        slot = self.slot.get(device)
        if block is None or slot is None or slot >= len(block):
            return None
        row: F64 = block[slot]
        return row


def _sorted_index(mapping: dict[int, int]) -> tuple[I64, I64]:
    """A device → number mapping as (sorted devices, their numbers)."""
    keys = np.fromiter(mapping.keys(), np.int64, len(mapping))
    values = np.fromiter(mapping.values(), np.int64, len(mapping))
    order = np.argsort(keys)
    return keys[order], values[order]


def _look_up(index: tuple[I64, I64], devices: I64, missing: int) -> I64:
    """The numbers of ``devices`` in a sorted index, ``missing`` where a device is not in it."""
    keys, values = index
    wanted = np.asarray(devices, np.int64)
    out = np.full(len(wanted), missing, np.int64)
    if not len(keys) or not len(wanted):
        return out
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    hit = keys[at] == wanted
    out[hit] = values[at[hit]]
    return out


def carry_from_rows(
    kpis: ProfileKpis,
    places: Places,
    profile: str,
    device: I64,
    metric: list[str | None],
    ts: I64,
    value: F64,
) -> Carry:
    index = {m: i for i, m in enumerate(kpis.metrics)}
    position = places.positions(device)
    pick = np.array(
        [
            p >= 0 and places.profile[int(p)] == profile and m in index
            for p, m in zip(position.tolist(), metric, strict=True)
        ],
        np.bool_,
    )
    if not pick.any():
        return Carry.empty(len(kpis.metrics))
    table = pa.table(
        {
            "device": device[pick],
            "metric": [metric[i] for i in np.flatnonzero(pick)],
            "ts": ts[pick],
            "value": value[pick],
        }
    )
    return carry_from_table(kpis, table, index)


def carry_from_table(kpis: ProfileKpis, table: pa.Table, index: dict[str, int]) -> Carry:
    """A carry from per-(device, metric) last points: each device's frame at its last point."""
    if table.num_rows == 0:
        return Carry.empty(len(kpis.metrics))
    device = table.column("device").to_numpy().astype(np.int64)
    metric = np.array([index[str(m)] for m in table.column("metric").to_pylist()], np.int64)
    ts = table.column("ts").to_numpy().astype(np.int64)
    value = table.column("value").to_numpy().astype(np.float64)
    devices, row = np.unique(device, return_inverse=True)
    held = np.full((len(devices), len(kpis.metrics)), np.nan)
    held_ts = np.full((len(devices), len(kpis.metrics)), -1, np.int64)
    held[row, metric] = value
    held_ts[row, metric] = ts
    last = np.full(len(devices), np.iinfo(np.int64).min)
    np.maximum.at(last, row, ts)
    return Carry(devices, last, held, held_ts)
