"""Rounds 8, 10 and 11 of issue 15: which pattern statistic makes shugu's anomaly alarms generalise?

    PYTHONPATH=src:. .venv/bin/python -m bench.anomaly_cad_round --nab-repo <NAB checkout> \\
        --data <data folder> --published <NAB checkout>/results/contextOSE \\
        [--cache DIR] [--variants a,b] [--no-noise a,b] [--thresholds t,u] [--sensitivities s,t]

Round 8 (decision 0059) scored a causal CAD OSE-style detector (bench/cad_ose.py); round 10
(decision 0062) the monitor's pattern statistic with other resolutions and orders (``seq-*``);
round 11 (decision 0065) a sustained run of that statistic's raw score, calibrated per series,
as a statistic of its own (``run-*``: exceedance ladder; ``gauss-*``: Gaussian tail) or as a
confirmation the pattern's alarms need (``confirm-*``).

Scores only the NAB tuning series of bench/anomaly_split.yaml and the *validation* series: the
NAB v1.1 files of a NAB checkout (``--nab-repo``: ``data/<family>/<file>.csv`` and
``labels/combined_windows.json``) that are not in the data folder. The reporting series are
never read. Deterministic: no randomness except seeded white noise.

1. Reproduction: :class:`Cad` with each file's own minimum and maximum and NAB's rest period,
   against CAD OSE's published per-row scores (``--published``), on the tuning files.
2. Candidates, per set and family: NAB standard score, windows found, false alarms per
   series-week; on validation's artificialNoAnomaly family, false alarms per series-week;
   on white noise, alarms per series-week; points per second.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.anomaly import _MINUTES_PER_WEEK, NOISE_RUNS, NOISE_SEEDS
from bench.anomaly_data import Series, assign, load_nab
from bench.cad_ose import Cad, CadParams, CausalCad, CausalParams
from bench.nab import FileScore, normalised, probation_length, score_file
from bench.nab_repo import load_validation, nab_path
from bench.pattern_run import RunParams, RunState
from shugu.monitor.anomaly import AnomalyBank
from shugu.monitor.anomaly_sequence import SequenceParams, SequenceState

#: CAD OSE's threshold in NAB's standard profile (as published in NAB's config/thresholds.json).
NAB_THRESHOLD = 0.7655273437500002
THRESHOLDS = (NAB_THRESHOLD, 0.80, 0.85, 0.90)
#: Sensitivities of the default detector that CAD's alarms are combined with (0.40 is its own).
DEFAULT_SENSITIVITIES = (0.40, 0.34, 0.30)
#: The default detector's hold-off, applied to CAD's alarms when they are combined with it.
HOLDOFF_MS = 360 * 60_000
T0 = 1_700_000_000_000

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Labelled:
    """A scored series: its NAB path (``family/file.csv``) and the loaded series."""

    key: str
    series: Series

    @property
    def family(self) -> str:
        return self.key.split("/")[0]


def load_sets(data: Path, nab_repo: Path) -> tuple[list[Labelled], list[Labelled]]:
    """(tuning, validation). The reporting series are filtered out before anything is kept."""
    known = load_nab(data)
    tuning_names = set(assign([s.name for s in known], "nab")[0])
    tuning = [Labelled(nab_path(s.name), s) for s in known if s.name in tuning_names]
    validation = [
        Labelled(s.name.split("/", 1)[1], s)
        for s in load_validation(nab_repo, [s.name for s in known])
    ]
    return tuning, validation


def summary(alarms: list[Bools], group: list[Labelled]) -> dict[str, object]:
    scores = [score_file(a, x.series.windows) for a, x in zip(alarms, group, strict=True)]

    def per_week(pick: list[tuple[FileScore, Labelled]]) -> float:
        weeks = sum(s.normal_rows * x.series.step_minutes for s, x in pick) / _MINUTES_PER_WEEK
        return round(sum(s.false_positives for s, _ in pick) / weeks, 2) if weeks else 0.0

    pairs = list(zip(scores, group, strict=True))
    families: dict[str, list[tuple[FileScore, Labelled]]] = {}
    for s, x in pairs:
        families.setdefault(x.family, []).append((s, x))
    return {
        "nab": round(normalised(scores), 1),
        "found": f"{sum(s.detected for s in scores)}/{sum(s.windows for s in scores)}",
        "fp_week": per_week(pairs),
        "families": {
            f: {"nab": round(normalised([s for s, _ in v]), 1), "fp_week": per_week(v)}
            for f, v in families.items()
        },
    }


def held_off(ts: npt.NDArray[np.int64], own: Bools, cad: Bools) -> Bools:
    """An alarm where the default alarms, or CAD alarms at least the hold-off after the last."""
    out = own.copy()
    last = -(2**62)
    for i in np.flatnonzero(own | cad).tolist():
        if own[i] or ts[i] - last >= HOLDOFF_MS:
            out[i] = True
            last = int(ts[i])
    return out


def default_run(group: list[Series], sensitivity: float) -> tuple[list[Bools], list[Bools]]:
    """The default detector on each series (as :func:`score_many`): its alarms, and where its
    contextual statistic trusts the series' sequence in full (decision 0055's gain)."""
    bank = AnomalyBank(sensitivity, capacity=max(len(group), 1))
    assert bank.context is not None
    need = bank.params.context.trust_gain
    slots = np.array([bank.slot((0, k)) for k in range(len(group))], dtype=np.intp)
    lengths = np.array([len(s.values) for s in group], dtype=np.intp)
    longest = int(lengths.max())
    ts = np.zeros((len(group), longest), dtype=np.int64)
    x = np.zeros((len(group), longest))
    for k, s in enumerate(group):
        ts[k, : len(s.values)] = s.ts_ms
        x[k, : len(s.values)] = s.values
    alarms = np.zeros((len(group), longest), dtype=np.bool_)
    trusted = np.zeros((len(group), longest), dtype=np.bool_)
    for i in range(longest):
        live = np.flatnonzero(lengths > i)
        _, alarms[live, i] = bank.update(slots[live], ts[live, i], x[live, i])
        trusted[live, i] = bank.context.gain[slots[live]] >= need
    return (
        [alarms[k, :m].copy() for k, m in enumerate(lengths)],
        [trusted[k, :m].copy() for k, m in enumerate(lengths)],
    )


Factory = Callable[[Series], Callable[[float], float]]


def causal(params: CausalParams) -> Factory:
    return lambda _s: CausalCad(params).score


def look_ahead(s: Series) -> Callable[[float], float]:
    rest = int(probation_length(len(s.values)) / 5.0)
    return Cad(
        float(s.values.min()),
        float(s.values.max()),
        CadParams(rest_points=rest, max_contexts=10**6),
    ).score


VARIANTS: dict[str, Factory] = {
    "file-range": look_ahead,
    "w500-m25-clip": causal(CausalParams(500, 0.25, "clip")),
    "w200-m25-clip": causal(CausalParams(200, 0.25, "clip")),
    "w500-m10-clip": causal(CausalParams(500, 0.10, "clip")),
    "w500-m0-clip": causal(CausalParams(500, 0.0, "clip")),
    "w750-m10-clip": causal(CausalParams(750, 0.10, "clip")),
    "w500-m25-rescale": causal(CausalParams(500, 0.25, "rescale")),
    "w500-m25-rescale-c500": causal(
        CausalParams(500, 0.25, "rescale", CadParams(rest_points=120, max_contexts=500))
    ),
    "w500-m25-rescale-c2000": causal(
        CausalParams(500, 0.25, "rescale", CadParams(rest_points=120, max_contexts=2000))
    ),
    "w500-m25-rescale-c5000": causal(
        CausalParams(500, 0.25, "rescale", CadParams(rest_points=120, max_contexts=5000))
    ),
    "w500-m10-expand": causal(CausalParams(500, 0.10, "expand")),
    "w500-m10-double": causal(CausalParams(500, 0.10, "double")),
    "w500-m25-clip-4bits": causal(
        CausalParams(500, 0.25, "clip", CadParams(rest_points=120, value_bits=4))
    ),
}


def sequence(**sizes: Any) -> Factory:
    """The monitor's pattern statistic (decision 0062) alone on one series, with these sizes."""

    def make(_s: Series) -> Callable[[float], float]:
        state = SequenceState(1, SequenceParams(**sizes))
        slot, valid = np.zeros(1, dtype=np.intp), np.ones(1, dtype=np.bool_)
        return lambda value: float(state.step(slot, np.array([value]), valid)[0])

    return make


