"""Facts per device and hour from a profile's points: one vectorised pass, no loop per point.

A device's points make *frames*: one row per timestamp holding every metric's latest value
(sample-and-hold, as the device reported it). Each span between two consecutive frames
contributes to the facts (seconds in a state, value·hours of an integral, ...) of the hours it
covers, split at hour boundaries; a counter's increase is spread over the span between two of its
readings. A contribution depends on the two ends of its span only, so facts computed from a
device's whole series equal the sum of facts computed batch by batch, each batch starting from
the frame the last one ended with (its ``Carry``). The engine relies on that: points arriving in
order are added as they come; late ones make it recompute the hours they touch from the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from shugu.analytics.model import COUNTER_MAX_SPAN_S, HOUR_MS, FactSpec, ProfileKpis

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: A counter reading below this share of the one before means the counter restarted.
RESTART_SHARE = 0.5
#: Cell keys pack (device, hour index); hour indices stay below 2**21 until the year 2209.
_HOUR_BITS = 21


class PlannedTime(Protocol):
    """The calendar as the fact pass needs it: planned milliseconds of spans."""

    def overlap(self, device: I64, start_ms: I64, end_ms: I64) -> I64:
        """Planned milliseconds of each span [start, end) in its device's enterprise calendar."""
        ...


class AlwaysPlanned:
    """Every hour planned (a plant running round the clock, or no calendar known)."""

    def overlap(self, device: I64, start_ms: I64, end_ms: I64) -> I64:
        return end_ms - start_ms


@dataclass(frozen=True, slots=True)
class Points:
    """Rows of one profile's devices; ``metric`` indexes ``ProfileKpis.metrics``."""

    device: I64
    metric: I64
    ts: I64
    value: F64

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True, slots=True)
class Carry:
    """Where each device's series ended: its last frame's time, every metric's held value (NaN:
    none yet) and the time that value was read (for counters, whose increase is spread from
    their previous reading)."""

    device: I64
    ts: I64
    held: F64
    held_ts: I64

    def merged(self, newer: Carry) -> Carry:
        """This carry with ``newer``'s devices replaced or added (ordered by device)."""
        if not len(self.device):
            return newer
        keep = ~np.isin(self.device, newer.device)
        device = np.concatenate([self.device[keep], newer.device])
        order = np.argsort(device, kind="stable")
        return Carry(
            device[order],
            np.concatenate([self.ts[keep], newer.ts])[order],
            np.concatenate([self.held[keep], newer.held])[order],
            np.concatenate([self.held_ts[keep], newer.held_ts])[order],
        )

    def of(self, devices: I64) -> Carry:
        """The carries of ``devices`` (those that have one)."""
        pick = np.isin(self.device, devices)
        return Carry(self.device[pick], self.ts[pick], self.held[pick], self.held_ts[pick])

    @staticmethod
    def empty(metrics: int) -> Carry:
        return Carry(
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros((0, metrics)),
            np.zeros((0, metrics), np.int64),
        )


@dataclass(frozen=True, slots=True)
class Cells:
    """Fact values per (device, hour start ms); ``values[i, j]`` is fact j of cell i."""

    device: I64
    hour: I64
    values: F64

    def __len__(self) -> int:
        return len(self.device)

    @staticmethod
    def empty(facts: int) -> Cells:
        return Cells(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, facts)))


