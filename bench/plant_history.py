"""`shugu bench plant-history`: what fitting a plant rule on stored readings costs when it is
saved (decision 0076).

A DuckDB store holds a fleet of looms' readings over two days: three gauges every 10 s (8,640
rows a day) and a running flag sent when it changes (a ten-minute stop every four hours). A plant
rule over the gauges, judged while running, with a day's fit (8,640 rows), is fitted from the
first reading on, as `rule_service.save_rule` does before it saves the rule, then back-tested on
the second day (回测), in whose last two hours one loom's power draw steps up 10 % (20 kW, where
its gauge wanders about ±1 kW and its noise is 0.3 kW; the model's drift allowance, grown over a
day, is what a smaller step hides in). Figures, medians of ``runs``:

- `fit_s`: `fit_on_history` for every device with no back-test; `fit_rows_per_s`: the fits'
  rows over it.
- `save_s`: the same with its back-test, as a save (or the form's back-test) runs it: what saving
  such a rule adds to the request. `backtest_s` is `save_s` less `fit_s`; `backtest_rows_per_s`
  the rows it judged over that.
- raw limit, same run and store: `raw_read_s` reads the fit's hours of readings with the store's
  range query alone, `raw_detector_s` feeds the fit's rows, already as a table, into bare plant
  detectors (`PlantDetector.update`, no evaluator); `fit_over_raw` is `fit_s` over their sum.
  `raw_read_all_s` and `raw_detector_all_s` do the same for both days (the detectors judging the
  second day's rows after their fit); `save_over_raw` is `save_s` over their sum.
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
from shugu.monitor.plant_history import CHUNK_MS, BackTest, fit_on_history
from shugu.monitor.rules import validate_rule
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.telemetry import RangeQuery

START_MS = 1_800_000_000_000
STEP_MS = 10_000
GAUGES = ("speed_rpm", "power_kw", "warp_tension_n")
FIT_ROWS = 8_640
#: A stop of ten minutes every four hours, in rows.
STOP_EVERY, STOP_ROWS = 1_440, 60
#: The loom whose power draw steps up in the back-test day's last FAULT_ROWS rows.
FAULTY, FAULT_ROWS = 1, 720
#: Rows a day holds, stops included: the fit's day, then the back-test's.
DAY_ROWS = FIT_ROWS + FIT_ROWS // STOP_EVERY * STOP_ROWS


def _fleet(store: DuckDBTelemetryStore, devices: int, rows: int) -> None:
    ids = store.metric_ids([*GAUGES, "running"])
    rng = np.random.default_rng(5)
    for device in range(1, devices + 1):
        i = np.arange(rows)
        ts = START_MS + i * STEP_MS + device * 97
        parts = []
        for j, _name in enumerate(GAUGES):
            value = 100.0 * (j + 1) + np.sin(i / 500.0 + device) + rng.normal(0, 0.3, rows)
            if device == FAULTY and j == 1:
                # Its power draw steps up 10 % for the last two hours: the one fault to find.
                value[rows - FAULT_ROWS :] *= 1.10
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
    for at in range(START_MS, end_ms, CHUNK_MS):  # the fit's reads, an hour each
        store.query_range(
            RangeQuery(list(range(1, devices + 1)), [*GAUGES, "running"], at, at + CHUNK_MS)
        )
    return time.perf_counter() - started


def _raw_detector(devices: int, judged: int = 0) -> float:
    """Bare detectors fed their fit's rows, then ``judged`` rows judged after it."""
    rng = np.random.default_rng(6)
    rows = rng.normal(100.0, 1.0, (FIT_ROWS + judged, len(GAUGES)))
    started = time.perf_counter()
    for _device in range(devices):
        detector = PlantDetector(len(GAUGES), params=PlantParams(fit_rows=FIT_ROWS))
        for k in range(FIT_ROWS + judged):
            detector.update(START_MS + k * STEP_MS, rows[k])
    return time.perf_counter() - started


def run(*, quick: bool, devices: int | None, runs: int, log: bool) -> dict[str, Any]:
    devices = devices or (8 if quick else 40)
    rows = 2 * DAY_ROWS
    rule = validate_rule(
        {
            "key": "loom_plant", "label_zh": "织机模型", "label_en": "loom model",
            "kind": "plant", "metrics": list(GAUGES), "running_metric": "running",
            "fit_points": FIT_ROWS, "fit_from": START_MS,
        }
    )  # fmt: skip
    fleet = list(range(1, devices + 1))
    times: dict[str, list[float]] = {
        k: [] for k in ("fit", "save", "read", "detector", "read_all", "detector_all")
    }
    fitted = 0
    back: BackTest | None = None
    with tempfile.TemporaryDirectory(prefix="shugu-bench-plant-") as tmp:
        store = DuckDBTelemetryStore(Path(tmp) / "t.duckdb")
        try:
            say(log, f"storing {devices} looms × {rows} rows")
            _fleet(store, devices, rows)
            until = START_MS + rows * STEP_MS
            fit_until = START_MS + (DAY_ROWS + STOP_ROWS + 10) * STEP_MS
            for r in range(runs):
                started = time.perf_counter()
                fitted = fit_on_history(store, rule, fleet, until, backtest_readings=0).fitted
                times["fit"].append(time.perf_counter() - started)
                started = time.perf_counter()
                saved = fit_on_history(store, rule, fleet, until)
                times["save"].append(time.perf_counter() - started)
                back = saved.backtest
                assert back is not None and back.complete
                judged = back.rows // devices
                times["read"].append(_raw_read(store, devices, fit_until))
                times["detector"].append(_raw_detector(devices))
                times["read_all"].append(_raw_read(store, devices, until))
                times["detector_all"].append(_raw_detector(devices, judged))
                say(
                    log,
                    f"run {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
                )
        finally:
            store.close()
    assert back is not None
    med = {k: statistics.median(v) for k, v in times.items()}
    backtest_s = max(med["save"] - med["fit"], 1e-9)
    return {
        "devices": devices,
        "fit_rows": FIT_ROWS,
        "devices_fitted": fitted,
        "runs": runs,
        "fit_s": round(med["fit"], 3),
        "fit_s_runs": [round(x, 3) for x in times["fit"]],
        "fit_rows_per_s": round(devices * FIT_ROWS / med["fit"]),
        "save_s": round(med["save"], 3),
        "save_s_runs": [round(x, 3) for x in times["save"]],
        "backtest_readings": back.readings,
        "backtest_rows": back.rows,
        "backtest_alarms": back.total_alarms,
        "backtest_alarmed_devices": sorted(back.alarms),
        "backtest_s": round(backtest_s, 3),
        "backtest_rows_per_s": round(back.rows / backtest_s),
        "raw_read_s": round(med["read"], 3),
        "raw_detector_s": round(med["detector"], 3),
        "fit_over_raw": round(med["fit"] / (med["read"] + med["detector"]), 2),
        "raw_read_all_s": round(med["read_all"], 3),
        "raw_detector_all_s": round(med["detector_all"], 3),
        "save_over_raw": round(med["save"] / (med["read_all"] + med["detector_all"]), 2),
    }
