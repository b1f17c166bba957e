"""NAB scoring (Numenta Anomaly Benchmark, "standard" profile by default), as pure functions.

The rules, as NAB v1.1 applies them to a detector's yes/no detections:

- The first 15 % of a file's rows (at most 750) are the probationary period: nothing there is
  scored, neither a detection nor a window.
- Inside a labelled window only the earliest detection counts. Its reward is the scaled sigmoid of
  its relative position, divided by the sigmoid's value at the window's left edge, so a detection on
  the first row of a window earns exactly the true-positive weight, one on the last row about 0.
- A window without a detection costs the false-negative weight.
- Every detection outside the windows is a false positive. After a window, its cost is the scaled
  sigmoid of its distance from that window's right edge in window widths (nearly free just after
  the window, the full weight a window width or more later); before any window it costs the full
  false-positive weight.
- Normalised score = 100 × (raw − null) / (perfect − null): null is a detector that never fires
  (every scorable window missed), perfect detects every window on its first row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class CostProfile:
    """Weights of one NAB application profile."""

    tp: float = 1.0
    fp: float = 0.11
    fn: float = 1.0


STANDARD = CostProfile()

#: NAB's default: 15 % of the rows, capped at 0.15 × 5000 = 750.
PROBATION_PERCENT = 0.15


def probation_length(n_rows: int, percent: float = PROBATION_PERCENT) -> int:
    """Rows at the start of a file that are never scored."""
    return int(min(math.floor(percent * n_rows), percent * 5000))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def scaled_sigmoid(position: float) -> float:
    """NAB's reward curve over a relative position.

    -1 is a window's left edge (0.9866), 0 its right edge (0.0); positive positions are distances
    after a window in window widths, reaching the full penalty (-1) from 3 widths on.
    """
    if position >= 3.0:
        return -1.0
    return 2.0 * sigmoid(-5.0 * position) - 1.0


#: The reward at a window's left edge: dividing by it makes the best detection worth exactly 1.
MAX_TP = scaled_sigmoid(-1.0)


def window_rows(
    timestamps: Sequence[str] | npt.NDArray[np.datetime64],
    windows: Sequence[tuple[str, str]],
) -> list[tuple[int, int]]:
    """Labelled windows `[start, end]` (timestamps, inclusive) as row ranges `(first, last)`.

    Rows are matched by time, so a window given to the microsecond still finds its rows; a window
    that covers no row is dropped.
    """
    times = np.asarray(timestamps, dtype="datetime64[ms]")
    out: list[tuple[int, int]] = []
    for start, end in windows:
        lo = int(np.searchsorted(times, np.datetime64(start, "ms"), side="left"))
        hi = int(np.searchsorted(times, np.datetime64(end, "ms"), side="right")) - 1
        if hi >= lo:
            out.append((lo, hi))
    return sorted(out)


@dataclass(frozen=True, slots=True)
class FileScore:
    """One file's NAB outcome for a set of detections."""

    raw: float
    #: The raw score of a detector that never fires (each scorable window missed).
    null: float
    #: The raw score of a detector that fires on each window's first row and nowhere else.
    perfect: float
    windows: int
    detected: int
    missed: int
    false_positives: int
    #: What the false positives cost (a positive number), after NAB's distance weighting.
    fp_cost: float
    #: Scored rows outside every window: the "normal" stretches, for false alarms per week.
    normal_rows: int
    #: Relative position of each window's earliest detection (-1 = left edge), None if missed.
    positions: tuple[float | None, ...]


def score_file(
    detections: npt.NDArray[np.bool_],
    windows: Sequence[tuple[int, int]],
    profile: CostProfile = STANDARD,
    probation: int | None = None,
) -> FileScore:
    """Score one file's detections (one bool per row) against its windows (row ranges)."""
    n = len(detections)
    prob = probation_length(n) if probation is None else probation
    wins = sorted(windows)
    in_window = np.zeros(n, dtype=np.bool_)
    for lo, hi in wins:
        in_window[lo : hi + 1] = True

    tp_total = 0.0
    fn_total = 0.0
    null = 0.0
    detected = 0
    missed = 0
    positions: list[float | None] = []
    for lo, hi in wins:
        width = hi - lo + 1
        if hi < prob:
            # Entirely probationary: NAB neither rewards nor penalises it.
            positions.append(None)
            continue
        null -= profile.fn
        hits = np.flatnonzero(detections[max(lo, prob) : hi + 1])
        if len(hits) == 0:
            fn_total -= profile.fn
            missed += 1
            positions.append(None)
            continue
        first = max(lo, prob) + int(hits[0])
        position = -(hi - first + 1) / width
        tp_total += scaled_sigmoid(position) * profile.tp / MAX_TP
        detected += 1
        positions.append(position)

    fp_rows = np.flatnonzero(detections & ~in_window)
    fp_rows = fp_rows[fp_rows >= prob]
    fp_total = 0.0
    ends = np.array([hi for _, hi in wins], dtype=np.int64)
    widths = np.array([hi - lo + 1 for lo, hi in wins], dtype=np.int64)
    for row in fp_rows.tolist():
        # The closest window that ended before this row, as NAB's sweeper tracks it.
        k = int(np.searchsorted(ends, row, side="left")) - 1
        if k < 0:
            fp_total -= profile.fp
            continue
        width = int(widths[k])
        position = abs(row - int(ends[k])) / (width - 1) if width > 1 else 3.0
        fp_total += scaled_sigmoid(position) * profile.fp

    normal_rows = int(np.count_nonzero(~in_window[prob:]))
    return FileScore(
        raw=tp_total + fn_total + fp_total,
        null=null,
        perfect=profile.tp * len(wins),
        windows=len(wins),
        detected=detected,
        missed=missed,
        false_positives=len(fp_rows),
        fp_cost=-fp_total,
        normal_rows=normal_rows,
        positions=tuple(positions),
    )


def normalised(scores: Sequence[FileScore]) -> float:
    """NAB's normalised score over a set of files: 0 = never fire, 100 = perfect."""
    raw = sum(s.raw for s in scores)
    null = sum(s.null for s in scores)
    perfect = sum(s.perfect for s in scores)
    if perfect == null:
        # No scorable window: the normalisation is undefined.
        return math.nan
    return 100.0 * (raw - null) / (perfect - null)