def cell_keys(device: I64, hour_ms: I64) -> I64:
    key: I64 = (device << _HOUR_BITS) | (hour_ms // HOUR_MS)
    return key


def key_parts(key: I64) -> tuple[I64, I64]:
    device: I64 = key >> _HOUR_BITS
    hour: I64 = (key & ((1 << _HOUR_BITS) - 1)) * HOUR_MS
    return device, hour


@dataclass(slots=True)
class _Pieces:
    """Contributions before they are summed into cells."""

    device: list[I64]
    hour: list[I64]
    fact: list[I64]
    weight: list[F64]

    def add(self, device: I64, hour: I64, fact: int, weight: F64) -> None:
        keep = weight != 0
        if keep.any():
            self.device.append(device[keep])
            self.hour.append(hour[keep])
            self.fact.append(np.full(int(keep.sum()), fact, np.int64))
            self.weight.append(weight[keep])


def _split_by_hour(start: I64, end: I64) -> tuple[I64, I64, I64, I64]:
    """Each span cut at hour boundaries: (span index, hour start, piece start, piece end)."""
    first = start // HOUR_MS
    last = (end - 1) // HOUR_MS
    count = last - first + 1
    span = np.repeat(np.arange(len(start), dtype=np.int64), count)
    offset = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(count) - count, count
    )
    hour = (first[span] + offset) * HOUR_MS
    piece_start = np.maximum(start[span], hour)
    piece_end = np.minimum(end[span], hour + HOUR_MS)
    return span, hour, piece_start, piece_end


class _Frames:
    """Points (and carries) as frames: one row per (device, timestamp), values held forward."""

    def __init__(self, kpis: ProfileKpis, points: Points, carry: Carry) -> None:
        metrics = len(kpis.metrics)
        n_carry = len(carry.device)
        device = np.concatenate([carry.device, points.device])
        ts = np.concatenate([carry.ts, points.ts])
        metric = np.concatenate([np.full(n_carry, -1, np.int64), points.metric])
        # Carry rows sort before any point of the same time; a re-sent point keeps its last value.
        is_point = np.concatenate([np.zeros(n_carry, np.int64), np.ones(len(points), np.int64)])
        order = np.lexsort((np.arange(len(ts)), is_point, ts, device))
        device, ts, metric = device[order], ts[order], metric[order]
        source = order - n_carry  # index into points, negative for carry rows
        new_row = np.ones(len(ts), np.bool_)
        if len(ts) > 1:
            new_row[1:] = (device[1:] != device[:-1]) | (ts[1:] != ts[:-1])
        row = np.cumsum(new_row) - 1
        n = int(row[-1]) + 1 if len(row) else 0
        self.device: I64 = device[new_row]
        self.ts: I64 = ts[new_row]
        values = np.full((n, metrics), np.nan)
        observed = np.zeros((n, metrics), np.bool_)
        obs_ts = np.full((n, metrics), -1, np.int64)
        point = source >= 0
        values[row[point], metric[point]] = points.value[source[point]]
        observed[row[point], metric[point]] = True
        obs_ts[row[point], metric[point]] = ts[point]
        if n_carry:
            carry_rows = row[~point]
            carry_index = source[~point] + n_carry
            held_known = ~np.isnan(carry.held[carry_index])
            # A point at the carry's own time replaces the carried value.
            take = held_known & ~observed[carry_rows]
            values[carry_rows] = np.where(take, carry.held[carry_index], values[carry_rows])
            obs_ts[carry_rows] = np.where(take, carry.held_ts[carry_index], obs_ts[carry_rows])
        self.observed: BoolArray = observed
        starts = np.ones(n, np.bool_)
        if n > 1:
            starts[1:] = self.device[1:] != self.device[:-1]
        self.first_of_device: BoolArray = starts
        # Hold each metric forward within its device.
        index = np.arange(n, dtype=np.int64)
        first_row = np.maximum.accumulate(np.where(starts, index, 0))
        known = ~np.isnan(values)
        last = np.maximum.accumulate(np.where(known, index[:, None], -1), axis=0)
        inside = last >= first_row[:, None]
        safe = np.maximum(last, 0)
        columns = np.arange(metrics)[None, :]
        self.held: F64 = np.where(inside, values[safe, columns], np.nan)
        self.held_ts: I64 = np.where(inside, obs_ts[safe, columns], -1)
        self.values = values

    def carry(self) -> Carry:
        """Each device's last frame."""
        n = len(self.ts)
        last = np.ones(n, np.bool_)
        if n > 1:
            last[:-1] = self.device[1:] != self.device[:-1]
        return Carry(self.device[last], self.ts[last], self.held[last], self.held_ts[last])


