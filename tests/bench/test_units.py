"""The units of benchmark figures, read from their names (bench/units.py)."""

from __future__ import annotations

import pytest
from bench.units import figure, human, unit_of

#: Figures of each bench, by the names its JSON gives them, and the unit a reader sees.
NAMED_UNITS = {
    # ingest
    "raw_append_pps": "points/s",
    "http_batch_pps": "points/s",
    "http_gateway_json_pps": "points/s",
    "http_batch_p50_ms": "ms",
    "http_batch_server_cpu_ms_per_request": "ms/request",
    "ratio_http_batch_to_raw": "×",
    "rollup_1m_device_day_open_ms": "ms",
    "seconds": "s",
    # mqtt
    "endpoint_msgs_per_s": "msgs/s",
    "endpoint_points_per_s": "points/s",
    "connect_rate_per_s": "connections/s",
    "mosquitto_publisher_acks_per_s": "acks/s",
    "idle_rss_mib": "MiB",
    "idle_rss_mib_per_10k_connections": "MiB/10k connections",
    "rss_kib_per_connection": "KiB/connection",
    "server_cpu_cores": "CPU cores",
    "inflight_msgs_per_device": "msgs/device",
    "metrics_per_message": "metrics/message",
    "registry_setup_s": "s",
    # anomaly
    "nab_score": "/100",
    "fp_per_series_week": "fp/series week",
    "shugu_seconds_per_run": "s/run",
    "gaussian_seconds": "s",
    "us_per_point": "µs/point",
    # monitor
    "latency_p99_ms": "ms",
    "monitor_lag_max_s": "s",
    "monitor_cpu_share": "%",
    "capacity_store_pps": "points/s",
    # faults
    "recovery_s_max": "s",
    "rss_mib_first": "MiB",
    "rss_slope_mib_per_min_second_half": "MiB/min",
    "queued_jobs_slope_per_min_second_half": "/min",
    "sustainable_points_per_s": "points/s",
    "offered_factor": "×",
    "units_per_s": "units/s",
    "minutes": "min",
    "load_share": "%",
    "disk_mib": "MiB",
}


@pytest.mark.parametrize(("key", "unit"), sorted(NAMED_UNITS.items()))
def test_a_figure_s_name_gives_its_unit(key: str, unit: str) -> None:
    assert unit_of(key) == unit


@pytest.mark.parametrize("key", ["acked_points", "devices", "cpus", "statuses", "quick"])
def test_counts_and_flags_have_no_unit(key: str) -> None:
    assert unit_of(key) is None


def test_figures_are_printed_with_their_units() -> None:
    assert figure("latency_p99_ms", 12.5) == "12.5 ms"
    assert figure("monitor_cpu_share", 0.123) == "12.3 %"
    assert figure("worker_reconnect_s", [1.5, None]) == "[1.5, null] s"
    assert figure("every_acked_point_stored", True) == "True"
    assert figure("devices", 1000) == "1000"
    text = human({"quick": True, "crash": {"ready_s": 1.25, "kill_log": [{"recovery_s": 2}]}})
    assert text.splitlines() == [
        "quick                            True",
        "crash:",
        "  ready_s                        1.25 s",
        "  kill_log:",
        "    [1]",
        "      recovery_s                 2 s",
    ]