#: Round 10 (decision 0062): the pattern statistic's resolutions (b: bits) and orders (o).
VARIANTS.update(
    {
        "seq-b123-o123": sequence(bits=(1, 2, 3)),
        "seq-b3-o123": sequence(bits=(3,)),
        "seq-b23-o123": sequence(),
        "seq-b23-o12": sequence(orders=(1, 2)),
        "seq-b23-o1234": sequence(orders=(1, 2, 3, 4)),
        "seq-b234-o123": sequence(bits=(2, 3, 4)),
        "seq-b1234-o123": sequence(bits=(1, 2, 3, 4)),
        "seq-b23-o123-r60": sequence(rest_points=60),
        "seq-b23-o123-w300": sequence(warmup_points=300),
    }
)


_PATTERN_MEMO: dict[tuple[str, int], tuple[Floats, Floats, Bools]] = {}


def _pattern_of(s: Series) -> tuple[Floats, Floats, Bools]:
    """The default pattern statistic on one series: (score, raw score, scored) per point."""
    key = (s.name, len(s.values))
    if key not in _PATTERN_MEMO:
        state = SequenceState(1, SequenceParams())
        slot, valid = np.zeros(1, dtype=np.intp), np.ones(1, dtype=np.bool_)
        n = len(s.values)
        out, raw, live = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.bool_)
        for i, v in enumerate(s.values.tolist()):
            out[i] = state.step(slot, np.array([v]), valid)[0]
            raw[i], live[i] = state.raw[0], state.scored[0]
        _PATTERN_MEMO[key] = (out, raw, live)
    return _PATTERN_MEMO[key]