def compute_cells(
    kpis: ProfileKpis,
    points: Points,
    carry: Carry | None = None,
    planned: PlannedTime | None = None,
    hours: tuple[int, int] | None = None,
) -> tuple[Cells, Carry]:
    """The facts ``points`` contribute (spans from each device's carry on), per device and hour,
    and the carry they end with. ``hours`` keeps only cells whose hour lies in [start, end)."""
    planned = planned or AlwaysPlanned()
    frames = _Frames(kpis, points, carry or Carry.empty(len(kpis.metrics)))
    pieces = _Pieces([], [], [], [])
    n = len(frames.ts)
    if n >= 2:
        span_from = np.flatnonzero(~frames.first_of_device[1:])  # frame i with a successor i+1
        _span_facts(kpis, frames, span_from, planned, pieces)
        _entry_facts(kpis, frames, span_from, planned, pieces)
        _counter_facts(kpis, frames, planned, pieces)
    return _sum_cells(len(kpis.facts), pieces, hours), frames.carry()


def _span_facts(
    kpis: ProfileKpis, frames: _Frames, i: I64, planned: PlannedTime, pieces: _Pieces
) -> None:
    """Facts of the held values over each span between consecutive frames."""
    start, end = frames.ts[i], frames.ts[i + 1]
    inside = (end - start) <= int(kpis.max_gap_s * 1000)
    if not inside.any():
        return
    i, start, end = i[inside], start[inside], end[inside]
    held = frames.held[i]
    device = frames.device[i]
    span, hour, piece_start, piece_end = _split_by_hour(start, end)
    piece_ms = (piece_end - piece_start).astype(np.float64)
    planned_ms: F64 | None = None
    index = {name: k for k, name in enumerate(kpis.metrics)}
    columns = {name: held[:, k] for name, k in index.items()}
    for j, fact in enumerate(kpis.facts):
        if fact.kind == "state_entries" or fact.kind == "counter":
            continue
        per_span = _span_value(fact, columns, index)
        if per_span is None:
            continue
        weight = per_span[span] * piece_ms / 1000.0  # seconds, or value·seconds
        if fact.kind == "integral":
            weight = weight / 3600.0  # value·hours
        if fact.planned_only:
            if planned_ms is None:
                planned_ms = planned.overlap(device[span], piece_start, piece_end).astype(
                    np.float64
                )
            weight = weight * np.divide(
                planned_ms, piece_ms, out=np.zeros_like(piece_ms), where=piece_ms > 0
            )
        pieces.add(device[span], hour, j, np.nan_to_num(weight, nan=0.0))


def _span_value(fact: FactSpec, columns: dict[str, F64], index: dict[str, int]) -> F64 | None:
    """Per span: 1 where a time fact counts (0 elsewhere), or the integrand of an integral."""
    if fact.kind == "state_time":
        assert fact.metric is not None
        value = columns[fact.metric]
        return np.isin(value, np.asarray(fact.states, np.float64)).astype(np.float64)
    if fact.kind == "integral":
        assert fact.expr is not None
        return np.nan_to_num(fact.expr.evaluate(columns), nan=0.0)
    if fact.kind == "time_within":
        ok = np.ones(len(next(iter(columns.values()))), np.bool_) if columns else None
        if ok is None:
            return None
        for bound in fact.bounds:
            value = bound.expr.evaluate(columns)
            known = ~np.isnan(value)
            ok &= known
            if bound.minimum is not None:
                ok &= np.where(known, value >= bound.minimum, False)
            if bound.maximum is not None:
                ok &= np.where(known, value <= bound.maximum, False)
        return ok.astype(np.float64)
    if fact.kind == "data_time":
        assert fact.expr is not None
        ok = np.ones(len(next(iter(columns.values()))), np.bool_)
        for name in fact.expr.names:
            ok &= ~np.isnan(columns[name])
        return ok.astype(np.float64)
    return None


