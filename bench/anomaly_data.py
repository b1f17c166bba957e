"""Loading the anomaly bench's data and its tuning / reporting split (bench/anomaly_split.yaml).

The data folder holds ``nab-aws/`` and ``nab-more/`` (NAB series, each folder with a
``windows.json``) and ``skab-dev/`` (SKAB's valve1 experiments and its anomaly-free run). Any of
the three may be absent; the bench scores what is there.
"""

from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import yaml

from bench.nab import window_rows

#: Where the data is when no folder is given; it is not part of the repository.
DATA_ENV = "SHUGU_NAB_DATA"
WHAT_DATA = (
    "a folder with nab-aws/ and nab-more/ (NAB CSV files, each folder with a windows.json "
    "mapping file paths to labelled windows) and/or skab-dev/ (SKAB valve1/*.csv and "
    "anomaly-free/anomaly-free.csv)"
)
SPLIT_FILE = Path(__file__).with_name("anomaly_split.yaml")
NAB_FOLDERS = ("nab-aws", "nab-more")
SKAB_FOLDER = "skab-dev"


@dataclass(frozen=True, slots=True)
class Series:
    """One NAB file: its path under the data folder, points and labelled windows (row ranges)."""

    name: str
    ts_ms: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    windows: list[tuple[int, int]]
    step_minutes: float


@dataclass(frozen=True, slots=True)
class Experiment:
    """One SKAB run: sensor table, label per row (all False for the anomaly-free run)."""

    name: str
    ts_ms: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    labels: npt.NDArray[np.bool_]
    columns: list[str]


def split_by_rule(names: list[str]) -> tuple[list[str], list[str]]:
    """The split's rule: per folder, sorted (numerically where names are numbers), even
    positions tune and odd positions report."""

    def order(name: str) -> tuple[int, str]:
        stem = Path(name).stem
        return (int(stem), "") if stem.isdigit() else (0, name)

    groups: dict[str, list[str]] = defaultdict(list)
    for name in names:
        groups[str(Path(name).parent)].append(name)
    tuning: list[str] = []
    reporting: list[str] = []
    for folder in sorted(groups):
        for k, name in enumerate(sorted(groups[folder], key=order)):
            (tuning if k % 2 == 0 else reporting).append(name)
    return tuning, reporting


def committed_split() -> dict[str, dict[str, list[str]]]:
    data = yaml.safe_load(SPLIT_FILE.read_text())
    assert isinstance(data, dict)
    return data


def data_folder(data: Path | None) -> Path:
    """The folder given, else $SHUGU_NAB_DATA; FileNotFoundError saying what is needed."""
    folder = data or (Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else None)
    if folder is None:
        raise FileNotFoundError(f"give --data or set {DATA_ENV}: {WHAT_DATA}")
    found = [(folder / f / "windows.json").is_file() for f in NAB_FOLDERS]
    if not any(found) and not (folder / SKAB_FOLDER).is_dir():
        raise FileNotFoundError(
            f"{folder} has no nab-*/windows.json nor {SKAB_FOLDER}/: {WHAT_DATA}"
        )
    return folder


def read_nab(path: Path, name: str, windows: list[list[str]]) -> Series:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))[1:]
    stamps = np.array([datetime.fromisoformat(r[0]) for r in rows], dtype="datetime64[ms]")
    ts = stamps.astype(np.int64)
    values = np.array([float(r[1]) for r in rows])
    step = float(np.median(np.diff(ts))) / 60_000.0 if len(ts) > 1 else 5.0
    return Series(name, ts, values, window_rows(stamps, [(a, b) for a, b in windows]), step)


def load_nab(folder: Path) -> list[Series]:
    """Every NAB file under the data folder, named ``nab-aws/…`` or ``nab-more/…``."""
    out: list[Series] = []
    for sub in NAB_FOLDERS:
        labels_path = folder / sub / "windows.json"
        if not labels_path.is_file():
            continue
        labels = json.loads(labels_path.read_text())
        for path in sorted((folder / sub).rglob("*.csv")):
            rel = path.relative_to(folder / sub).as_posix()
            out.append(read_nab(path, f"{sub}/{rel}", labels.get(rel, [])))
    return out


def _read_skab(path: Path, name: str) -> Experiment:
    with path.open(newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    header, body = rows[0], [r for r in rows[1:] if r]
    sensors = [h for h in header[1:] if h not in ("anomaly", "changepoint")]
    stamps = np.array([datetime.fromisoformat(r[0]) for r in body], dtype="datetime64[ms]")
    values = np.array([[float(c) for c in r[1 : 1 + len(sensors)]] for r in body])
    if "anomaly" in header:
        at = header.index("anomaly")
        labels = np.array([float(r[at]) > 0 for r in body])
    else:
        labels = np.zeros(len(body), dtype=np.bool_)
    return Experiment(name, stamps.astype(np.int64), values, labels, sensors)


def load_skab(folder: Path) -> list[Experiment]:
    """SKAB runs under ``skab-dev/``, named by their path there (``valve1/3.csv``)."""
    root = folder / SKAB_FOLDER
    if not root.is_dir():
        return []
    return [_read_skab(p, p.relative_to(root).as_posix()) for p in sorted(root.rglob("*.csv"))]


def assign(names: list[str], kind: str) -> tuple[list[str], list[str]]:
    """(tuning, reporting) names: the committed split where it lists a name, else its rule."""
    split = committed_split()[kind]
    listed_tuning = set(split.get("tuning", []))
    listed_reporting = set(split.get("reporting", [])) | set(split.get("normal_reporting", []))
    rest = [n for n in names if n not in listed_tuning | listed_reporting]
    rule_tuning, rule_reporting = split_by_rule(rest)
    tuning = [n for n in names if n in listed_tuning or n in rule_tuning]
    reporting = [n for n in names if n in listed_reporting or n in rule_reporting]
    return tuning, reporting