def _run_of(s: Series, sizes: dict[str, Any]) -> tuple[Floats, Floats]:
    """The default pattern statistic on one series and its sustained run in decades, per point."""
    rested, raw, live = _pattern_of(s)
    state = RunState(1, RunParams(**sizes))
    slot = np.zeros(1, dtype=np.intp)
    run = np.zeros(len(raw))
    for i in range(len(raw)):
        run[i] = state.step(slot, s.ts_ms[i : i + 1], raw[i : i + 1], live[i : i + 1])[0]
    return rested, run


def _replayed(scores: Floats) -> Callable[[float], float]:
    points = iter(scores.tolist())
    return lambda _value: next(points)


def pattern_confirmed(decades: float, **sizes: Any) -> Factory:
    """Round 11, the other way round: the pattern statistic counts only where its run has
    reached ``decades`` (a single odd step on a series where odd steps are routine does not)."""

    def make(s: Series) -> Callable[[float], float]:
        rested, run = _run_of(s, sizes)
        return _replayed(np.where(run >= decades, rested, 0.0))

    return make


def pattern_run(decades: float, **sizes: Any) -> Factory:
    """Round 11: the default pattern statistic, or its sustained run (anomaly_pattern_run) at
    ``decades``, on one series, as one score: the run alarms where the score reaches 0.85."""

    def make(s: Series) -> Callable[[float], float]:
        rested, run = _run_of(s, sizes)
        return _replayed(np.fmax(rested, 0.85 * run / decades))

    return make


#: Round 11: the sustained run of the pattern score, calibrated per series (r: EWMA points,
#: d: the decades at which it alarms).
VARIANTS.update(
    {
        f"run-r{r}-d{d}": pattern_run(float(d), points=float(r))
        for r in (5, 10, 20)
        for d in ("2", "2.5", "3", "3.3", "4", "4.5", "5")
    }
)
VARIANTS.update(
    {
        f"run-r{r}-d{d}-t16": pattern_run(float(d), points=float(r), tail_decades=16.0)
        for r in (5, 10)
        for d in ("2.5", "3", "3.3")
    }
)
VARIANTS.update(
    {
        f"confirm-r{r}-d{d}": pattern_confirmed(float(d), points=float(r))
        for r in (5, 10)
        for d in ("0.5", "1", "1.5", "2")
    }
)
VARIANTS.update(
    {
        f"confirm-gauss-r{r}-d{d}": pattern_confirmed(
            float(d), points=float(r), calibration="gauss"
        )
        for r in (5, 10)
        for d in ("1", "2")
    }
)
#: The other calibration: the run's Gaussian tail against its mean and spread (HTM's own).
VARIANTS.update(
    {
        f"gauss-r{r}-d{d}": pattern_run(float(d), points=float(r), calibration="gauss")
        for r in (5, 10, 20)
        for d in ("3.3", "4", "5", "6", "8", "10")
    }
)
VARIANTS.update(
    {
        f"gauss-r{r}-d{d}-l8640": pattern_run(
            float(d), points=float(r), calibration="gauss", likelihood_points=8640.0
        )
        for r in (10, 20)
        for d in ("5", "6", "8", "10")
    }
)


