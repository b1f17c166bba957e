"""The anomaly detector's parameters (检测参数): sensitivities, time constants, the statistics'
weights, and the causes a score can have. Data, not mechanism: :mod:`shugu.monitor.anomaly`
runs them."""

from __future__ import annotations

from dataclasses import dataclass

from shugu.monitor.anomaly_art import DEFAULT_ART, ArtParams
from shugu.monitor.anomaly_context import DEFAULT_CONTEXT, ContextParams
from shugu.monitor.anomaly_season import DEFAULT_SEASON, SeasonParams
from shugu.monitor.anomaly_sequence import SequenceParams

#: Sensitivity in [0, 1]: an alarm fires when the score reaches ``1 - sensitivity``. Without the
#: pattern statistic (:data:`DEFAULT_PARAMS`, on which the multivariate and plant detectors
#: build) the default is 0.4: it alarms at a surprise of 3 decades, which in practice means
#: "beyond anything this series did in the past week or so", the setting with the best NAB
#: score on the training files among those with at most one false alarm per series-week there
#: (docs/decisions/0009-anomaly-detector.md). Higher fires more. Anomaly rules and one-column
#: scoring run :data:`WITH_PATTERN` at :data:`PATTERN_SENSITIVITY` unless told otherwise.
DEFAULT_SENSITIVITY = 0.4

#: With the pattern statistic: the sensitivity, and the pattern score that alarms at it, chosen
#: on the tuning and validation series (decision 0062, :data:`WITH_PATTERN`).
PATTERN_SENSITIVITY = 0.34
PATTERN_THRESHOLD = 0.85

#: Values beyond this magnitude are skipped like NaN: no reading is, and their differences
#: overflow, which would leave the slot's state NaN for good.
MAX_ABS_VALUE = 1e100

#: A surprise of this many decades (a 1-in-10^5 event) is a score of 1.
FULL_SCALE_DECADES = 5.0


#: The pattern statistic: 4 and 8 value ranges over the span of the first 500 points widened by
#: a quarter, sequences of 1 to 3 ranges (decision 0062).
DEFAULT_PATTERN = SequenceParams()


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """Time constants and limits of the detector. Times are in minutes of series time."""

    #: Fast EWMA of the residual: the "recent level" of the change-of-level statistic.
    fast_minutes: float = 15.0
    #: Slow robust EWMA of the level the fast one is compared with.
    level_minutes: float = 120.0
    #: Robust spread (EWMA of the clipped absolute residual).
    spread_minutes: float = 2880.0
    #: Memory of the exceedance counts that calibrate the surprise (a week), and of the plain
    #: mean absolute deviation that floors the spread.
    calibration_minutes: float = 10080.0
    #: Memory of each time-of-day bin, in series time (each bin sees 1/24 of the points).
    profile_minutes: float = 7 * 1440.0
    profile_bins: int = 24
    #: Residuals beyond this many spreads are clipped before they update the level and spread.
    clip: float = 4.0
    #: Residuals beyond this many spreads are clipped before the change-of-level average.
    level_clip: float = 3.0
    #: Prior strength (pseudo-points) and power-law exponent of the tail prior.
    prior_points: float = 30.0
    prior_exponent: float = 3.0
    #: Beyond the highest level reached, the exceedance rate falls at most like |z|^-this.
    tail_exponent: float = 4.0
    #: The spread is at least this fraction of the plain (unclipped) mean absolute deviation:
    #: a series that idles at zero between bursts must not have its spread shrink to nothing.
    floor_fraction: float = 0.3
    #: Points before a slot scores anything (the spread and level need a start).
    warmup_points: int = 100
    #: No second alarm on a series within this long after one.
    holdoff_minutes: float = 360.0
    #: After an alarm, the score must drop below this fraction of the threshold to re-arm.
    rearm_fraction: float = 0.5
    #: A gap between points forgets as if it were at most this long.
    max_gap_minutes: float = 60.0
    #: Weight of the contextual statistic's decades against the other two (0 turns it off).
    #: 0.75 is the best NAB tuning score (decision 0045); at 1 it raises more false alarms.
    context_weight: float = 0.75
    context: ContextParams = DEFAULT_CONTEXT
    #: Weight of the shape statistic (adaptive resonance over short windows; 0 turns it off).
    #: Off by default; 1.5 was its best NAB tuning score (decision 0049).
    art_weight: float = 0.0
    art: ArtParams = DEFAULT_ART
    #: Weight of the time-of-week statistic (is this value range usual at this hour of this
    #: weekday; 0 turns it off). It uses the contextual statistic's value ranges. 0.5 is the
    #: best NAB tuning score within the false-alarm budget (decision 0052).
    season_weight: float = 0.5
    season: SeasonParams = DEFAULT_SEASON
    #: Weight of the pattern statistic (0 turns it off): its score counts as
    #: ``pattern_weight * FULL_SCALE_DECADES * score`` decades where sequence is trusted.
    pattern_weight: float = 0.0
    pattern: SequenceParams = DEFAULT_PATTERN
    #: Calibrate the spike and level statistics per hour of the day as well, and take the
    #: smaller surprise: a spike as usual *at this hour* (a nightly job) is not surprising.
    #: Off by default: it removes about a quarter of the false alarms, and windows with them
    #: (decision 0052).
    hourly_calibration: bool = False
    #: The range-based statistics (context, time of week, pattern) are judged per this much
    #: series time, not per point (0 judges them per point): on a series sampled every ``step``
    #: minutes, faster than this, their decades are lowered by ``log10(this / step)``. A
    #: one-in-2,000-points event is once a week at 5 minutes but several a day at 30 seconds.
    #: Slower series are left as they are (decision 0066).
    reference_step_minutes: float = 5.0
    #: No alarm before a series has this much history (series time since its first point):
    #: the score is given, but a first stop, a first night, is not yet an anomaly. Anomaly
    #: rules set a day (decision 0067); scoring a file does not.
    alarm_after_minutes: float = 0.0


DEFAULT_PARAMS = DetectorParams()
#: The detector with the pattern statistic, to run at :data:`PATTERN_SENSITIVITY`: the pattern
#: score alarms alone at PATTERN_THRESHOLD.
WITH_PATTERN = DetectorParams(pattern_weight=(1.0 - PATTERN_SENSITIVITY) / PATTERN_THRESHOLD)


#: What drove a point's surprise (:attr:`AnomalyBank.causes`): a single extreme value, a change
#: of level over the last minutes, or a step between value ranges the series rarely makes.
CAUSES = (
    "spike", "level_shift", "unusual_sequence", "unusual_shape", "unusual_for_time",
    "unusual_pattern",
)  # fmt: skip


def threshold_decades(sensitivity: float) -> float:
    """The surprise (decades) at which a bank with this sensitivity alarms."""
    s = min(max(float(sensitivity), 0.0), 1.0)
    return FULL_SCALE_DECADES * (1.0 - s)
