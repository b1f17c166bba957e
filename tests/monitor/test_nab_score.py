"""NAB scoring (bench/nab.py) on hand-made cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from bench.nab import (
    MAX_TP,
    STANDARD,
    normalised,
    probation_length,
    scaled_sigmoid,
    score_file,
    window_rows,
)

N = 1000  # probation: 150 rows
WINDOWS = [(300, 399), (700, 799)]


def detections(*rows: int) -> np.ndarray:
    out = np.zeros(N, dtype=np.bool_)
    out[list(rows)] = True
    return out


def test_probation_is_15_percent_capped_at_750() -> None:
    assert probation_length(1000) == 150
    assert probation_length(4032) == 604
    assert probation_length(10_000) == 750


def test_scaled_sigmoid_shape() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.0) == -1.0


def test_detection_on_each_window_start_scores_one_per_window_and_100() -> None:
    s = score_file(detections(300, 700), WINDOWS)
    assert s.raw == pytest.approx(2.0)
    assert (s.detected, s.missed, s.false_positives) == (2, 0, 0)
    assert normalised([s]) == pytest.approx(100.0)


def test_no_detection_is_normalised_zero() -> None:
    s = score_file(detections(), WINDOWS)
    assert s.raw == pytest.approx(-2.0) == s.null
    assert normalised([s]) == pytest.approx(0.0)


def test_only_earliest_detection_in_a_window_counts() -> None:
    late = score_file(detections(399), [(300, 399)])
    both = score_file(detections(350, 399), [(300, 399)])
    mid = score_file(detections(350), [(300, 399)])
    # The last row of a window is worth almost nothing; halfway about 0.86 of the maximum.
    assert late.raw == pytest.approx(scaled_sigmoid(-1 / 100) / MAX_TP)
    assert mid.raw == pytest.approx(scaled_sigmoid(-50 / 100) / MAX_TP)
    assert both.raw == mid.raw


def test_false_positive_costs() -> None:
    # Before any window: the full FP weight.
    early = score_file(detections(200, 300, 700), WINDOWS)
    assert early.raw == pytest.approx(2.0 - STANDARD.fp)
    assert early.false_positives == 1
    # Just after a window: nearly free; far after it: the full weight.
    just_after = score_file(detections(300, 400, 700), WINDOWS)
    assert 2.0 - STANDARD.fp < just_after.raw < 2.0
    far = score_file(detections(300, 699, 700), WINDOWS)
    assert far.raw == pytest.approx(2.0 + STANDARD.fp * scaled_sigmoid(300 / 99))
    # Inside the probation period nothing counts.
    assert score_file(detections(10, 300, 700), WINDOWS).raw == pytest.approx(2.0)


def test_normalisation_sums_files() -> None:
    a = score_file(detections(300, 700), WINDOWS)
    b = score_file(detections(), WINDOWS)
    assert normalised([a, b]) == pytest.approx(50.0)
    empty = score_file(detections(500), [])
    assert math.isnan(normalised([empty]))


def test_window_rows_match_timestamps() -> None:
    times = np.arange("2014-02-14T00:00", "2014-02-15T00:00", 5, dtype="datetime64[m]")
    rows = window_rows(times, [("2014-02-14 01:00:00.000000", "2014-02-14 02:00:00.000000")])
    assert rows == [(12, 24)]
