"""How far an indicator has come towards its target, and whether that is on track.

Progress is the share of the way from the baseline (where the year started) to the target that
the actual figure has covered: ``(actual - baseline) / (target - baseline)``, which reads the
same for an indicator where higher is better and one where lower is better. Without a baseline
a count or a flow starts from zero; an indicator where lower is better and no baseline is given
can only be met or not.

An indicator is on track when it has met its target, or when its progress is at least the share
of the year that has passed (``expected``): a year's target is taken to be reached evenly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True)
class Progress:
    #: Share of the way from baseline to target (1.0: reached); None without an actual.
    share: float | None
    #: Share of the year passed, the progress a target reached evenly would have by now.
    expected: float
    met: bool | None
    on_track: bool | None


def progress(
    direction: Direction,
    target: float,
    baseline: float | None,
    actual: float | None,
    expected: float,
) -> Progress:
    expected = min(1.0, max(0.0, expected))
    if actual is None:
        return Progress(None, expected, None, None)
    met = actual >= target if direction == "higher" else actual <= target
    start = baseline if baseline is not None else (0.0 if direction == "higher" else None)
    if start is None:
        alone = 1.0 if met else (target / actual if actual > 0 else 0.0)
        return Progress(alone, expected, met, met)
    span = target - start
    share = (1.0 if met else 0.0) if span == 0 else (actual - start) / span
    return Progress(share, expected, met, met or share >= expected)
