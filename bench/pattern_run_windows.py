"""Round 11 (decision 0065): for each labelled window of the NAB tuning and validation series,
whether the default finds it, and the largest sustained-pattern surprise inside it against the
largest outside the windows (after NAB's probation) on the same series.

    PYTHONPATH=src:. .venv/bin/python -m bench.pattern_run_windows --nab-repo <NAB checkout> \\
        --data <data folder>

Reads no reporting series (the sets of bench/anomaly_cad_round.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bench.anomaly_cad_round import _pattern_of, default_run, held_off, load_sets
from bench.anomaly_data import Series
from bench.pattern_run import RunParams, RunState

#: The default's pattern threshold (decision 0062) and the share of a file NAB leaves unscored.
PATTERN_THRESHOLD = 0.85
PROBATION = 0.15


def surprises(s: Series, params: RunParams) -> np.ndarray:
    """The sustained-pattern surprise (decades) at each point of one series."""
    _, raw, live = _pattern_of(s)
    state, slot = RunState(1, params), np.zeros(1, dtype=np.intp)
    return np.array(
        [
            state.step(slot, s.ts_ms[i : i + 1], raw[i : i + 1], live[i : i + 1])[0]
            for i in range(len(raw))
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nab-repo", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    args = ap.parse_args()
    tuning, validation = load_sets(args.data, args.nab_repo)
    kinds = {"ladder": RunParams(points=10.0), "gauss": RunParams(points=10.0, calibration="gauss")}
    for name, group in (("tuning", tuning), ("validation", validation)):
        own, trusted = default_run([x.series for x in group], 0.34)
        for x, alarms, ok in zip(group, own, trusted, strict=True):
            s = x.series
            rested, _, _ = _pattern_of(s)
            found = held_off(s.ts_ms, alarms, (rested >= PATTERN_THRESHOLD) & ok)
            runs = {k: np.where(ok, surprises(s, p), 0.0) for k, p in kinds.items()}
            outside = np.ones(len(s.values), dtype=np.bool_)
            outside[: int(PROBATION * len(s.values))] = False
            for a, b in s.windows:
                outside[a : b + 1] = False
            for a, b in s.windows:
                cells = [
                    f"{k} in {r[a : b + 1].max():.2f} out {r[outside].max(initial=0.0):.2f}"
                    for k, r in runs.items()
                ]
                hit = "found" if found[a : b + 1].any() else "MISSED"
                print(
                    name, x.key, f"rows {a}-{b}", hit, *cells, f"trusted {ok[a : b + 1].mean():.2f}"
                )


if __name__ == "__main__":
    main()