def run_scores(
    factory: Factory, group: list[Series], cache: Path | None, tag: str
) -> tuple[list[Floats], float]:
    """Each series' scores and the points per second (cached by ``tag`` when asked)."""
    path = cache / f"{tag}.npz" if cache else None
    if path is not None and path.is_file():
        data = np.load(path)
        if "rate" in data:  # the first format of the cache
            return [data[f"s{k}"] for k in range(len(group))], float(data["rate"])
        return [data[f"arr_{k + 1}"] for k in range(len(group))], float(data["arr_0"])
    start = time.process_time()
    out = []
    for s in group:
        step = factory(s)
        out.append(np.array([step(v) for v in s.values.tolist()]))
    rate = sum(len(s.values) for s in group) / max(time.process_time() - start, 1e-9)
    if path is not None:
        np.savez(path, np.array(rate), *out)
    return out, rate


def noise_series() -> list[Series]:
    out = []
    for step_s, weeks in NOISE_RUNS:
        n = int(weeks * 7 * 86400 / step_s)
        ts = (T0 + np.arange(n, dtype=np.int64) * step_s * 1000).astype(np.int64)
        for seed in range(NOISE_SEEDS):
            values = np.random.default_rng(seed).normal(size=n)
            out.append(Series(f"noise-{step_s}s-{seed}", ts, values, [], step_s / 60.0))
    return out


def noise_rates(alarms: list[Bools], noise: list[Series]) -> dict[str, float]:
    out: dict[str, float] = {}
    for step_s, weeks in NOISE_RUNS:
        hits = [
            int(a.sum())
            for a, s in zip(alarms, noise, strict=True)
            if s.name.startswith(f"noise-{step_s}s")
        ]
        out[f"{step_s}s"] = round(sum(hits) / (NOISE_SEEDS * weeks), 2)
    return out


def reproduction(group: list[Labelled], published: Path, cache: Path | None) -> dict[str, object]:
    scores, _ = run_scores(look_ahead, [x.series for x in group], cache, "file-range-tuning")
    equal = total = 0
    ours: list[Bools] = []
    theirs: list[Bools] = []
    for x, mine in zip(group, scores, strict=True):
        family, name = x.key.split("/")
        with (published / family / f"contextOSE_{name}").open(newline="") as f:
            pub = np.array([float(r["anomaly_score"]) for r in csv.DictReader(f)])
        equal += int(np.count_nonzero(np.abs(mine - pub) <= 1e-9))
        total += len(pub)
        ours.append(mine >= NAB_THRESHOLD)
        theirs.append(pub >= NAB_THRESHOLD)
    return {
        "rows_equal": f"{equal}/{total} ({equal / total:.5f})",
        "ours": summary(ours, group),
        "published": summary(theirs, group),
    }


#: Round 8's candidate (c) (decision 0059): the default at this sensitivity, or causal CAD at
#: this threshold where the default trusts the series' sequence, held off as the default is.
UNION_SENSITIVITY = 0.34
UNION_CAD = CausalParams(500, 0.25, "rescale")
UNION_THRESHOLD = 0.85