def _entry_facts(
    kpis: ProfileKpis, frames: _Frames, i: I64, planned: PlannedTime, pieces: _Pieces
) -> None:
    """Entries into states: counted at the frame where the state is first read, when the span
    before it is no gap and the state before it is known and outside the states."""
    index = {name: k for k, name in enumerate(kpis.metrics)}
    max_gap = int(kpis.max_gap_s * 1000)
    for j, fact in enumerate(kpis.facts):
        if fact.kind != "state_entries":
            continue
        assert fact.metric is not None
        m = index[fact.metric]
        states = np.asarray(fact.states, np.float64)
        before, after = frames.held[i, m], frames.values[i + 1, m]
        entered = (
            frames.observed[i + 1, m]
            & np.isin(after, states)
            & ~np.isnan(before)
            & ~np.isin(before, states)
            & ((frames.ts[i + 1] - frames.ts[i]) <= max_gap)
        )
        at = i[entered] + 1
        if not len(at):
            continue
        ts = frames.ts[at]
        device = frames.device[at]
        weight = np.ones(len(at))
        if fact.planned_only:
            weight = (planned.overlap(device, ts, ts + 1) > 0).astype(np.float64)
        pieces.add(device, (ts // HOUR_MS) * HOUR_MS, j, weight)


def _counter_facts(
    kpis: ProfileKpis, frames: _Frames, planned: PlannedTime, pieces: _Pieces
) -> None:
    """A counter's increase between two readings, spread over the time between them; a drop is a
    restart from zero (the new reading is the increase since) when it falls below half the last
    reading, a smaller drop is no use; longer silences are dropped. A
    planned-only counter keeps the share of the increase that fell in planned time."""
    index = {name: k for k, name in enumerate(kpis.metrics)}
    for j, fact in enumerate(kpis.facts):
        if fact.kind != "counter":
            continue
        assert fact.metric is not None
        m = index[fact.metric]
        read = np.flatnonzero(frames.observed[:, m] & ~frames.first_of_device)
        if not len(read):
            continue
        previous = frames.held[read - 1, m]
        previous_ts = frames.held_ts[read - 1, m]
        value = frames.values[read, m]
        ts = frames.ts[read]
        ok = ~np.isnan(previous) & (previous_ts >= 0) & ~np.isnan(value)
        ok &= (ts - previous_ts) <= COUNTER_MAX_SPAN_S * 1000
        ok &= ts > previous_ts
        if not ok.any():
            continue
        read, previous, previous_ts, value, ts = (
            read[ok],
            previous[ok],
            previous_ts[ok],
            value[ok],
            ts[ok],
        )
        # A counter that falls below half its reading restarted from zero (the new reading is
        # the increase since); a smaller drop is a reading's jitter or a meter's correction:
        # nothing was used, and nothing is counted twice when it climbs back.
        restarted = value < RESTART_SHARE * previous
        increase = np.where(value >= previous, value - previous, np.where(restarted, value, 0.0))
        span, hour, piece_start, piece_end = _split_by_hour(previous_ts, ts)
        device = frames.device[read][span]
        counted = (piece_end - piece_start).astype(np.float64)
        if fact.planned_only:
            counted = planned.overlap(device, piece_start, piece_end).astype(np.float64)
        share = counted / (ts - previous_ts)[span]
        pieces.add(device, hour, j, increase[span] * share)


def _sum_cells(facts: int, pieces: _Pieces, hours: tuple[int, int] | None) -> Cells:
    if not pieces.device:
        return Cells.empty(facts)
    device = np.concatenate(pieces.device)
    hour = np.concatenate(pieces.hour)
    fact = np.concatenate(pieces.fact)
    weight = np.concatenate(pieces.weight)
    if hours is not None:
        keep = (hour >= hours[0]) & (hour < hours[1])
        device, hour, fact, weight = device[keep], hour[keep], fact[keep], weight[keep]
        if not len(device):
            return Cells.empty(facts)
    keys, cell = np.unique(cell_keys(device, hour), return_inverse=True)
    values = np.zeros((len(keys), facts))
    np.add.at(values, (cell, fact), weight)
    cell_device, cell_hour = key_parts(keys)
    return Cells(cell_device, cell_hour, values)
