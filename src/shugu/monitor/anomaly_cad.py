"""Contextual anomaly detection in the manner of CAD OSE (上下文异常检测, Smirnov 2016).

CAD OSE is one of NAB's leading streaming detectors. This is our own implementation of its
mechanism, one object per series, pure Python, O(contexts touched) per point. The anomaly bank
runs it per slot as its "unusual pattern" statistic (:class:`CadState`, decision 0060); the
anomaly bench also runs it alone, with each file's own range, to reproduce CAD OSE's published
scores (bench/anomaly_cad_round.py, decision 0059).

- **Facts.** A value is cut into ``2 ** value_bits`` equal ranges of a known span; the range's
  number, bit by bit, gives ``value_bits`` *sensory facts* (``2 * bit_position + bit``).
- **Contexts.** A context is a pair (left facts, right facts): what was true one step ago (the
  sensory facts and the contexts active then, as *neuron facts*) and what is true now. Each
  step stores the step's whole pair as a *zero-level* context, and intersections of stored
  contexts with the step's facts as further contexts, so that recurring sub-patterns get their
  own contexts. Pairs are stored as shared left and right halves (semi-contexts), since many
  contexts share a half.
- **Score.** A context whose left half is wholly contained in the previous step's facts is
  *selected*; if its right half is wholly present now it is *active* (the prediction came
  true). The score is the mean of the share of selected contexts that did not come true and
  the share of this step's candidate contexts that had never been seen. The most used active
  contexts (at most ``max_active``) become the neuron facts of the next step's left half.
- **Rest.** After a raw score at or over ``base_threshold`` the detector reports 0 for
  ``rest_points`` points, so one surprise gives one detection.

Memory is bounded by ``max_contexts``: when a series has stored that many contexts, its memory
is cleared and it learns afresh (with the rest period applied again), the simplest bound that
keeps the score's meaning. A context costs about 420 bytes; a series that repeats itself stores
a few hundred, a noisy one about one per point (white noise reaches the default 20,000 in
some 20,000 points). The value span is given by the caller: NAB gives each file's own minimum and
maximum; :class:`CausalCad` learns it from a warm-up instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

#: Neuron facts are numbered above every sensory fact, as context ids offset by this.
_NEURON_BASE = 2**31


@dataclass(frozen=True, slots=True)
class CadParams:
    """CAD OSE's sizes, with the published defaults."""

    base_threshold: float = 0.75
    #: Points reported as 0 after a raw score at or over ``base_threshold``.
    rest_points: int = 30
    #: Longest left half (in facts) from which an intersection may become a new context.
    max_left_facts: int = 7
    #: Most-used active contexts carried to the next step as neuron facts.
    max_active: int = 15
    value_bits: int = 3
    #: Stored contexts per series before its memory is cleared (the memory bound: about
    #: 420 bytes per context, so some 8 MB per series).
    max_contexts: int = 20_000


