"""`shugu bench anomaly`: NAB standard score of shugu's streaming detector and a baseline.

The files of the NAB AWS folder are split deterministically by sorted file name: even positions
(0, 2, 4, …) are the training split, odd positions the test split. Alternating keeps each metric
family (EC2 CPU, disk, network, ELB, RDS) on both sides without looking at the labels. Everything
that is tuned (shugu's sensitivity, the baseline's threshold) is tuned on the training split only;
the test split is scored once with what training chose.

The baseline is NAB's windowed Gaussian detector: mean and standard deviation of the last 6,400
values (recomputed every 100 points once the window is full), anomaly score ``1 - Q(|z|)`` of the
new value, one threshold for all files.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.common import say
from bench.nab import FileScore, normalised, score_file, window_rows
from shugu.monitor.anomaly import DEFAULT_SENSITIVITY, score_many

#: Where the NAB files are when no folder is given; they are not part of the repository.
DATA_ENV = "SHUGU_NAB_DATA"
WHAT_DATA = (
    "a folder of NAB's AWS CloudWatch CSV files (github.com/numenta/NAB, data/realAWSCloudwatch) "
    "and a windows.json mapping each file name to its labelled windows (NAB's "
    "labels/combined_windows.json without the folder prefix)"
)

#: Candidate sensitivities tried on the training split.
SENSITIVITIES = [round(0.30 + 0.02 * i, 2) for i in range(21)]
#: Candidate thresholds of the Gaussian baseline: its score is 1 - Q(|z|) in [0.5, 1), so the
#: interesting thresholds are 1 - 10^-k.
GAUSSIAN_THRESHOLDS = [0.5, *(1.0 - 10.0 ** (-k / 4.0) for k in range(2, 49))]

_MINUTES_PER_WEEK = 7 * 24 * 60
#: The product's requirement: at most one false alarm per series-week on normal data.
FP_BUDGET = 1.0


def _f(value: object) -> float:
    assert isinstance(value, (int, float))
    return float(value)


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    ts_ms: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    windows: list[tuple[int, int]]
    step_minutes: float


def load(data: Path) -> list[Series]:
    labels = json.loads((data / "windows.json").read_text())
    out: list[Series] = []
    for path in sorted(data.glob("*.csv")):
        with path.open(newline="") as f:
            rows = list(csv.reader(f))[1:]
        stamps = np.array([datetime.fromisoformat(r[0]) for r in rows], dtype="datetime64[ms]")
        ts = stamps.astype(np.int64)
        values = np.array([float(r[1]) for r in rows])
        windows = window_rows(stamps, [(a, b) for a, b in labels.get(path.name, [])])
        step = float(np.median(np.diff(ts))) / 60_000.0
        out.append(Series(path.name, ts, values, windows, step))
    return out


def windowed_gaussian(
    values: npt.NDArray[np.float64], window: int = 6400, step: int = 100
) -> npt.NDArray[np.float64]:
    """NAB's windowed Gaussian score of each value against the window before it."""
    scores = np.zeros(len(values))
    held: list[float] = []
    pending: list[float] = []
    mean, std = 0.0, 1.0
    for i, v in enumerate(values.tolist()):
        if held:
            z = abs(v - mean) / std
            scores[i] = 1.0 - 0.5 * math.erfc(z / math.sqrt(2.0))
        if len(held) < window:
            held.append(v)
        else:
            pending.append(v)
            if len(pending) < step:
                continue
            held = held[step:] + pending
            pending = []
        arr = np.asarray(held)
        mean = float(arr.mean())
        std = float(arr.std()) or 1e-6
    return scores


def _summary(scores: list[FileScore], series: list[Series]) -> dict[str, object]:
    normal_minutes = sum(
        s.normal_rows * x.step_minutes for s, x in zip(scores, series, strict=True)
    )
    fps = sum(s.false_positives for s in scores)
    return {
        "nab_score": round(normalised(scores), 1),
        "windows": sum(s.windows for s in scores),
        "detected": sum(s.detected for s in scores),
        "missed": sum(s.missed for s in scores),
        "false_positives": fps,
        "fp_per_series_week": round(fps / (normal_minutes / _MINUTES_PER_WEEK), 2),
    }


def _score(alarms: list[npt.NDArray[np.bool_]], series: list[Series]) -> list[FileScore]:
    return [score_file(a, s.windows) for a, s in zip(alarms, series, strict=True)]


def _pick(names: list[str], series: list[Series]) -> list[int]:
    return [i for i, s in enumerate(series) if s.name in names]


