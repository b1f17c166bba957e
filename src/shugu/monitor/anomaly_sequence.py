"""The pattern statistic: how surprising a series' next value range is, given its last few
(序列模式统计, decision 0062).

It asks what CAD OSE asks (:mod:`shugu.monitor.anomaly_cad`: has this sequence of value ranges
been seen, and did what usually follows it happen?) with counts instead of learned contexts, so
that it is a few numpy operations per batch over all slots of an anomaly bank rather than a
Python walk per point.

- **Ranges.** A slot learns its value span from its first ``warmup_points`` points (widened by
  ``margin`` of itself on each side) and cuts it into ``2 ** max(bits)`` equal ranges; each
  resolution in ``bits`` looks at the same ranges merged ``2 ** bits`` at a time. A value
  outside the span is scored at the span's edge; then the span is widened to it (plus the
  margin) and the slot learns afresh, since the old ranges meant other values.
- **Counts.** For each resolution and each order ``k`` in ``orders``, the slot counts how often
  each sequence of ``k`` ranges was seen (a context) and which range came next. The tables are
  exact (no hashing): 2 resolutions x 3 orders hold 668 contexts and 5,008 transitions, 11 kB
  a slot at 16 bits a count; a context's row is halved when its count would overflow.
- **Score.** Over the tables whose context has been seen, the mean share of that context's
  continuations that were not this one (the prediction failed); over all tables with enough
  history, the share in which this continuation is new. The score is the mean of the two, in
  [0, 1]: a never-seen step after a well-known sequence scores 1.
- **Rest.** After a raw score at or over ``base_threshold`` the slot reports 0 for
  ``rest_points`` points, so one surprise gives one detection (as CAD OSE does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shugu.monitor.anomaly_context import grow_slots

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

#: A context's count is kept below this; at it, the context's row of counts is halved (rounded
#: up, so that a continuation once seen stays seen).
_COUNT_LIMIT = 60_000


@dataclass(frozen=True, slots=True)
class SequenceParams:
    """Sizes of the pattern statistic (chosen on NAB's tuning and validation series, 0062)."""

    #: Points whose span is learned before anything is scored (scored 0 meanwhile).
    warmup_points: int = 500
    #: The learned span is widened by this fraction of itself on each side.
    margin: float = 0.25
    #: Resolutions, in bits: 2 and 3 are 4 and 8 ranges over the span.
    bits: tuple[int, ...] = (2, 3)
    #: Lengths of the sequences of ranges that predict the next one.
    orders: tuple[int, ...] = (1, 2, 3)
    #: Points reported as 0 after a raw score at or over ``base_threshold``.
    rest_points: int = 120
    base_threshold: float = 0.75


@dataclass(frozen=True, slots=True)
class _Table:
    """Where one (resolution, order) table lives in a slot's rows of counts."""

    shift: int
    ranges: int
    order: int
    contexts_at: int
    transitions_at: int


def _tables(params: SequenceParams) -> tuple[list[_Table], int, int]:
    """The tables in scoring order, and the number of contexts and transitions in all."""
    finest = max(params.bits)
    tables: list[_Table] = []
    contexts = transitions = 0
    for bits in params.bits:
        ranges = 2**bits
        for order in params.orders:
            tables.append(_Table(finest - bits, ranges, order, contexts, transitions))
            contexts += ranges**order
            transitions += ranges ** (order + 1)
    return tables, contexts, transitions


class SequenceState:
    """The pattern statistic's state for every slot of an anomaly bank, as numpy arrays."""

    def __init__(self, capacity: int, params: SequenceParams) -> None:
        if not params.bits or not params.orders or min(params.bits) < 1 or min(params.orders) < 1:
            raise ValueError("bits and orders must be non-empty and positive")
        if params.warmup_points < 1 or params.rest_points < 0 or params.margin < 0:
            raise ValueError("warmup_points must be positive, rest_points and margin not negative")
        self.params = params
        self.tables, n_contexts, n_transitions = _tables(params)
        self.top = 2 ** max(params.bits)
        self._shift = np.array([t.shift for t in self.tables], dtype=np.intp)
        self._ranges = np.array([t.ranges for t in self.tables], dtype=np.intp)
        self._order = np.array([t.order for t in self.tables], dtype=np.intp)
        self._contexts_at = np.array([t.contexts_at for t in self.tables], dtype=np.intp)
        self._transitions_at = np.array([t.transitions_at for t in self.tables], dtype=np.intp)
        #: Per table, the weight of each range of the history in its context's number.
        self._weight = np.array(
            [
                [t.ranges**back if back < t.order else 0 for back in range(max(params.orders))]
                for t in self.tables
            ],
            dtype=np.intp,
        )
        self.depth = max(params.orders)
        cap = max(int(capacity), 1)
        self.taken = np.zeros(cap, dtype=np.intp)
        self.warm = np.zeros((cap, params.warmup_points))
        self.started = np.zeros(cap, dtype=np.bool_)
        self.low = np.zeros(cap)
        self.high = np.zeros(cap)
        #: The last ``depth`` ranges at the finest resolution, newest first, and how many of
        #: them are known since the slot (re)started.
        self.history = np.zeros((cap, self.depth), dtype=np.intp)
        self.known = np.zeros(cap, dtype=np.intp)
        self.resting = np.zeros(cap, dtype=np.intp)
        self.contexts = np.zeros((cap, n_contexts), dtype=np.uint16)
        self.transitions = np.zeros((cap, n_transitions), dtype=np.uint16)
        #: Per point of the last :meth:`step`: the score before the rest (0 while warming up),
        #: and whether the point was scored (valid, and its slot past the warm-up).
        self.raw = np.zeros(0)
        self.scored = np.zeros(0, dtype=np.bool_)

    _FIELDS = (
        "taken", "warm", "started", "low", "high", "history", "known", "resting",
        "contexts", "transitions",
    )  # fmt: skip

    def grow(self, capacity: int) -> None:
        grow_slots(self, self._FIELDS, capacity)

    @property
    def bytes_per_slot(self) -> int:
        per = (self.contexts.itemsize * self.contexts.shape[1]) + (
            self.transitions.itemsize * self.transitions.shape[1]
        )
        return per + self.warm.itemsize * self.warm.shape[1] + 8 * (self.depth + 6)

    def step(self, slots: IntArray, x: FloatArray, valid: BoolArray) -> FloatArray:
        """Each valid point's score in [0, 1] (0 while its slot warms up or rests).

        ``slots`` are unique within a call, as in :meth:`AnomalyBank.update`.
        """
        out = np.zeros(len(slots))
        self.raw = np.zeros(len(slots))
        started = self.started[slots]
        self.scored = valid & started
        warming = np.flatnonzero(valid & ~started)
        if len(warming):
            self._warm_up(slots[warming], x[warming])
        live = np.flatnonzero(valid & started)
        if len(live):
            out[live], self.raw[live] = self._score(slots[live], x[live])
        return out

    def _warm_up(self, slots: IntArray, x: FloatArray) -> None:
        at = self.taken[slots]
        self.warm[slots, at] = x
        self.taken[slots] = at + 1
        for slot in slots[at + 1 == self.params.warmup_points].tolist():
            self._start(slot)

    def _levels(self, x: FloatArray, low: FloatArray, high: FloatArray) -> IntArray:
        span = high - low
        safe = np.where(span > 0, span, 1.0)
        level = np.floor((x - low) / safe * self.top)
        level = np.minimum(np.maximum(level, 0), self.top - 1)
        return np.where(span > 0, level, 0).astype(np.intp)

    def _set_span(self, slots: IntArray, low: FloatArray, high: FloatArray) -> None:
        pad = (high - low) * self.params.margin
        self.low[slots] = low - pad
        self.high[slots] = high + pad

    def _start(self, slot: int) -> None:
        """Learn the span from the warm-up, and count the warm-up's steps in it."""
        values = self.warm[slot]
        one = np.array([slot], dtype=np.intp)
        self._set_span(one, values.min(keepdims=True), values.max(keepdims=True))
        levels = self._levels(values, self.low[one], self.high[one])
        contexts, transitions = self.contexts[slot], self.transitions[slot]
        for t in self.tables:
            if len(levels) <= t.order:  # a warm-up shorter than the sequence counts nothing
                continue
            digits = levels >> t.shift
            context = np.zeros(len(digits) - t.order, dtype=np.intp)
            for back in range(t.order):
                context += digits[t.order - 1 - back : len(digits) - 1 - back] * t.ranges**back
            np.add.at(contexts, t.contexts_at + context, 1)
            np.add.at(transitions, t.transitions_at + context * t.ranges + digits[t.order :], 1)
        depth = min(self.depth, len(levels))
        self.history[slot, :depth] = levels[::-1][:depth]
        self.known[slot] = depth
        self.started[slot] = True

    def _score(self, slots: IntArray, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        low, high = self.low[slots], self.high[slots]
        inside = np.minimum(np.maximum(x, low), high)
        level = self._levels(inside, low, high)
        history, known = self.history[slots], self.known[slots]
        # Every table at once: (points, tables) indices into the slot's rows of counts.
        shifted = history[:, None, :] >> self._shift[None, :, None]
        context = (shifted * self._weight[None, :, :]).sum(axis=2)
        have = known[:, None] >= self._order[None, :]
        c_at = self._contexts_at + context
        t_at = self._transitions_at + context * self._ranges + (level[:, None] >> self._shift)
        rows = slots[:, None]
        seen = self.contexts[rows, c_at].astype(np.float64)
        came = self.transitions[rows, t_at].astype(np.float64)
        supported = have & (seen > 0)
        failure = np.where(supported, 1.0 - came / np.where(seen > 0, seen, 1.0), 0.0)
        # Summed table by table, in order, so that the score does not depend on numpy's
        # summation order.
        failed = np.zeros(len(slots))
        for j in range(len(self.tables)):
            failed += failure[:, j]
        predicted = supported.sum(axis=1)
        new = (have & (came == 0)).sum(axis=1)
        counted = have.sum(axis=1)
        grow = np.broadcast_to(rows, have.shape)[have]
        self.contexts[grow, c_at[have]] += np.uint16(1)
        self.transitions[grow, t_at[have]] += np.uint16(1)
        for i, j in zip(*np.nonzero(have & (seen + 1 >= _COUNT_LIMIT)), strict=True):
            self._halve(int(slots[i]), self.tables[j], int(context[i, j]))
        fail = np.where(predicted > 0, failed / np.where(predicted > 0, predicted, 1), 0.0)
        novel = np.where(counted > 0, new / np.where(counted > 0, counted, 1), 0.0)
        raw = np.where(counted > 0, (fail + novel) / 2.0, 0.0)

        resting = self.resting[slots]
        out = np.where(resting == 0, raw, 0.0)
        resting = np.where(resting > 0, resting - 1, 0)
        self.resting[slots] = np.where(
            raw >= self.params.base_threshold, self.params.rest_points, resting
        )
        self.history[slots] = np.concatenate([level[:, None], history[:, :-1]], axis=1)
        self.known[slots] = np.minimum(known + 1, self.depth)
        left = inside != x
        if left.any():
            self._relearn(slots[left], x[left])
        return out, raw

    def _halve(self, slot: int, t: _Table, context: int) -> None:
        start = t.transitions_at + context * t.ranges
        row = self.transitions[slot, start : start + t.ranges]
        row[:] = (row + 1) // 2
        self.contexts[slot, t.contexts_at + context] = int(row.sum())

    def _relearn(self, slots: IntArray, x: FloatArray) -> None:
        """Widen each slot's span to its value (plus the margin) and forget its counts."""
        self._set_span(slots, np.minimum(self.low[slots], x), np.maximum(self.high[slots], x))
        self.contexts[slots] = 0
        self.transitions[slots] = 0
        self.known[slots] = 0