@dataclass(slots=True)
class _Half:
    """One semi-context: its facts and which of them are present at this step."""

    facts: tuple[int, ...]
    present: list[int] = field(default_factory=list)
    #: Right halves paired with this (left) half: right half index -> context id.
    pairs: dict[int, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Context:
    uses: int
    zero_level: bool
    #: Tie-break between equally used contexts (as CAD OSE sorts them).
    left_hash: int
    right_hash: int


Pair = tuple[tuple[int, ...], tuple[int, ...]]

_WORD = 1 << 64


def tie_hash(facts: tuple[int, ...]) -> int:
    """A fixed hash of a fact tuple, the tie-break between equally used contexts.

    It is the tuple hash CAD OSE's published outputs were computed with (64-bit, the hash of
    each fact being the fact), so those outputs reproduce exactly; Python's own tuple hash
    differs between versions, and with it which of several equally used contexts are carried.
    """
    x = 0x345678
    mult = 1000003
    left = len(facts)
    for fact in facts:
        left -= 1
        x = ((x ^ fact) * mult) % _WORD
        mult = (mult + 82520 + 2 * left) % _WORD
    x = (x + 97531) % _WORD
    if x >= 1 << 63:
        x -= _WORD
    return -2 if x == -1 else x


class _Memory:
    """The stored contexts of one series, and the halves present at the current step."""

    def __init__(self, max_left_facts: int) -> None:
        self.max_left_facts = max_left_facts
        self.index: tuple[dict[tuple[int, ...], int], dict[tuple[int, ...], int]] = ({}, {})
        self.halves: tuple[list[_Half], list[_Half]] = ([], [])
        self.by_fact: tuple[dict[int, list[int]], dict[int, list[int]]] = ({}, {})
        self.touched: list[list[int]] = [[], []]
        self.contexts: list[_Context] = []
        #: The zero-level context created at this step, which cannot yet predict anything.
        self.fresh: int | None = None

    def _half(self, side: int, facts: tuple[int, ...]) -> int:
        found = self.index[side].get(facts)
        if found is not None:
            return found
        k = len(self.halves[side])
        self.index[side][facts] = k
        self.halves[side].append(_Half(facts))
        for fact in facts:
            self.by_fact[side].setdefault(fact, []).append(k)
        return k

    def _context(self, pair: Pair, zero_level: bool) -> tuple[int, bool]:
        left = self.halves[0][self._half(0, pair[0])]
        right = self._half(1, pair[1])
        known = left.pairs.get(right)
        if known is not None:
            return known, False
        cid = len(self.contexts)
        left.pairs[right] = cid
        self.contexts.append(_Context(0, zero_level, tie_hash(pair[0]), tie_hash(pair[1])))
        return cid, True

    def add_zero_level(self, pair: Pair) -> bool:
        """Store the step's whole pair; True if it had never been seen."""
        cid, new = self._context(pair, zero_level=True)
        if new:
            self.fresh = cid
        else:
            self.contexts[cid].zero_level = True
        return new

    def add(self, pairs: list[Pair]) -> int:
        """Store intersections; how many were new."""
        return sum(self._context(pair, zero_level=False)[1] for pair in pairs)

    def cross(self, side: int, facts: tuple[int, ...]) -> None:
        """Mark, in every half of this side, which of its facts are present."""
        halves = self.halves[side]
        for k in self.touched[side]:
            halves[k].present = []
        touched: set[int] = set()
        for fact in facts:
            for k in self.by_fact[side].get(fact, ()):
                halves[k].present.append(fact)
                touched.add(k)
        # Creation order, so that new contexts are numbered as CAD OSE numbers them.
        self.touched[side] = sorted(touched)

    def predict(self, grow: bool) -> tuple[list[int], int, list[Pair]]:
        """After both sides are crossed: (active context ids, selected count, candidate new
        contexts, i.e. partial matches of zero-level contexts, only when ``grow``)."""
        active: list[int] = []
        selected = 0
        candidates: list[Pair] = []
        # CAD OSE compares ids with False when no context is fresh, which skips context 0.
        skip = 0 if self.fresh is None else self.fresh
        rights = self.halves[1]
        for k in self.touched[0]:
            left = self.halves[0][k]
            whole_left = len(left.present) == len(left.facts)
            for rk, cid in left.pairs.items():
                if cid == skip:
                    continue
                right = rights[rk]
                if not right.present:
                    if whole_left:
                        selected += 1
                    continue
                context = self.contexts[cid]
                if whole_left:
                    selected += 1
                    if len(right.present) == len(right.facts):
                        context.uses += 1
                        active.append(cid)
                        continue
                if context.zero_level and grow and len(left.present) <= self.max_left_facts:
                    candidates.append((tuple(left.present), tuple(right.present)))
        self.fresh = None
        return active, selected, candidates


class Cad:
    """CAD OSE's detector for one series whose values fall in [low, high]."""

    def __init__(self, low: float, high: float, params: CadParams | None = None) -> None:
        self.params = params or CadParams()
        self.set_span(low, high)
        self._reset()

    def set_span(self, low: float, high: float) -> None:
        """Quantise from now on over [low, high], keeping what was learned."""
        self.low = float(low)
        levels = 2**self.params.value_bits - 1.0
        span = float(high) - self.low
        self.level_width = (span if span != 0.0 else levels) / levels

    def _reset(self) -> None:
        self.memory = _Memory(self.params.max_left_facts)
        self.previous: tuple[int, ...] = ()
        # As CAD OSE starts its score history with 1.0: the first points rest.
        self.recent_high = self.params.rest_points

    @property
    def contexts(self) -> int:
        """Contexts stored for this series."""
        return len(self.memory.contexts)

    def facts(self, value: float) -> tuple[int, ...]:
        """The sensory facts of a value: its level's bits, least significant first."""
        level = int((value - self.low) / self.level_width)
        bits = max(self.params.value_bits, level.bit_length())
        return tuple(2 * b + ((level >> b) & 1) for b in range(bits))

    def raw(self, value: float) -> float:
        """The raw score of the next value, learning it (no rest period)."""
        if len(self.memory.contexts) >= self.params.max_contexts:
            self._reset()
        memory = self.memory
        now = tuple(sorted(set(self.facts(value))))
        new_zero = False
        candidates: set[Pair] = set()
        if self.previous:
            whole = (self.previous, now)
            candidates.add(whole)
            new_zero = memory.add_zero_level(whole)
        memory.cross(1, now)
        active, selected, partial = memory.predict(new_zero)
        candidates.update(partial)
        came_true = len(active) / selected if selected else 0.0

        contexts = memory.contexts
        active.sort(key=lambda c: (contexts[c].uses, contexts[c].left_hash, contexts[c].right_hash))
        neurons = {_NEURON_BASE + c for c in active[-self.params.max_active :]}
        self.previous = tuple(sorted(set(now) | neurons))
        added = (memory.add(partial) if partial else 0) + (1 if new_zero else 0)
        memory.cross(0, self.previous)
        novel = added / len(candidates) if new_zero and candidates else 0.0
        return (1.0 - came_true + novel) / 2.0

    def score(self, value: float) -> float:
        """The score of the next value: its raw score, or 0 while resting after a high one."""
        current = self.raw(value)
        out = current if self.recent_high == 0 else 0.0
        if self.recent_high > 0:
            self.recent_high -= 1
        if current >= self.params.base_threshold:
            self.recent_high = self.params.rest_points
        return out


LEAVE_RULES = ("clip", "rescale", "expand", "double")


@dataclass(frozen=True, slots=True)
class CausalParams:
    """How :class:`CausalCad` learns the value span without looking ahead."""

    #: Points whose span is learned before anything is scored (scored 0 meanwhile).
    warmup_points: int = 500
    #: The learned span is widened by this fraction of itself on each side.
    margin: float = 0.25
    #: A value outside the span: ``"clip"`` it to the span's edge; ``"rescale"``: score it
    #: clipped, then widen the span to it (plus the margin) and learn afresh (old contexts
    #: mean other ranges); ``"expand"``: widen the span to it (plus the margin), keep what was
    #: learned, then score it, as a span known in advance would place it at the edge;
    #: ``"double"``: as ``"expand"``, but the span at least doubles, so that it moves seldom.
    on_leave: str = "clip"
    cad: CadParams = CadParams(rest_points=120)


class CausalCad:
    """CAD for one series whose span is unknown: learned from the first points, then held or
    widened as ``on_leave`` says when a value leaves it."""

    def __init__(self, params: CausalParams | None = None) -> None:
        self.params = params or CausalParams()
        if self.params.on_leave not in LEAVE_RULES:
            raise ValueError(f"on_leave must be one of {LEAVE_RULES}, not {self.params.on_leave!r}")
        self.warmup: list[float] | None = []
        self.cad: Cad | None = None
        self.low = 0.0
        self.high = 0.0

    def _start(self, low: float, high: float) -> Cad:
        pad = (high - low) * self.params.margin
        self.low, self.high = low - pad, high + pad
        self.cad = Cad(self.low, self.high, self.params.cad)
        return self.cad

    def score(self, value: float) -> float:
        """The score of the next value (0 during the warm-up)."""
        if self.warmup is not None:
            self.warmup.append(value)
            if len(self.warmup) < self.params.warmup_points:
                return 0.0
            cad = self._start(min(self.warmup), max(self.warmup))
            for seen in self.warmup:
                cad.raw(seen)
            self.warmup = None
            return 0.0
        assert self.cad is not None
        rule = self.params.on_leave
        if rule in ("expand", "double") and not self.low <= value <= self.high:
            span = self.high - self.low
            pad = (max(self.high, value) - min(self.low, value)) * self.params.margin
            grow = span if rule == "double" else 0.0
            if value > self.high:
                self.high = max(value + pad, self.high + grow)
            else:
                self.low = min(value - pad, self.low - grow)
            self.cad.set_span(self.low, self.high)
        inside = min(max(value, self.low), self.high)
        out = self.cad.score(inside)
        if inside != value and self.params.on_leave == "rescale":
            self._start(min(self.low, value), max(self.high, value))
        return out


class CadState:
    """A :class:`CausalCad` per slot of an anomaly bank, made on the slot's first point.

    The bank's other statistics are numpy arrays over slots; this one is a Python object per
    slot, so its cost is per point rather than per batch (decision 0060 measures it).
    """

    def __init__(self, capacity: int, params: CausalParams) -> None:
        self.params = params
        self.detectors: list[CausalCad | None] = [None] * capacity

    def grow(self, capacity: int) -> None:
        self.detectors.extend([None] * (capacity - len(self.detectors)))

    @property
    def contexts(self) -> int:
        """Contexts stored over all slots (about 420 bytes each)."""
        return sum(d.cad.contexts for d in self.detectors if d is not None and d.cad is not None)

    def step(self, slots: IntArray, x: FloatArray, valid: BoolArray) -> FloatArray:
        """Each valid point's CAD score in [0, 1] (0 while its slot warms up or rests)."""
        out = np.zeros(len(slots))
        detectors = self.detectors
        for i in np.flatnonzero(valid).tolist():
            k = int(slots[i])
            detector = detectors[k]
            if detector is None:
                detector = detectors[k] = CausalCad(self.params)
            out[i] = detector.score(float(x[i]))
        return out