def data_folder(data: Path | None) -> Path:
    """The folder given, else $SHUGU_NAB_DATA; FileNotFoundError saying what is needed."""
    folder = data or (Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else None)
    if folder is None:
        raise FileNotFoundError(f"give --data or set {DATA_ENV}: {WHAT_DATA}")
    if not (folder / "windows.json").is_file():
        raise FileNotFoundError(f"{folder} has no windows.json; the bench needs {WHAT_DATA}")
    return folder


def run(data: Path | None, log: bool) -> dict[str, object]:
    folder = data_folder(data)
    series = load(folder)
    names = [s.name for s in series]
    train = _pick(names[0::2], series)
    test = _pick(names[1::2], series)
    splits = {"train": train, "test": test, "all": list(range(len(series)))}
    say(log, f"{len(series)} files from {folder}: {len(train)} train, {len(test)} test")

    def sub(idx: list[int]) -> list[Series]:
        return [series[i] for i in idx]

    # shugu: run the detector once per candidate sensitivity (the score does not depend on it,
    # the alarms and their hold-offs do).
    inputs = [(s.ts_ms, s.values) for s in series]
    alarms_by_s: dict[float, list[npt.NDArray[np.bool_]]] = {}
    runtimes: list[float] = []
    for sens in sorted({*SENSITIVITIES, DEFAULT_SENSITIVITY}):
        t0 = time.perf_counter()
        results = score_many(inputs, sensitivity=sens)
        runtimes.append(time.perf_counter() - t0)
        alarms_by_s[sens] = [a for _, a in results]
    train_stats = {
        sens: _summary(_score([al[i] for i in train], sub(train)), sub(train))
        for sens, al in alarms_by_s.items()
    }
    # Two tunings on train: the best NAB score among settings with at most one false alarm per
    # series-week (the product's requirement), and the best NAB score regardless.
    within = [s for s, st in train_stats.items() if _f(st["fp_per_series_week"]) <= FP_BUDGET]
    tuned = max(sorted(within or train_stats), key=lambda s: _f(train_stats[s]["nab_score"]))
    nab_only = max(sorted(train_stats), key=lambda s: _f(train_stats[s]["nab_score"]))
    say(
        log,
        "shugu on train by sensitivity (NAB, FP/week):",
        {k: (v["nab_score"], v["fp_per_series_week"]) for k, v in train_stats.items()},
    )

    # Baseline: scores once, threshold tuned on train.
    t0 = time.perf_counter()
    g_scores = [windowed_gaussian(s.values) for s in series]
    g_time = time.perf_counter() - t0
    g_train = {
        thr: normalised(_score([g_scores[i] >= thr for i in train], sub(train)))
        for thr in GAUSSIAN_THRESHOLDS
    }
    g_thr = max(GAUSSIAN_THRESHOLDS, key=lambda t: g_train[t])
    g_alarms = [g >= g_thr for g in g_scores]

    points = sum(len(s.values) for s in series)
    result: dict[str, object] = {
        "files": len(series),
        "split": "sorted file names, even positions train, odd positions test",
        "train_files": [names[i] for i in train],
        "test_files": [names[i] for i in test],
        "shugu_default_sensitivity": DEFAULT_SENSITIVITY,
        "shugu_tuned_sensitivity": tuned,
        "shugu_nab_only_sensitivity": nab_only,
        "fp_budget_per_series_week": FP_BUDGET,
        "gaussian_threshold": g_thr,
        "gaussian_window": 6400,
    }
    for split, idx in splits.items():
        default = _summary(
            _score([alarms_by_s[DEFAULT_SENSITIVITY][i] for i in idx], sub(idx)), sub(idx)
        )
        at_tuned = _summary(_score([alarms_by_s[tuned][i] for i in idx], sub(idx)), sub(idx))
        at_nab = _summary(_score([alarms_by_s[nab_only][i] for i in idx], sub(idx)), sub(idx))
        base = _summary(_score([g_alarms[i] for i in idx], sub(idx)), sub(idx))
        result[f"{split}_shugu"] = default
        result[f"{split}_shugu_tuned"] = at_tuned
        result[f"{split}_shugu_nab_only"] = at_nab
        result[f"{split}_gaussian"] = base
        say(
            log,
            f"{split}: shugu {default['nab_score']} (tuned {at_tuned['nab_score']}, NAB-only "
            f"{at_nab['nab_score']}), gaussian {base['nab_score']}",
        )
    result["shugu_points_per_s"] = round(points / float(np.median(runtimes)))
    result["shugu_seconds_per_run"] = round(float(np.median(runtimes)), 2)
    result["gaussian_seconds"] = round(g_time, 2)
    return result


if __name__ == "__main__":
    print(json.dumps(run(None, log=True), indent=1))
