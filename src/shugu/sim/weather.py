"""Outdoor air for a site: dry bulb and wet bulb following the day, deterministic given a seed.

A smooth daily cycle (coolest near 05:00, warmest near 14:00 China time) around a seasonal mean,
plus slow random drift. Good enough to make cooling towers and chillers breathe with the day.
"""

from __future__ import annotations

import math

import numpy as np

from shugu.domain.timeutil import CHINA_OFFSET_MS

DAY_MS = 86_400_000


class Weather:
    def __init__(
        self,
        rng: np.random.Generator,
        mean_dry_c: float = 26.0,
        daily_swing_c: float = 8.0,
        mean_rh_pct: float = 70.0,
    ) -> None:
        self._rng = rng
        self._mean = mean_dry_c
        self._swing = daily_swing_c
        self._rh = mean_rh_pct
        self._drift = 0.0

    def at(self, t_ms: int, dt_s: float = 0.0) -> tuple[float, float]:
        """(dry bulb °C, wet bulb °C) at ``t_ms``; ``dt_s`` advances the random drift."""
        if dt_s > 0:
            # Ornstein–Uhlenbeck drift with a few hours' memory.
            theta = dt_s / (3 * 3600)
            self._drift += -theta * self._drift + self._rng.normal(0, 0.6 * math.sqrt(theta))
        local_hour = ((t_ms + CHINA_OFFSET_MS) % DAY_MS) / 3_600_000
        daily = math.cos((local_hour - 14.0) / 24.0 * 2 * math.pi)
        dry = self._mean + self._swing / 2 * daily + self._drift
        rh = min(98.0, max(25.0, self._rh - 15.0 * daily))
        return dry, wet_bulb(dry, rh)


def wet_bulb(dry_c: float, rh_pct: float) -> float:
    """Stull's (2011) approximation of the wet-bulb temperature at sea level."""
    t, rh = dry_c, rh_pct
    return float(
        t * math.atan(0.151977 * math.sqrt(rh + 8.313659))
        + math.atan(t + rh)
        - math.atan(rh - 1.676331)
        + 0.00391838 * rh**1.5 * math.atan(0.023101 * rh)
        - 4.686035
    )
