"""The exceedance ladder (超越率阶梯) that calibrates the spike and level statistics.

Each series counts, with forgetting, how often |z| has reached each of :data:`LEVELS`; the
surprise of a new |z| is ``-log10`` of that rate, interpolated between levels, with a power-law
prior so that a series that has seen little is judged modestly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Exceedance levels of |z| whose rates each slot counts (spaced roughly geometrically).
LEVELS: FloatArray = np.array(
    [1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0, 96.0, 128.0]
)


def surprise_decades(
    counts: FloatArray,
    n_cal: FloatArray,
    z: FloatArray,
    prior_points: float,
    prior_exponent: float,
    tail_exponent: float,
) -> FloatArray:
    """``-log10`` of the exceedance rate of |z| per row, interpolated between ladder levels."""
    prior = np.minimum(1.0, (LEVELS[0] / LEVELS) ** prior_exponent)
    a = prior_points
    log_rate = np.log10((counts + a * prior) / (n_cal[:, None] + a))
    if tail_exponent > 0.0:
        # Beyond the levels seen, the rate may fall no faster than a power law from the last
        # level seen: a spike a little above the biggest so far is only a little surprising.
        slope = tail_exponent * np.log10(LEVELS)
        log_rate = np.maximum.accumulate(log_rate + slope, axis=1) - slope
    return decades_at(log_rate, LEVELS, np.abs(z))


def decades_at(log_rate: FloatArray, levels: FloatArray, x: FloatArray) -> FloatArray:
    """``-log10`` of each row's exceedance rate at ``x``, given the rows' ``log_rate`` at each of
    ``levels``: linear in ``x`` between levels, the last slope continued past the last one, and
    0 below the first level."""
    last = len(levels) - 2
    idx = np.minimum(np.maximum(np.searchsorted(levels, x, side="right") - 1, 0), last)
    rows = np.arange(len(x))
    lo = log_rate[rows, idx]
    hi = log_rate[rows, idx + 1]
    frac = np.maximum((x - levels[idx]) / (levels[idx + 1] - levels[idx]), 0.0)
    out = -(lo + frac * (hi - lo))
    return np.where(x < levels[0], 0.0, np.maximum(out, 0.0))
