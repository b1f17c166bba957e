"""The ingest meter: points per transport, second by second, as the health page shows them."""

from __future__ import annotations

import pytest

from shugu.ingest.ingest_meter import SPAN_S, IngestMeter
from tests.clock import ManualClock


def test_the_rate_is_the_mean_of_the_last_complete_seconds() -> None:
    clock = ManualClock(1_000.0)
    meter = IngestMeter(clock)
    for _ in range(10):
        meter.count("mqtt", 100, refused=2)
        meter.count("http", 5)
        clock.now += 1
    meter.count("mqtt", 10_000)  # the current second is not complete: not in the rate yet
    figures = meter.figures(window_s=10)
    assert figures["mqtt"].accepted_per_s == pytest.approx(100)
    assert figures["mqtt"].refused_per_s == pytest.approx(2)
    assert figures["http"].accepted_per_s == pytest.approx(5)
    assert figures["arrow"].accepted_per_s == 0
    assert figures["mqtt"].accepted_total == 11_000 and figures["mqtt"].refused_total == 20


def test_silence_brings_the_rate_to_zero_and_old_seconds_are_forgotten() -> None:
    clock = ManualClock(1_000.0)
    meter = IngestMeter(clock)
    meter.count("gateway", 500)
    clock.now += 30
    assert meter.figures()["gateway"].accepted_per_s == 0
    assert meter.figures()["gateway"].accepted_total == 500
    # A whole span after that second its bucket is reused, emptied first.
    clock.now = 1_000.0 + SPAN_S
    meter.count("gateway", 1)
    clock.now += 1
    assert meter.figures(window_s=1)["gateway"].accepted_per_s == 1


def test_the_history_averages_steps_oldest_first() -> None:
    clock = ManualClock(1_000.0)
    meter = IngestMeter(clock)
    for second in range(60):
        meter.count("arrow", 1_000 if second < 30 else 0)
        clock.now += 1
    history = meter.history(step_s=30, span_s=60, wall_ms=lambda: 5_000_000)
    assert [rates["arrow"] for _, rates in history] == [1_000, 0]
    assert [ts for ts, _ in history] == [5_000_000 - 30_000, 5_000_000]


def test_unknown_transports_and_empty_counts_are_ignored() -> None:
    meter = IngestMeter(ManualClock(1_000.0))
    meter.count("carrier-pigeon", 5)
    meter.count("mqtt", 0, 0)
    assert all(f.accepted_total == 0 for f in meter.figures().values())
