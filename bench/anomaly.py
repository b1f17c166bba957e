"""`shugu bench anomaly`: NAB and SKAB scores of shugu's detectors next to a baseline, in one run.

The split into tuning and reporting sets is committed data (bench/anomaly_split.yaml, decision
0042): NAB by series, SKAB by experiment. Everything that is tuned (shugu's univariate
sensitivity, the baseline's thresholds) is tuned on the tuning set; the reporting set is scored
once with what tuning chose. The plant detector's threshold comes from each experiment's own fit
period (the first 400 rows), not from labels. All scores are deterministic: one run is the figure.

- NAB: the standard profile (bench/nab.py) of the univariate detector as anomaly rules run it
  (``shugu``: with the pattern statistic, at its sensitivity 0.34, decision 0062), and false
  alarms per series-week on the normal stretches (scored rows outside every window). Beside it
  the same without the pattern statistic (``plain``, at 0.4, the default before decision 0062),
  on which the sensitivity sweep and these variants build: without its time-of-week statistic
  (``no_season``, decision 0045's detector, the default before decision 0052), without its
  contextual statistics (``values_only``, decision 0009's detector) and with the shape statistic
  switched on (``with_shape``, decision 0049's candidate), also for speed: points per second of
  each on the reporting series, a median of three timed runs; and, for its scores only, with
  calibration by hour of the day (``hourly``, decision 0052's candidate) and with the
  contextual statistic trusting its transitions on every series (``untrusted``, the default
  before decision 0055). False alarms per series-week on pure Gaussian noise at 1-minute,
  5-minute and 1-hour sampling, for ``shugu``, ``plain`` and ``untrusted``; and what ``shugu``
  and ``plain`` cost per point in a bank of 200 series (``bank_cost``, bench/anomaly_cost.py).
- SKAB: F1, FAR and MAR over the rows after each experiment's fit period (SKAB's outlier task),
  and false alarms per series-week on the anomaly-free run (an alarm is a rising edge of the
  alarm state) with the share of its rows spent alarmed, also after longer fit periods than
  the protocol's 400 rows (``normal_plant_by_fit_rows``). For reference, the F1 of a detector
  that calls every row anomalous.
- With a NAB checkout (``--nab-repo``, bench/nab_repo.py): its 23 other files as validation
  series (decision 0059), scored with the default and the baseline as tuning chose them, and the
  detectors NAB publishes results for, scored on tuning, reporting and validation files alike.
- With ``--with-cad``: round 8's candidate as it was measured (decision 0059): the plain
  detector at 0.34 or a causal CAD OSE-style detector (bench/cad_ose.py, up to 20,000 contexts)
  where the plain detector trusts the series' sequence, the two combined after the fact.
- Baseline on both: NAB's windowed Gaussian (mean and deviation of the last 6,400 values,
  refreshed every 100, score 1 − Q(|z|); on SKAB the largest score over the sensors).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.anomaly_cost import bank_cost
from bench.anomaly_data import (
    Experiment,
    Series,
    assign,
    data_folder,
    load_nab,
    load_skab,
)
from bench.common import say
from bench.nab import FileScore, normalised, score_file
from bench.nab_repo import load_validation, published, repo_folder, scorer_agrees
from shugu.monitor.anomaly import (
    DEFAULT_PARAMS,
    DEFAULT_SENSITIVITY,
    PATTERN_SENSITIVITY,
    WITH_PATTERN,
    DetectorParams,
    score_many,
)
from shugu.monitor.anomaly_context import ContextParams
from shugu.monitor.anomaly_plant import DEFAULT_PLANT_PARAMS, PlantParams, score_plant

#: Candidate sensitivities of the univariate detector tried on the NAB tuning series.
SENSITIVITIES = [round(0.30 + 0.04 * i, 2) for i in range(6)]
#: Candidate thresholds of the Gaussian baseline: its score is 1 - Q(|z|) in [0.5, 1), so the
#: interesting thresholds are 1 - 10^-k.
GAUSSIAN_THRESHOLDS = [0.5, *(1.0 - 10.0 ** (-k / 4.0) for k in range(2, 49))]

#: Weight of the shape statistic in the ``with_shape`` candidate (its best NAB tuning score).
SHAPE_WEIGHT = 1.5

#: The detector's variants scored beside the default.
VARIANTS: dict[str, DetectorParams] = {
    # Without its contextual statistics (decision 0009's detector).
    "values_only": DetectorParams(context_weight=0.0, season_weight=0.0),
    # The default before decision 0052 (no time-of-week statistic, no hourly calibration).
    "no_season": DetectorParams(season_weight=0.0),
    # Calibration by hour of the day as well (decision 0052's candidate, not the default).
    "hourly": DetectorParams(hourly_calibration=True),
    # The contextual statistic trusting its transitions whatever they predict: the default
    # before decision 0055, which alarmed on white noise.
    "untrusted": DetectorParams(context=ContextParams(trust_gain=0.0)),
    # The shape statistic (adaptive resonance), measured but not the default (decision 0049).
    "with_shape": DetectorParams(art_weight=SHAPE_WEIGHT),
}

#: Timed runs of each univariate detector on the reporting series (the median is reported).
SPEED_RUNS = 3

_MINUTES_PER_WEEK = 7 * 24 * 60
#: Pure Gaussian noise scored for false alarms: (sampling interval in seconds, weeks), 4 seeds.
NOISE_RUNS = ((60, 3), (300, 8), (3600, 40))
NOISE_SEEDS = 4
#: The product's requirement: at most one false alarm per series-week on normal data.
FP_BUDGET = 1.0


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


def white_noise_alarms(
    params: DetectorParams, sensitivity: float = DEFAULT_SENSITIVITY
) -> dict[str, float]:
    """False alarms per series-week of the univariate detector on pure Gaussian noise, per
    sampling interval: a series with no structure should raise none."""
    out: dict[str, float] = {}
    for step_s, weeks in NOISE_RUNS:
        n = int(weeks * 7 * 86400 / step_s)
        ts = (1_700_000_000_000 + np.arange(n, dtype=np.int64) * step_s * 1000).astype(np.int64)
        runs = [(ts, np.random.default_rng(seed).normal(size=n)) for seed in range(NOISE_SEEDS)]
        found = score_many(runs, sensitivity, params)
        alarms = sum(int(a.sum()) for _, a in found)
        out[f"{step_s}s"] = round(alarms / (NOISE_SEEDS * weeks), 2)
    return out


# --- NAB -------------------------------------------------------------------------------------


def _nab_summary(scores: list[FileScore], series: list[Series]) -> dict[str, object]:
    normal_minutes = sum(
        s.normal_rows * x.step_minutes for s, x in zip(scores, series, strict=True)
    )
    fps = sum(s.false_positives for s in scores)
    weeks = normal_minutes / _MINUTES_PER_WEEK
    return {
        "nab_score": round(normalised(scores), 1),
        "windows": sum(s.windows for s in scores),
        "detected": sum(s.detected for s in scores),
        "missed": sum(s.missed for s in scores),
        "false_positives": fps,
        "fp_per_series_week": round(fps / weeks, 2) if weeks > 0 else 0.0,
    }


def _nab_score(alarms: list[npt.NDArray[np.bool_]], series: list[Series]) -> list[FileScore]:
    return [score_file(a, s.windows) for a, s in zip(alarms, series, strict=True)]


def _number(stats: dict[str, object], key: str) -> float:
    value = stats[key]
    assert isinstance(value, (int, float))
    return -math.inf if math.isnan(value) else float(value)


def run_nab(series: list[Series], log: bool) -> dict[str, object]:
    names = [s.name for s in series]
    tuning_names, reporting_names = assign(names, "nab")
    tuning = [s for s in series if s.name in tuning_names]
    reporting = [s for s in series if s.name in reporting_names]
    say(log, f"NAB: {len(series)} series, {len(tuning)} tuning, {len(reporting)} reporting")

    def detect(
        sens: float, group: list[Series], params: DetectorParams | None = None
    ) -> list[npt.NDArray[np.bool_]]:
        pairs = [(s.ts_ms, s.values) for s in group]
        found = score_many(pairs, sensitivity=sens, params=params or DetectorParams())
        return [a for _, a in found]

    t0 = time.perf_counter()
    tuned_stats = {
        sens: _nab_summary(_nab_score(detect(sens, tuning), tuning), tuning)
        for sens in sorted({*SENSITIVITIES, DEFAULT_SENSITIVITY})
    }
    within = [s for s, st in tuned_stats.items() if _number(st, "fp_per_series_week") <= FP_BUDGET]
    tuned = max(sorted(within or tuned_stats), key=lambda s: _number(tuned_stats[s], "nab_score"))
    say(
        log,
        "shugu on NAB tuning by sensitivity:",
        {k: v["nab_score"] for k, v in tuned_stats.items()},
    )
    report_plain = detect(DEFAULT_SENSITIVITY, reporting)
    report_tuned = detect(tuned, reporting)
    report_default = detect(PATTERN_SENSITIVITY, reporting, WITH_PATTERN)
    tuning_default = detect(PATTERN_SENSITIVITY, tuning, WITH_PATTERN)
    shugu_seconds = time.perf_counter() - t0
    values_only = VARIANTS["values_only"]
    no_season = VARIANTS["no_season"]
    hourly = VARIANTS["hourly"]
    untrusted = VARIANTS["untrusted"]
    with_shape = VARIANTS["with_shape"]
    # Throughput on the reporting series, both detectors timed in turn in this run, the median
    # of SPEED_RUNS each (the machine is noisy; the scores above are deterministic).
    seconds: dict[str, list[float]] = {
        "shugu": [], "plain": [], "no_season": [], "values_only": [], "with_shape": []
    }  # fmt: skip
    candidates = (
        ("shugu", PATTERN_SENSITIVITY, WITH_PATTERN),
        ("plain", DEFAULT_SENSITIVITY, DEFAULT_PARAMS),
        ("no_season", DEFAULT_SENSITIVITY, no_season),
        ("values_only", DEFAULT_SENSITIVITY, values_only),
        ("with_shape", DEFAULT_SENSITIVITY, with_shape),
    )
    for _ in range(SPEED_RUNS):
        for key, sens, params in candidates:
            t1 = time.perf_counter()
            detect(sens, reporting, params)
            seconds[key].append(time.perf_counter() - t1)
    report_seconds = statistics.median(seconds["shugu"])
    plain_seconds = statistics.median(seconds["plain"])
    values_only_seconds = statistics.median(seconds["values_only"])
    tuning_values_only = detect(DEFAULT_SENSITIVITY, tuning, values_only)
    report_values_only = detect(DEFAULT_SENSITIVITY, reporting, values_only)
    no_season_seconds = statistics.median(seconds["no_season"])
    tuning_no_season = detect(DEFAULT_SENSITIVITY, tuning, no_season)
    report_no_season = detect(DEFAULT_SENSITIVITY, reporting, no_season)
    tuning_hourly = detect(DEFAULT_SENSITIVITY, tuning, hourly)
    report_hourly = detect(DEFAULT_SENSITIVITY, reporting, hourly)
    tuning_untrusted = detect(DEFAULT_SENSITIVITY, tuning, untrusted)
    report_untrusted = detect(DEFAULT_SENSITIVITY, reporting, untrusted)
    shape_seconds = statistics.median(seconds["with_shape"])
    tuning_shape = detect(DEFAULT_SENSITIVITY, tuning, with_shape)
    report_shape = detect(DEFAULT_SENSITIVITY, reporting, with_shape)

    t0 = time.perf_counter()
    g_scores = {s.name: windowed_gaussian(s.values) for s in series}
    g_seconds = time.perf_counter() - t0
    g_tuning = {
        thr: normalised(_nab_score([g_scores[s.name] >= thr for s in tuning], tuning))
        for thr in GAUSSIAN_THRESHOLDS
    }
    g_thr = max(
        GAUSSIAN_THRESHOLDS, key=lambda t: -math.inf if math.isnan(g_tuning[t]) else g_tuning[t]
    )

    def gauss(group: list[Series]) -> dict[str, object]:
        return _nab_summary(_nab_score([g_scores[s.name] >= g_thr for s in group], group), group)

    points = sum(len(s.values) for s in reporting)
    result: dict[str, object] = {
        "tuning_series": [s.name for s in tuning],
        "reporting_series": [s.name for s in reporting],
        "shugu_default_sensitivity": PATTERN_SENSITIVITY,
        "plain_default_sensitivity": DEFAULT_SENSITIVITY,
        "plain_tuned_sensitivity": tuned,
        "gaussian_threshold": g_thr,
        "tuning_shugu": _nab_summary(_nab_score(tuning_default, tuning), tuning),
        "tuning_plain": tuned_stats[DEFAULT_SENSITIVITY],
        "tuning_gaussian": gauss(tuning),
        "reporting_shugu": _nab_summary(_nab_score(report_default, reporting), reporting),
        "reporting_plain": _nab_summary(_nab_score(report_plain, reporting), reporting),
        "reporting_plain_tuned": _nab_summary(_nab_score(report_tuned, reporting), reporting),
        "reporting_gaussian": gauss(reporting),
        "tuning_no_season": _nab_summary(_nab_score(tuning_no_season, tuning), tuning),
        "reporting_no_season": _nab_summary(_nab_score(report_no_season, reporting), reporting),
        "tuning_hourly": _nab_summary(_nab_score(tuning_hourly, tuning), tuning),
        "reporting_hourly": _nab_summary(_nab_score(report_hourly, reporting), reporting),
        "tuning_values_only": _nab_summary(_nab_score(tuning_values_only, tuning), tuning),
        "reporting_values_only": _nab_summary(_nab_score(report_values_only, reporting), reporting),
        "tuning_untrusted": _nab_summary(_nab_score(tuning_untrusted, tuning), tuning),
        "reporting_untrusted": _nab_summary(_nab_score(report_untrusted, reporting), reporting),
        "white_noise_fp_per_series_week": white_noise_alarms(WITH_PATTERN, PATTERN_SENSITIVITY),
        "white_noise_plain_fp_per_series_week": white_noise_alarms(DEFAULT_PARAMS),
        "white_noise_untrusted_fp_per_series_week": white_noise_alarms(untrusted),
        "tuning_with_shape": _nab_summary(_nab_score(tuning_shape, tuning), tuning),
        "reporting_with_shape": _nab_summary(_nab_score(report_shape, reporting), reporting),
        "shugu_points_per_s": round(points / report_seconds) if report_seconds > 0 else 0,
        "plain_points_per_s": round(points / plain_seconds) if plain_seconds > 0 else 0,
        "bank_cost": bank_cost(series, {"shugu": WITH_PATTERN, "plain": DEFAULT_PARAMS}),
        "no_season_points_per_s": round(points / no_season_seconds) if no_season_seconds > 0 else 0,
        "with_shape_points_per_s": round(points / shape_seconds) if shape_seconds > 0 else 0,
        "values_only_points_per_s": round(points / values_only_seconds)
        if values_only_seconds > 0
        else 0,
        "shugu_seconds": round(shugu_seconds, 2),
        "gaussian_seconds": round(g_seconds, 2),
    }
    shugu_now, gauss_now = result["reporting_shugu"], result["reporting_gaussian"]
    assert isinstance(shugu_now, dict) and isinstance(gauss_now, dict)
    say(log, f"NAB reporting: shugu {shugu_now['nab_score']}, gaussian {gauss_now['nab_score']}")
    return result


# --- SKAB ------------------------------------------------------------------------------------


def _rows_summary(
    pairs: list[tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]],
) -> dict[str, object]:
    """F1 / FAR / MAR over all rows of several runs: (predicted, label) per run."""
    pred = np.concatenate([p for p, _ in pairs]) if pairs else np.zeros(0, dtype=np.bool_)
    label = np.concatenate([y for _, y in pairs]) if pairs else np.zeros(0, dtype=np.bool_)
    tp = int(np.count_nonzero(pred & label))
    fp = int(np.count_nonzero(pred & ~label))
    fn = int(np.count_nonzero(~pred & label))
    normal = int(np.count_nonzero(~label))
    anomalous = int(np.count_nonzero(label))
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return {
        "f1": round(f1, 3),
        "far": round(fp / normal, 3) if normal else 0.0,
        "mar": round(fn / anomalous, 3) if anomalous else 0.0,
        "rows": len(label),
    }


def _alarms_per_week(states: list[npt.NDArray[np.bool_]], ts: list[npt.NDArray[np.int64]]) -> float:
    """Rising edges of an alarm state per week of data."""
    edges = sum(
        int(np.count_nonzero(s[1:] & ~s[:-1]) + (1 if len(s) and s[0] else 0)) for s in states
    )
    ms = sum(float(t[-1] - t[0]) for t in ts if len(t) > 1)
    return round(edges / (ms / 60_000.0 / _MINUTES_PER_WEEK), 1) if ms > 0 else 0.0


def _alarmed_fraction(states: list[npt.NDArray[np.bool_]]) -> float:
    """The share of rows spent in the alarm state: one episode that never ends is one rising
    edge, and a per-week count of edges alone would call it quiet."""
    rows = sum(len(s) for s in states)
    alarmed = sum(int(np.count_nonzero(s)) for s in states)
    return round(alarmed / rows, 3) if rows else 0.0


#: Fit periods the anomaly-free run is also judged after (rows; SKAB's protocol is 400): how
#: long a stretch of the pump's normal running the plant detector needs to stay quiet on it.
NORMAL_FIT_ROWS = (400, 1000, 2000, 3000, 4000)


def _normal_by_fit(normal: list[Experiment], params: PlantParams) -> dict[str, object]:
    """Episodes per week and alarmed share of the anomaly-free run, judged after each fit
    period of :data:`NORMAL_FIT_ROWS` (each on the rows after its own fit)."""
    out: dict[str, object] = {}
    for fit in NORMAL_FIT_ROWS:
        runs = [e for e in normal if len(e.ts_ms) > fit + 1]
        if not runs:
            continue
        fitted = replace(params, fit_rows=fit)
        states = [score_plant(e.ts_ms, e.values, params=fitted)[1][fit:] for e in runs]
        out[str(fit)] = {
            "fp_per_series_week": _alarms_per_week(states, [e.ts_ms[fit:] for e in runs]),
            "alarmed_fraction": _alarmed_fraction(states),
            "judged_rows": sum(len(s) for s in states),
        }
    return out


def _gaussian_rows(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    per_sensor = np.stack([windowed_gaussian(col) for col in values.T], axis=1)
    top: npt.NDArray[np.float64] = per_sensor.max(axis=1)
    return top


def run_skab(experiments: list[Experiment], log: bool, params: PlantParams) -> dict[str, object]:
    normal = [e for e in experiments if e.name.startswith("anomaly-free/")]
    labelled = [e for e in experiments if e not in normal]
    tuning_names, reporting_names = assign([e.name for e in labelled], "skab")
    tuning = [e for e in labelled if e.name in tuning_names]
    reporting = [e for e in labelled if e.name in reporting_names]
    fit = params.fit_rows
    say(log, f"SKAB: {len(tuning)} tuning, {len(reporting)} reporting, {len(normal)} normal runs")

    t0 = time.perf_counter()
    states = {e.name: score_plant(e.ts_ms, e.values, params=params) for e in experiments}
    plant_seconds = time.perf_counter() - t0
    g_scores = {e.name: _gaussian_rows(e.values) for e in experiments}
    g_tuning = {
        thr: _rows_summary([(g_scores[e.name][fit:] >= thr, e.labels[fit:]) for e in tuning])
        for thr in GAUSSIAN_THRESHOLDS
    }
    g_thr = max(GAUSSIAN_THRESHOLDS, key=lambda t: _number(g_tuning[t], "f1"))

    def plant(group: list[Experiment]) -> dict[str, object]:
        return _rows_summary([(states[e.name][1][fit:], e.labels[fit:]) for e in group])

    def gauss(group: list[Experiment]) -> dict[str, object]:
        return _rows_summary([(g_scores[e.name][fit:] >= g_thr, e.labels[fit:]) for e in group])

    def always(group: list[Experiment]) -> dict[str, object]:
        return _rows_summary(
            [(np.ones(len(e.labels) - fit, np.bool_), e.labels[fit:]) for e in group]
        )

    drivers: dict[str, str] = {}
    for e in reporting:
        which = states[e.name][2][fit:][states[e.name][1][fit:]]
        if len(which):
            drivers[e.name] = e.columns[int(np.bincount(which).argmax())]
    rows = sum(len(e.labels) for e in experiments)
    result: dict[str, object] = {
        "tuning_experiments": [e.name for e in tuning],
        "reporting_experiments": [e.name for e in reporting],
        "normal_runs": [e.name for e in normal],
        "fit_rows": fit,
        "gaussian_threshold": g_thr,
        "tuning_plant": plant(tuning),
        "tuning_gaussian": gauss(tuning),
        "reporting_plant": plant(reporting),
        "reporting_gaussian": gauss(reporting),
        "reporting_always_anomalous": always(reporting),
        "reporting_main_driver": drivers,
        "normal_plant_fp_per_series_week": _alarms_per_week(
            [states[e.name][1][fit:] for e in normal], [e.ts_ms[fit:] for e in normal]
        ),
        "normal_plant_alarmed_fraction": _alarmed_fraction(
            [states[e.name][1][fit:] for e in normal]
        ),
        "normal_gaussian_fp_per_series_week": _alarms_per_week(
            [g_scores[e.name][fit:] >= g_thr for e in normal], [e.ts_ms[fit:] for e in normal]
        ),
        "normal_gaussian_alarmed_fraction": _alarmed_fraction(
            [g_scores[e.name][fit:] >= g_thr for e in normal]
        ),
        "normal_plant_by_fit_rows": _normal_by_fit(normal, params),
        "plant_rows_per_s": round(rows / plant_seconds) if plant_seconds > 0 else 0,
    }
    plant_now, gauss_now = result["reporting_plant"], result["reporting_gaussian"]
    assert isinstance(plant_now, dict) and isinstance(gauss_now, dict)
    say(log, f"SKAB reporting F1: plant {plant_now['f1']}, gaussian {gauss_now['f1']}")
    return result


def _families(scores: list[FileScore], series: list[Series]) -> dict[str, object]:
    """Summaries per NAB family (the folder under data/), as `_nab_summary` gives them."""
    families: dict[str, list[int]] = {}
    for k, s in enumerate(series):
        families.setdefault(s.name.split("/")[-2], []).append(k)
    out: dict[str, object] = {}
    for family, ks in sorted(families.items()):
        summary = _nab_summary([scores[k] for k in ks], [series[k] for k in ks])
        if summary["windows"] == 0:
            # A family without windows (artificialNoAnomaly) has no NAB score, only false alarms.
            summary["nab_score"] = None
        out[family] = summary
    return out


def run_nab_repo(
    repo: Path,
    series: list[Series],
    validation: list[Series],
    gaussian_threshold: float,
    log: bool,
) -> dict[str, object]:
    """The validation series of a NAB checkout (decision 0059) scored with the default detector
    (by family), the plain one (at each candidate sensitivity) and its variants, the baseline as
    tuning chose it, and the published detectors on every set."""
    tuning_names, reporting_names = assign([s.name for s in series], "nab")
    say(log, f"NAB checkout: {len(validation)} validation series")
    pairs = [(s.ts_ms, s.values) for s in validation]

    def scored(sensitivity: float, params: DetectorParams = DEFAULT_PARAMS) -> list[FileScore]:
        found = [a for _, a in score_many(pairs, sensitivity=sensitivity, params=params)]
        return _nab_score(found, validation)

    shugu = scored(PATTERN_SENSITIVITY, WITH_PATTERN)
    g_found = [windowed_gaussian(s.values) >= gaussian_threshold for s in validation]
    result: dict[str, object] = {
        "validation_series": [s.name for s in validation],
        "validation_shugu": _nab_summary(shugu, validation),
        "validation_shugu_by_family": _families(shugu, validation),
        "validation_by_sensitivity": {
            str(sens): _nab_summary(scored(sens), validation) for sens in SENSITIVITIES
        },
        "validation_variants": {
            name: _nab_summary(scored(DEFAULT_SENSITIVITY, params), validation)
            for name, params in VARIANTS.items()
        },
        "validation_plain": _nab_summary(scored(DEFAULT_SENSITIVITY), validation),
        "validation_gaussian": _nab_summary(_nab_score(g_found, validation), validation),
    }
    groups = {
        "tuning": [s for s in series if s.name in tuning_names],
        "reporting": [s for s in series if s.name in reporting_names],
        "validation": validation,
    }
    others = published(repo, groups, _nab_summary)
    if others:
        result["published"] = others
        result["scorer_agrees_with_nab"] = scorer_agrees(others)
    shugu_now = result["validation_shugu"]
    assert isinstance(shugu_now, dict)
    say(log, f"NAB validation: shugu {shugu_now['nab_score']}")
    return result


def run_cad_union(series: list[Series], validation: list[Series], log: bool) -> dict[str, object]:
    """Round 8's candidate (c) (decision 0059) on tuning, reporting and, with a NAB checkout,
    validation: the default at 0.34 or a causal CAD OSE-style detector where the default trusts
    the series' sequence. Slow (CAD is pure Python), so only on request."""
    # Imported here: the round's module itself imports from this one.
    from bench.anomaly_cad_round import gated_union

    tuning_names, reporting_names = assign([s.name for s in series], "nab")
    groups = {
        "tuning": [s for s in series if s.name in tuning_names],
        "reporting": [s for s in series if s.name in reporting_names],
    }
    if validation:
        groups["validation"] = validation
    result: dict[str, object] = {}
    rates = []
    for name, group in groups.items():
        alarms, rate = gated_union(group)
        result[name] = _nab_summary(_nab_score(alarms, group), group)
        rates.append(rate)
    result["cad_points_per_s"] = round(statistics.median(rates))
    reporting = result["reporting"]
    assert isinstance(reporting, dict)
    say(log, f"NAB reporting, the default at 0.34 or gated CAD: {reporting['nab_score']}")
    return result


def run(
    data: Path | None, log: bool, nab_repo: Path | None = None, with_cad: bool = False
) -> dict[str, object]:
    folder = data_folder(data)
    repo = repo_folder(nab_repo)
    result: dict[str, object] = {"data": folder.name, "split_file": "bench/anomaly_split.yaml"}
    series = load_nab(folder)
    if series:
        result["nab"] = nab = run_nab(series, log)
        validation = [] if repo is None else load_validation(repo, [s.name for s in series])
        if repo is not None:
            threshold = nab["gaussian_threshold"]
            assert isinstance(threshold, float)
            result["nab_repo"] = run_nab_repo(repo, series, validation, threshold, log)
        if with_cad:
            result["nab_cad_union"] = run_cad_union(series, validation, log)
    experiments = load_skab(folder)
    if experiments:
        result["skab"] = run_skab(experiments, log, DEFAULT_PLANT_PARAMS)
    return result


if __name__ == "__main__":
    print(json.dumps(run(None, log=True), indent=1))
