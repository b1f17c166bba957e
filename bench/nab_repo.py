"""A NAB v1.1 checkout beside the bench's data: a validation set and published detectors.

`shugu bench anomaly --nab-repo <NAB checkout>` (or ``$SHUGU_NAB_REPO``) reads two more things from
a clone of github.com/numenta/NAB (its ``data/``, ``labels/combined_windows.json``, and, when
present, ``results/`` and ``config/thresholds.json``):

- **Validation series**: every NAB file of the checkout that is not one of the bench data's NAB
  files (decision 0059). None of them was used to develop or tune the detector; they are scored
  with the default as it is, beside the reporting set, and the figure is a second reading of how
  the detector does on data it was not tuned on.
- **Published detectors**: NAB's stored per-row outputs of each detector in ``results/``, at the
  threshold NAB chose for it on the standard profile (``config/thresholds.json``), scored with
  bench/nab.py on the same tuning, reporting and validation files as shugu. NAB's own per-file
  scores of the same detections are in ``results/<detector>/<detector>_standard_scores.csv``;
  the largest difference from ours is reported, so the run also checks our scorer.

The published detectors had two advantages shugu does not take: their encoders are scaled by each
file's whole-file minimum and maximum (known before the first point), and their thresholds were
chosen on all 58 files, the reporting and validation files among them.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.anomaly_data import Series, read_nab
from bench.nab import FileScore, score_file

NAB_REPO_ENV = "SHUGU_NAB_REPO"
LABELS = Path("labels") / "combined_windows.json"
THRESHOLDS = Path("config") / "thresholds.json"
#: The bench data's NAB folders and where NAB keeps the same files.
_OUR_FOLDERS = {"nab-aws": "realAWSCloudwatch"}
#: Published detectors compared, by their folder under ``results/`` (NAB's own names).
PUBLISHED = (
    "ARTime",
    "numenta",
    "contextOSE",
    "htmjava",
    "knncad",
    "relativeEntropy",
    "earthgeckoSkyline",
    "windowedGaussian",
)
#: A difference from NAB's own per-file score up to this is rounding.
SCORER_TOLERANCE = 1e-6


def repo_folder(repo: Path | None) -> Path | None:
    """The checkout given, else $SHUGU_NAB_REPO, else None; FileNotFoundError if it is not one."""
    folder = repo or (Path(os.environ[NAB_REPO_ENV]) if os.environ.get(NAB_REPO_ENV) else None)
    if folder is None:
        return None
    if not (folder / LABELS).is_file() or not (folder / "data").is_dir():
        raise FileNotFoundError(
            f"{folder} is not a NAB checkout: it needs data/ and {LABELS.as_posix()} "
            "(git clone https://github.com/numenta/NAB)"
        )
    return folder


def nab_path(name: str) -> str:
    """Where a bench series (``nab-aws/x.csv``, ``nab-more/f/x.csv``) sits under NAB's data/."""
    top, rest = name.split("/", 1)
    return f"{_OUR_FOLDERS[top]}/{rest}" if top in _OUR_FOLDERS else rest


def load_validation(repo: Path, ours: Sequence[str]) -> list[Series]:
    """Every labelled file of the checkout that the bench data does not hold, named
    ``nab-repo/<family>/<file>``, in sorted order."""
    labels: dict[str, list[list[str]]] = json.loads((repo / LABELS).read_text())
    taken = {nab_path(n) for n in ours}
    return [
        read_nab(repo / "data" / rel, f"nab-repo/{rel}", labels[rel])
        for rel in sorted(labels)
        if rel not in taken and (repo / "data" / rel).is_file()
    ]


def _repo_rel(series: Series) -> str:
    name = series.name
    return name.removeprefix("nab-repo/") if name.startswith("nab-repo/") else nab_path(name)


def _detections(
    repo: Path, detector: str, series: Series, threshold: float
) -> npt.NDArray[np.bool_]:
    family, file = _repo_rel(series).split("/", 1)
    path = repo / "results" / detector / family / f"{detector}_{file}"
    with path.open(newline="") as f:
        scores = np.array([float(row["anomaly_score"]) for row in csv.DictReader(f)])
    if len(scores) != len(series.values):
        raise ValueError(f"{path}: {len(scores)} rows, the data file has {len(series.values)}")
    return scores >= threshold


def _their_file_scores(repo: Path, detector: str) -> dict[str, float]:
    path = repo / "results" / detector / f"{detector}_standard_scores.csv"
    with path.open(newline="") as f:
        return {row["File"]: float(row["Score"]) for row in csv.DictReader(f)}


def published(
    repo: Path,
    groups: dict[str, list[Series]],
    summarise: Callable[[list[FileScore], list[Series]], dict[str, object]],
) -> dict[str, object]:
    """Each published detector's summary per group of series (as shugu's are summarised), and
    the largest difference between our per-file raw score and NAB's own."""
    if not (repo / THRESHOLDS).is_file() or not (repo / "results").is_dir():
        return {}
    thresholds = json.loads((repo / THRESHOLDS).read_text())
    out: dict[str, object] = {}
    for detector in PUBLISHED:
        if detector not in thresholds or not (repo / "results" / detector).is_dir():
            continue
        try:
            out[detector] = _one_detector(repo, detector, thresholds, groups, summarise)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # A checkout with a detector's results missing or malformed: say so, score the rest.
            out[detector] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def _one_detector(
    repo: Path,
    detector: str,
    thresholds: dict[str, dict[str, dict[str, float]]],
    groups: dict[str, list[Series]],
    summarise: Callable[[list[FileScore], list[Series]], dict[str, object]],
) -> dict[str, object]:
    threshold = float(thresholds[detector]["standard"]["threshold"])
    theirs = _their_file_scores(repo, detector)
    worst = 0.0
    entry: dict[str, object] = {"threshold": threshold}
    for group, members in groups.items():
        scores = [score_file(_detections(repo, detector, s, threshold), s.windows) for s in members]
        for s, fs in zip(members, scores, strict=True):
            their = theirs.get(_repo_rel(s))
            if their is not None:
                worst = max(worst, abs(fs.raw - their))
        entry[group] = summarise(scores, members)
    entry["scorer_max_file_difference"] = float(f"{worst:.3g}")
    return entry


def scorer_agrees(result: dict[str, object]) -> bool:
    """True when every published detector scored had per-file scores equal to NAB's own."""
    differences = [
        float(v["scorer_max_file_difference"])
        for v in result.values()
        if isinstance(v, dict) and "scorer_max_file_difference" in v
    ]
    return bool(differences) and all(
        d <= SCORER_TOLERANCE and not math.isnan(d) for d in differences
    )
