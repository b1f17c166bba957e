"""`shugu bench plant-history`: what fitting a plant rule on stored readings costs when it is
saved (decision 0076).

A DuckDB store holds a fleet of looms' readings: three gauges every 10 s (8,640 rows a day) and a
running flag sent when it changes (a ten-minute stop every four hours). A plant rule over the
gauges, judged while running, with a day's fit (8,640 rows), is fitted from the first reading on,
as `rule_service.save_rule` does before it saves the rule. Figures, medians of ``runs``:

- `fit_s`: `fit_on_history` for every device, from the store; `fit_rows_per_s`: the fits' rows
  over it. This is what saving such a rule adds to the request.
- raw limit, same run and store: `raw_read_s` reads the same hours of readings with the store's
  range query alone; `raw_detector_s` feeds the same rows, already as a table, into bare plant
  detectors (`PlantDetector.update`, no evaluator). Their sum is the floor of a fit read from the
  store; `fit_over_raw` is `fit_s` over it.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import say
from shugu.domain.batch import QUALITY_GOOD, Batch
from shugu.monitor.anomaly_plant import PlantDetector, PlantParams
from shugu.monitor.plant_history import CHUNK_MS, fit_on_history
from shugu.monitor.rules import validate_rule
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.telemetry import RangeQuery

START_MS = 1_800_000_000_000
STEP_MS = 10_000
GAUGES = ("speed_rpm", "power_kw", "warp_tension_n")
FIT_ROWS = 8_640
#: A stop of ten minutes every four hours, in rows.
STOP_EVERY, STOP_ROWS = 1_440, 60


def _fleet(store: DuckDBTelemetryStore, devices: int, rows: int) -> None:
    ids = store.metric_ids([*GAUGES, "running"])
    rng = np.random.default_rng(5)
    for device in range(1, devices + 1):
        i = np.arange(rows)
        ts = START_MS + i * STEP_MS + device * 97
        parts = []
        for j, _name in enumerate(GAUGES):
            value = 100.0 * (j + 1) + np.sin(i / 500.0 + device) + rng.normal(0, 0.3, rows)
            parts.append((np.full(rows, ids[j], np.int32), ts, value))
        # The flag only when it changes: off at each stop's first row, on after it.
        stops = np.flatnonzero((i % STOP_EVERY) == STOP_EVERY - STOP_ROWS)
        starts = stops + STOP_ROWS
        flag_rows = np.concatenate([[0], stops, starts[starts < rows]])
        flag_vals = np.concatenate([[1.0], np.zeros(len(stops)), np.ones((starts < rows).sum())])
        parts.append((np.full(len(flag_rows), ids[3], np.int32), ts[flag_rows] - 1, flag_vals))
        metric = np.concatenate([p[0] for p in parts])
        stamp = np.concatenate([p[1] for p in parts]).astype(np.int64)
        value = np.concatenate([p[2] for p in parts]).astype(np.float64)
        n = len(metric)
        store.submit(
            Batch(
                np.full(n, device, np.int32),
                metric,
                stamp,
                value,
                np.full(n, QUALITY_GOOD, np.uint8),
            )
        ).result(120)


def _raw_read(store: DuckDBTelemetryStore, devices: int, end_ms: int) -> float:
    started = time.perf_counter()
    for at in range(START_MS, end_ms, CHUNK_MS):
        store.query_range(
            RangeQuery(list(range(1, devices + 1)), [*GAUGES, "running"], at, at + CHUNK_MS)
        )
    return time.perf_counter() - started


def _raw_detector(devices: int) -> float:
    rng = np.random.default_rng(6)
    rows = rng.normal(100.0, 1.0, (FIT_ROWS, len(GAUGES)))
    started = time.perf_counter()
    for _device in range(devices):
        detector = PlantDetector(len(GAUGES), params=PlantParams(fit_rows=FIT_ROWS))
        for k in range(FIT_ROWS):
            detector.update(START_MS + k * STEP_MS, rows[k])
    return time.perf_counter() - started


def run(*, quick: bool, devices: int | None, runs: int, log: bool) -> dict[str, Any]:
    devices = devices or (8 if quick else 40)
    # A day's fit, and the stops it skips: about a day and two hours of readings.
    rows = FIT_ROWS + FIT_ROWS // STOP_EVERY * STOP_ROWS + STOP_ROWS
    rule = validate_rule(
        {
            "key": "loom_plant", "label_zh": "织机模型", "label_en": "loom model",
            "kind": "plant", "metrics": list(GAUGES), "running_metric": "running",
            "fit_points": FIT_ROWS, "fit_from": START_MS,
        }
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="shugu-bench-plant-") as tmp:
        store = DuckDBTelemetryStore(Path(tmp) / "t.duckdb")
        try:
            say(log, f"storing {devices} looms × {rows} rows")
            _fleet(store, devices, rows)
            until = START_MS + (rows + 10) * STEP_MS
            fit_s, read_s, detector_s = [], [], []
            fitted = 0
            for r in range(runs):
                started = time.perf_counter()
                fits = fit_on_history(store, rule, list(range(1, devices + 1)), until)
                fit_s.append(time.perf_counter() - started)
                fitted = fits.fitted
                read_s.append(_raw_read(store, devices, until))
                detector_s.append(_raw_detector(devices))
                say(log, f"run {r + 1}: fit {fit_s[-1]:.2f} s, read {read_s[-1]:.2f} s, "
                    f"detectors {detector_s[-1]:.2f} s")  # fmt: skip
        finally:
            store.close()
    fit = statistics.median(fit_s)
    raw_read = statistics.median(read_s)
    raw_detector = statistics.median(detector_s)
    return {
        "devices": devices,
        "fit_rows": FIT_ROWS,
        "devices_fitted": fitted,
        "runs": runs,
        "fit_s": round(fit, 3),
        "fit_s_runs": [round(x, 3) for x in fit_s],
        "fit_rows_per_s": round(devices * FIT_ROWS / fit),
        "raw_read_s": round(raw_read, 3),
        "raw_detector_s": round(raw_detector, 3),
        "fit_over_raw": round(fit / (raw_read + raw_detector), 2),
    }
