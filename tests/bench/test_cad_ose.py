"""The CAD OSE-style contextual detector learns a repeated pattern and is surprised by a new one."""

from __future__ import annotations

import hashlib
import math
import struct

import pytest
from bench.cad_ose import Cad, CadParams, CausalCad, CausalParams, tie_hash

#: One cycle of a sine wave, 16 points, over the detector's span [-1, 1].
CYCLE = [math.sin(2 * math.pi * i / 16) for i in range(16)]


def learned(cycles: int = 40, params: CadParams | None = None) -> tuple[Cad, list[float]]:
    cad = Cad(-1.0, 1.0, params)
    raws = [cad.raw(CYCLE[i % 16]) for i in range(16 * cycles)]
    return cad, raws


def test_a_repeated_pattern_becomes_unsurprising() -> None:
    _, raws = learned()
    first, last = raws[1:16], raws[-16:]
    assert sum(first) / len(first) > 0.7
    assert max(last) < 0.3


def test_a_new_pattern_after_learning_scores_high() -> None:
    cad, _ = learned()
    # The sine stops at its peak and then jumps between the extremes: steps never seen.
    odd = [cad.raw(v) for v in [CYCLE[0]] * 5 + [0.99, -0.99, 0.99, -0.99]]
    assert max(odd) >= 0.85
    # Back to the known cycle: unsurprising again within two cycles.
    back = [cad.raw(CYCLE[i % 16]) for i in range(48)]
    assert max(back[-16:]) < 0.3


def test_scores_rest_after_a_high_one() -> None:
    cad = Cad(-1.0, 1.0, CadParams(rest_points=10))
    scores = [cad.score(CYCLE[i % 16]) for i in range(16 * 40)]
    assert scores[:10] == [0.0] * 10  # the start rests, as after a high score
    jump = [cad.score(v) for v in [CYCLE[0]] * 5 + [0.99, -0.99, 0.99, -0.99] + [0.0] * 8]
    high = next(i for i, s in enumerate(jump) if s >= 0.75)
    assert jump[high + 1 : high + 11] == [0.0] * 10


def test_memory_is_bounded_by_max_contexts() -> None:
    cad = Cad(0.0, 1.0, CadParams(max_contexts=300))
    values = [((i * 7919) % 101) / 100.0 for i in range(5000)]  # no repeating short pattern
    most = 0
    for v in values:
        cad.score(v)
        most = max(most, cad.contexts)
    assert most <= 300 + 50  # a step adds a few contexts past the cap before the next clears it
    assert most > 250


def test_ties_are_broken_by_a_fixed_hash() -> None:
    # The 64-bit tuple hash CAD OSE's published scores were computed with.
    assert tie_hash((1, 2, 3)) == 2528502973977326415
    assert tie_hash(()) == 3527539


def test_causal_learns_its_span_from_the_warm_up_and_clips_beyond() -> None:
    causal = CausalCad(CausalParams(warmup_points=32, margin=0.5, on_leave="clip"))
    warm = [causal.score(CYCLE[i % 16]) for i in range(32)]
    assert warm == [0.0] * 32
    assert (causal.low, causal.high) == pytest.approx((-2.0, 2.0))
    for i in range(16 * 20):
        causal.score(CYCLE[i % 16])
    causal.score(50.0)
    assert (causal.low, causal.high) == pytest.approx((-2.0, 2.0))


def test_causal_rescale_widens_the_span_to_a_value_beyond_it() -> None:
    causal = CausalCad(CausalParams(warmup_points=32, margin=0.5, on_leave="rescale"))
    for i in range(64):
        causal.score(CYCLE[i % 16])
    causal.score(6.0)
    assert causal.low == pytest.approx(-2.0 - 4.0)
    assert causal.high == pytest.approx(6.0 + 4.0)


def test_causal_expand_widens_the_span_and_keeps_what_was_learned() -> None:
    causal = CausalCad(CausalParams(warmup_points=32, margin=0.5, on_leave="expand"))
    for i in range(64):
        causal.score(CYCLE[i % 16])
    assert causal.cad is not None
    contexts = causal.cad.contexts
    causal.score(6.0)
    # The new span reaches past the value by the margin of the new span (-2 to 6, so 4).
    assert (causal.low, causal.high) == pytest.approx((-2.0, 10.0))
    assert causal.cad.contexts >= contexts  # not cleared


def test_causal_double_at_least_doubles_the_span() -> None:
    causal = CausalCad(CausalParams(warmup_points=32, margin=0.0, on_leave="double"))
    for i in range(64):
        causal.score(CYCLE[i % 16])
    causal.score(1.5)  # just past the span [-1, 1]: the span doubles to [-1, 3]
    assert (causal.low, causal.high) == pytest.approx((-1.0, 3.0))
    causal.score(20.0)  # far past it: the span reaches the value
    assert (causal.low, causal.high) == pytest.approx((-1.0, 20.0))


def wandering_series(count: int = 3000) -> list[float]:
    """A daily-like cycle with fixed pseudo-random noise and a level shift every 750 points."""
    state, out = 12345, []
    for i in range(count):
        state = (state * 1103515245 + 12345) % 2**31
        shift = 0.8 if (i // 250) % 3 == 2 else 0.0
        out.append(math.sin(2 * math.pi * i / 24) + 0.3 * (state / 2**31 - 0.5) + shift)
    return out


def digest(scores: list[float]) -> str:
    return hashlib.sha256(b"".join(struct.pack("<d", s) for s in scores)).hexdigest()


def test_scores_are_exactly_those_of_the_plain_walk() -> None:
    # Decision 0061: the counted, remembered walk gives, bit for bit, the scores of the plain
    # walk over every half and pair (commit 70fbf28) that these digests were taken from;
    # small memory bounds make the series clear its memory several times.
    values = wandering_series()
    cad = Cad(-1.5, 1.5, CadParams(rest_points=10, max_contexts=500))
    raw = [cad.raw(v) for v in values]
    assert len(set(raw)) > 50
    assert digest(raw) == "95f217881baf3513e48abc83389a7c293c1c7f0c5b72e761d1af605b67500dba"
    small = CadParams(rest_points=20, max_contexts=400)
    rescale = CausalCad(CausalParams(100, 0.25, "rescale", small))
    digest_rescale = digest([rescale.score(v) for v in values])
    assert digest_rescale == "a65526700628d95ecaee77f797d852547bfafc3fcd0fbe5f2aa72a05a68aa89e"
    expand = CausalCad(CausalParams(100, 0.0, "expand", small))
    digest_expand = digest([expand.score(v) for v in values])
    assert digest_expand == "73904d123d0fb275ce4a007875d3bbaf7c251aa214fd8a217eba4ed6bee0cbc9"


def test_unknown_leave_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="on_leave"):
        CausalCad(CausalParams(on_leave="wrap"))
