"""Contextual anomaly detection in the manner of CAD OSE (上下文异常检测, Smirnov 2016).

CAD OSE is one of NAB's leading streaming detectors. This is our own implementation of its
mechanism, one object per series, pure Python, O(contexts touched) per point. The anomaly bench
runs it with each file's own range to reproduce CAD OSE's published scores, and causally as a
candidate for the monitor (bench/anomaly_cad_round.py, decisions 0059 to 0061). The monitor's
pattern statistic asks the same question with counts instead (decision 0062,
src/shugu/monitor/anomaly_sequence.py), at a small fraction of the cost.

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
keeps the score's meaning. A context costs about 320 bytes (decision 0061); a series that
repeats itself stores a few hundred, a noisy one several per point (uniform noise over a known
span stores some 54,000 in 4,000 points). A bound of 5,000 scored best (decision 0060), where
NAB's series held 748 on average. The value span is given by the caller: NAB gives
each file's own minimum and maximum; :class:`CausalCad` learns it from a warm-up instead.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from itertools import chain, compress

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: The farthest level a value is placed at (in levels of its span) on either side.
_FAR_LEVEL = float(2**32)

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
    #: 320 bytes per context, so some 6 MB per series at this default).
    max_contexts: int = 20_000


Pair = tuple[tuple[int, ...], tuple[int, ...]]

_WORD = 1 << 64

#: Steps remembered per series (:meth:`_Memory.predict`): a series mostly revisits a few
#: dozen steps between additions (85-90 % of steps on NAB's tweet and CPU series, 60 % on
#: taxi demand); each costs about 1 kB (a hundred active context ids).
_KNOWN_STEPS = 64
_Known = tuple[tuple[int, ...], int]


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
    """The stored contexts of one series, and how much of each half is present at this step.

    The crossing and the prediction are nearly all of the detector's time, so (decision 0061,
    the scores unchanged to the last bit): halves and contexts are parallel lists indexed by
    number, not objects; a half's present facts are counted with one ``Counter`` over the
    facts' posting lists (a loop in C), and found only when a candidate needs them; a step
    that cannot grow needs only the wholly present left halves, found among those whose last
    (largest) fact is present without counting the left side; and such a step, which adds
    nothing, is remembered until a context is added, as series revisit the same few steps.
    """

    def __init__(self, max_left_facts: int) -> None:
        self.max_left_facts = max_left_facts
        self.index: tuple[dict[tuple[int, ...], int], dict[tuple[int, ...], int]] = ({}, {})
        #: Each half's facts (a sorted tuple) and their number, per side.
        self.facts: tuple[list[tuple[int, ...]], list[tuple[int, ...]]] = ([], [])
        self.sizes: tuple[list[int], list[int]] = ([], [])
        #: Per left half, the right halves paired with it: right half -> context id.
        self.pairs: list[dict[int, int]] = []
        #: The same, zero-level contexts only (in the same order), as only they can grow.
        self.zero_pairs: list[dict[int, int]] = []
        self.by_fact: tuple[dict[int, list[int]], dict[int, list[int]]] = ({}, {})
        #: Left halves with zero-level pairs, by fact (only they can give candidates).
        self.zero_by_fact: dict[int, list[int]] = {}
        #: Left halves by their last fact: a half is wholly present only if that fact is.
        self.by_last: dict[int, list[int]] = {}
        #: Per side, at the last crossing: the facts crossed, and how many halves there were
        #: (a half made since counts as having none present, as it was not looked at).
        self.crossed: list[frozenset[int]] = [frozenset(), frozenset()]
        self.crossed_halves = [0, 0]
        #: Present facts per right half that has any, at the last crossing of the right side.
        self.right_present: Counter[int] = Counter()
        #: Per context: its uses, whether it is zero-level, its left half and its sort key's
        #: tie-break (as CAD OSE sorts equally used contexts).
        self.uses: list[int] = []
        self.zero_level: list[bool] = []
        self.left_of: list[int] = []
        self.hashes: list[tuple[int, int]] = []
        #: The zero-level context created at this step, which cannot yet predict anything.
        self.fresh: int | None = None
        #: Recent steps without growth, by crossed facts: (active context ids, selected
        #: count), valid while the number of contexts is ``known_steps_at``.
        self.known_steps: dict[tuple[frozenset[int], frozenset[int], int], _Known] = {}
        self.known_steps_at = 0

    def __len__(self) -> int:
        return len(self.uses)

    def _half(self, side: int, facts: tuple[int, ...]) -> int:
        found = self.index[side].get(facts)
        if found is not None:
            return found
        k = len(self.facts[side])
        self.index[side][facts] = k
        self.facts[side].append(facts)
        self.sizes[side].append(len(facts))
        if side == 0:
            self.pairs.append({})
            self.zero_pairs.append({})
            if facts:
                self.by_last.setdefault(facts[-1], []).append(k)
        by_fact = self.by_fact[side]
        for fact in facts:
            by_fact.setdefault(fact, []).append(k)
        return k

    def _context(self, pair: Pair, zero_level: bool) -> tuple[int, bool]:
        left = self._half(0, pair[0])
        right = self._half(1, pair[1])
        pairs = self.pairs[left]
        known = pairs.get(right)
        if known is not None:
            return known, False
        cid = len(self.uses)
        pairs[right] = cid
        self.uses.append(0)
        self.zero_level.append(zero_level)
        self.left_of.append(left)
        self.hashes.append((tie_hash(pair[0]), tie_hash(pair[1])))
        if zero_level:
            self._add_zero_pair(left, right, cid)
        return cid, True

    def _add_zero_pair(self, left: int, right: int, cid: int) -> None:
        zero_pairs = self.zero_pairs[left]
        if not zero_pairs:
            for fact in self.facts[0][left]:
                self.zero_by_fact.setdefault(fact, []).append(left)
        zero_pairs[right] = cid

    def add_zero_level(self, pair: Pair) -> bool:
        """Store the step's whole pair; True if it had never been seen."""
        cid, new = self._context(pair, zero_level=True)
        if new:
            self.fresh = cid
        elif not self.zero_level[cid]:
            self.zero_level[cid] = True
            left = self.left_of[cid]
            zero_level = self.zero_level
            if not self.zero_pairs[left]:
                for fact in self.facts[0][left]:
                    self.zero_by_fact.setdefault(fact, []).append(left)
            self.zero_pairs[left] = {r: c for r, c in self.pairs[left].items() if zero_level[c]}
        return new

    def add(self, pairs: list[Pair]) -> int:
        """Store intersections; how many were new."""
        # A repeated pair is never new (its first occurrence stored it), so it is passed once.
        return sum(self._context(pair, zero_level=False)[1] for pair in dict.fromkeys(pairs))

    def cross(self, side: int, facts: tuple[int, ...]) -> None:
        """Note the facts now present on this side (the left side is counted in predict)."""
        self.crossed[side] = frozenset(facts)
        self.crossed_halves[side] = len(self.facts[side])
        if side == 1:
            self.right_present = self._count(1)

    def _count(self, side: int, by_fact: dict[int, list[int]] | None = None) -> Counter[int]:
        """Present facts per half (of those at the last crossing, and of ``by_fact``'s
        postings, all halves of the side by default) that has any."""
        if by_fact is None:
            by_fact = self.by_fact[side]
        lists = [by_fact[fact] for fact in self.crossed[side] if fact in by_fact]
        counts = Counter(chain.from_iterable(lists))
        for k in range(self.crossed_halves[side], len(self.facts[side])):
            counts.pop(k, None)
        return counts

    def _whole_lefts(self) -> list[int]:
        """The left halves (of those at the last crossing) wholly present, in creation order."""
        crossed, by_last, facts = self.crossed[0], self.by_last, self.facts[0]
        keyed = list(chain.from_iterable([by_last[fact] for fact in crossed if fact in by_last]))
        wholes = sorted(compress(keyed, map(crossed.issuperset, map(facts.__getitem__, keyed))))
        return wholes[: bisect_left(wholes, self.crossed_halves[0])]

    def _present(self, side: int, k: int) -> tuple[int, ...]:
        # Halves' facts are sorted tuples, as are the crossed facts, so this keeps their order.
        crossed = self.crossed[side]
        return tuple(filter(crossed.__contains__, self.facts[side][k]))

    def predict(self, grow: bool) -> tuple[list[int], int, list[Pair]]:
        """After both sides are crossed: (active context ids, selected count, candidate new
        contexts, i.e. partial matches of zero-level contexts, only when ``grow``)."""
        # CAD OSE compares ids with False when no context is fresh, which skips context 0.
        skip = 0 if self.fresh is None else self.fresh
        self.fresh = None
        if grow:
            return self._predict_growing(skip, self._whole_rights())
        # A step that does not grow adds nothing, so while no context is added the same
        # crossed facts select and activate the same contexts (their uses aside).
        if self.known_steps_at != len(self.uses):
            self.known_steps.clear()
            self.known_steps_at = len(self.uses)
        key = (self.crossed[0], self.crossed[1], skip)
        known = self.known_steps.get(key)
        if known is None:
            if len(self.known_steps) >= _KNOWN_STEPS:
                self.known_steps.clear()
            known = self.known_steps[key] = self._came_true(skip)
        came_true, selected = known
        uses = self.uses
        for cid in came_true:
            uses[cid] += 1
        return list(came_true), selected, []

    def _whole_rights(self) -> set[int]:
        right_sizes = self.sizes[1]
        return {rk for rk, n in self.right_present.items() if n == right_sizes[rk]}

    def _came_true(self, skip: int) -> tuple[tuple[int, ...], int]:
        """Without growth: (active context ids, selected count). Only the wholly present left
        halves matter."""
        active: list[int] = []
        selected = 0
        skip_left = self.left_of[skip] if skip < len(self.left_of) else -1
        whole_rights = self._whole_rights()
        all_pairs = self.pairs
        for k in self._whole_lefts():
            pairs = all_pairs[k]
            selected += len(pairs)
            came_true = [cid for rk, cid in pairs.items() if rk in whole_rights]
            if k == skip_left:
                selected -= 1
                came_true = [cid for cid in came_true if cid != skip]
            active += came_true
        return tuple(active), selected

    def _predict_growing(
        self, skip: int, whole_rights: set[int]
    ) -> tuple[list[int], int, list[Pair]]:
        active: list[int] = []
        selected = 0
        candidates: list[Pair] = []
        skip_left = self.left_of[skip] if skip < len(self.left_of) else -1
        left_sizes, left_facts_of, crossed = self.sizes[0], self.facts[0], self.crossed[0]
        right_facts = {rk: self._present(1, rk) for rk in self.right_present}
        all_pairs, zero_pairs, uses, zero_level = (
            self.pairs,
            self.zero_pairs,
            self.uses,
            self.zero_level,
        )
        limit = self.max_left_facts
        wholes = set(self._whole_lefts())
        partial = self._count(0, self.zero_by_fact)
        growing = wholes.union([k for k, n in partial.items() if n <= limit])
        # Creation order, so that new contexts are numbered as CAD OSE numbers them.
        for k in sorted(growing):
            whole_left = k in wholes
            if whole_left:
                n = left_sizes[k]
                pairs = all_pairs[k]
                selected += len(pairs) - (k == skip_left)
            else:
                n = partial[k]
                pairs = zero_pairs[k]
            left_facts: tuple[int, ...] | None = None
            for rk, cid in pairs.items():
                if cid == skip or rk not in right_facts:
                    continue
                if whole_left and rk in whole_rights:
                    uses[cid] += 1
                    active.append(cid)
                elif n <= limit and zero_level[cid]:
                    if left_facts is None:
                        # In the order of the half's (sorted) facts, as the crossed facts are.
                        left_facts = tuple(filter(crossed.__contains__, left_facts_of[k]))
                    candidates.append((left_facts, right_facts[rk]))
        return active, selected, candidates

    def most_used(self, ids: list[int], n: int) -> list[int]:
        """The last ``n`` of ``ids`` stably sorted by (uses, tie-break), in some order.

        Only the contexts used as often as the ``n``-th most used are sorted (a step has
        about a hundred active contexts, of which a few share that count).
        """
        uses = self.uses
        if n <= 0:
            return sorted(ids, key=lambda c: (uses[c], self.hashes[c]))[-n:]
        if len(ids) <= n:
            return ids
        counts = list(map(uses.__getitem__, ids))
        cut = sorted(counts)[-n]
        above = list(compress(ids, map(cut.__lt__, counts)))
        at = list(compress(ids, map(cut.__eq__, counts)))
        # Stable, so equal tie-breaks keep their order in ids, and the last of them are kept.
        at.sort(key=self.hashes.__getitem__)
        return above + at[len(above) - n :]


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
        return len(self.memory)

    def facts(self, value: float) -> tuple[int, ...]:
        """The sensory facts of a value: its level's bits, least significant first."""
        position = (value - self.low) / self.level_width
        if not -_FAR_LEVEL < position < _FAR_LEVEL:
            # Values near the float limits overflow the span (inf / inf is NaN): level 0 for
            # those, and a far level, not thousands of bits, for one beyond all reason.
            position = 0.0 if math.isnan(position) else math.copysign(_FAR_LEVEL, position)
        level = int(position)
        bits = max(self.params.value_bits, level.bit_length())
        return tuple(2 * b + ((level >> b) & 1) for b in range(bits))

    def raw(self, value: float) -> float:
        """The raw score of the next value, learning it (no rest period)."""
        if len(self.memory) >= self.params.max_contexts:
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

        neurons = {_NEURON_BASE + c for c in memory.most_used(active, self.params.max_active)}
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
