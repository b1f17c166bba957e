"""The simulated faults through the alarm book: many alarms, one incident, one notice each
(the figures of `shugu bench incidents`)."""

from __future__ import annotations

from pathlib import Path

from bench.incidents import replay


def test_a_crah_trip_and_a_gateway_outage_notify_once_each(tmp_path: Path) -> None:
    crah, gateway = replay(tmp_path)
    assert (crah.fault, crah.alarms, crah.incidents, crah.notices_after) == ("crah_trip", 42, 1, 1)
    assert crah.cause_device == "精密空调 02"
    assert (gateway.alarms, gateway.incidents, gateway.notices_after) == (30, 1, 1)