def gated_union(group: list[Series]) -> tuple[list[Bools], float]:
    """Candidate (c)'s alarms on each series, and CAD's points per second."""
    own, trusted = default_run(group, UNION_SENSITIVITY)
    scores, rate = run_scores(causal(UNION_CAD), group, None, "")
    alarms = [
        held_off(s.ts_ms, o, (c >= UNION_THRESHOLD) & ok)
        for s, o, c, ok in zip(group, own, scores, trusted, strict=True)
    ]
    return alarms, rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nab-repo", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--published", type=Path, help="CAD OSE's published outputs (contextOSE/)")
    ap.add_argument("--cache", type=Path, help="keep score arrays here between runs")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--no-noise", default="", help="variants not scored on white noise")
    ap.add_argument("--thresholds", help="comma-separated score thresholds (default: CAD's)")
    ap.add_argument("--sensitivities", help="of the plain detector combined with (0.40,0.34,0.30)")
    args = ap.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")] if args.thresholds else THRESHOLDS
    sensitivities = (
        [float(t) for t in args.sensitivities.split(",")]
        if args.sensitivities
        else DEFAULT_SENSITIVITIES
    )
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    tuning, validation = load_sets(args.data, args.nab_repo)
    sets = {"tuning": tuning, "validation": validation}
    report: dict[str, object] = {}
    if args.published:
        report["reproduction"] = reproduction(tuning, args.published, args.cache)

    noise = noise_series()
    # What CAD's alarms are combined with: nothing, the default detector at its sensitivity
    # (0.40) or at a stricter one (so that the union keeps the false-alarm budget); and
    # "trusted": CAD's alarms only where the default's contextual statistic trusts the series'
    # sequence (decision 0055), which is what keeps the default quiet on white noise.
    Alarms = tuple[dict[str, list[Bools]], list[Bools]]
    partners: dict[str, tuple[Alarms | None, Alarms | None]] = {"alone": (None, None)}
    nothing: Alarms = (
        {n: [np.zeros(len(x.series.values), np.bool_) for x in g] for n, g in sets.items()},
        [np.zeros(len(s.values), np.bool_) for s in noise],
    )
    partners["alone-holdoff"] = (nothing, None)
    for sensitivity in sensitivities:
        start = time.process_time()
        runs = {n: default_run([x.series for x in g], sensitivity) for n, g in sets.items()}
        points = sum(len(x.series.values) for g in sets.values() for x in g)
        # Every series in one bank, as the monitor runs them (not per series, as CAD runs).
        rate = points / max(time.process_time() - start, 1e-9)
        on_noise, trust_noise = default_run(noise, sensitivity)
        on_sets = {n: r[0] for n, r in runs.items()}
        trust: Alarms = ({n: r[1] for n, r in runs.items()}, trust_noise)
        row: dict[str, object] = {n: summary(on_sets[n], g) for n, g in sets.items()}
        row["points_per_s"] = round(rate)
        row["noise"] = noise_rates(on_noise, noise)
        report[f"default@{sensitivity:.2f}"] = row
        partners[f"or-default@{sensitivity:.2f}"] = ((on_sets, on_noise), None)
        partners[f"or-default@{sensitivity:.2f}-trusted"] = ((on_sets, on_noise), trust)
        if sensitivity == sensitivities[0]:  # the trust does not depend on it
            partners["alone-trusted"] = (None, trust)
    print(json.dumps({k: v for k, v in report.items() if k != "reproduction"}), flush=True)

    for variant in args.variants.split(","):
        factory = VARIANTS[variant]
        entry: dict[str, object] = {}
        scored = {
            n: run_scores(factory, [x.series for x in g], args.cache, f"{variant}-{n}")
            for n, g in sets.items()
        }
        noisy = None
        if variant != "file-range" and variant not in args.no_noise.split(","):
            noisy = run_scores(factory, noise, args.cache, f"{variant}-noise")
        entry["points_per_s"] = round(float(np.median([rate for _, rate in scored.values()])), 0)
        for th in thresholds:
            for how, (partner, gate) in partners.items():
                row = {}
                for n, g in sets.items():
                    cad = [s >= th for s in scored[n][0]]
                    if gate is not None:
                        cad = [c & ok for c, ok in zip(cad, gate[0][n], strict=True)]
                    if partner is not None:
                        cad = [
                            held_off(x.series.ts_ms, own, c)
                            for x, own, c in zip(g, partner[0][n], cad, strict=True)
                        ]
                    row[n] = summary(cad, g)
                if noisy is not None:
                    cad = [s >= th for s in noisy[0]]
                    if gate is not None:
                        cad = [c & ok for c, ok in zip(cad, gate[1], strict=True)]
                    if partner is not None:
                        cad = [
                            held_off(s.ts_ms, own, c)
                            for s, own, c in zip(noise, partner[1], cad, strict=True)
                        ]
                    row["noise"] = noise_rates(cad, noise)
                entry[f"{how}/cad@{th:.4f}"] = row
        report[variant] = entry
        print(json.dumps({variant: entry}), flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
