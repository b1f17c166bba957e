"""`shugu bench anomaly --nab-repo`: a NAB checkout's other files as validation series, and its
published detectors scored on the same files by our scorer, checked against NAB's own scores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from bench.anomaly import run_nab_repo
from bench.anomaly_data import load_nab
from bench.nab_repo import load_validation, nab_path
from typer.testing import CliRunner

from shugu.cli import app
from tests.bench.test_cli_units import _nab_folder

#: The window every series of `_nab_folder` has, and its first row at 5-minute steps.
WINDOW = ["2026-01-02 08:00:00", "2026-01-02 12:00:00"]
WINDOW_FIRST_ROW = 384


def _run(repo: Path, data: Path) -> dict[str, Any]:
    series = load_nab(data)
    validation = load_validation(repo, [s.name for s in series])
    return run_nab_repo(repo, series, validation, gaussian_threshold=0.99, log=False)


def _checkout(root: Path, data: Path, their_score: float) -> Path:
    """A NAB checkout holding the data folder's four nab-aws series (as NAB names them) and one
    series of its own, with a published detector that fires on each window's first row only,
    and NAB's per-file score of it given as ``their_score``."""
    repo = root / "NAB"
    labels: dict[str, list[list[str]]] = {}
    (repo / "data" / "realTweets").mkdir(parents=True)
    shutil.copytree(data / "nab-aws", repo / "data" / "realAWSCloudwatch")
    (repo / "data" / "realAWSCloudwatch" / "windows.json").unlink()
    first = repo / "data" / "realAWSCloudwatch" / "series_0.csv"
    shutil.copy(first, repo / "data" / "realTweets" / "extra.csv")
    for path in sorted((repo / "data").rglob("*.csv")):
        labels[path.relative_to(repo / "data").as_posix()] = [WINDOW]
    (repo / "labels").mkdir()
    (repo / "labels" / "combined_windows.json").write_text(json.dumps(labels))
    (repo / "config").mkdir()
    (repo / "config" / "thresholds.json").write_text(
        json.dumps({"numenta": {"standard": {"score": 0.0, "threshold": 0.5}}})
    )
    results = repo / "results" / "numenta"
    scores = ["Detector,Profile,File,Threshold,Score,TP,TN,FP,FN,Total_Count"]
    for rel in labels:
        family, file = rel.split("/")
        (results / family).mkdir(parents=True, exist_ok=True)
        rows = (repo / "data" / rel).read_text().splitlines()[1:]
        out = ["timestamp,value,anomaly_score,label"]
        for k, row in enumerate(rows):
            out.append(f"{row},{1.0 if k == WINDOW_FIRST_ROW else 0.1},0")
        (results / family / f"numenta_{file}").write_text("\n".join(out) + "\n")
        scores.append(f"numenta,standard,{rel},0.5,{their_score},1,0,0,0,{len(rows)}")
    (results / "numenta_standard_scores.csv").write_text("\n".join(scores) + "\n")
    return repo


def test_validation_holds_only_files_the_data_does_not(tmp_path: Path) -> None:
    data = _nab_folder(tmp_path)
    repo = _checkout(tmp_path, data, 1.0)
    ours = [s.name for s in load_nab(data)]
    assert nab_path("nab-aws/series_0.csv") == "realAWSCloudwatch/series_0.csv"
    assert nab_path("nab-more/realTraffic/x.csv") == "realTraffic/x.csv"
    validation = load_validation(repo, ours)
    assert [s.name for s in validation] == ["nab-repo/realTweets/extra.csv"]
    assert validation[0].windows == [(WINDOW_FIRST_ROW, WINDOW_FIRST_ROW + 48)]


def test_published_detectors_are_scored_and_checked_against_nab(tmp_path: Path) -> None:
    data = _nab_folder(tmp_path)
    # A detection on a window's first row and nowhere else is worth exactly 1.
    repo = _checkout(tmp_path, data, 1.0)
    result: dict[str, Any] = _run(repo, data)
    assert result["validation_series"] == ["nab-repo/realTweets/extra.csv"]
    assert set(result["validation_shugu_by_family"]) == {"realTweets"}
    assert set(result["validation_variants"]) == {
        "values_only", "no_season", "hourly", "untrusted", "with_shape"
    }  # fmt: skip
    assert len(result["validation_by_sensitivity"]) == 6
    for summary in [*result["validation_variants"].values(), result["validation_shugu"]]:
        assert summary["windows"] == 1
    numenta = result["published"]["numenta"]
    for group, windows in (("tuning", 2), ("reporting", 2), ("validation", 1)):
        assert numenta[group]["nab_score"] == 100.0, group
        assert numenta[group]["windows"] == numenta[group]["detected"] == windows
        assert numenta[group]["false_positives"] == 0
    assert numenta["scorer_max_file_difference"] == 0.0
    assert result["scorer_agrees_with_nab"] is True


def test_a_disagreement_with_nab_s_own_scores_is_reported(tmp_path: Path) -> None:
    data = _nab_folder(tmp_path)
    repo = _checkout(tmp_path, data, 0.5)
    result: dict[str, Any] = _run(repo, data)
    assert result["published"]["numenta"]["scorer_max_file_difference"] == 0.5
    assert result["scorer_agrees_with_nab"] is False


def test_a_folder_that_is_not_a_nab_checkout_is_refused(tmp_path: Path) -> None:
    data = _nab_folder(tmp_path)
    answer = CliRunner().invoke(
        app, ["bench", "anomaly", "--json", "--data", str(data), "--nab-repo", str(tmp_path)]
    )
    assert answer.exit_code == 2, answer.output
    assert "not a NAB checkout" in answer.output and "combined_windows.json" in answer.output


def test_the_gated_cad_union_keeps_every_alarm_of_the_default_at_its_sensitivity(
    tmp_path: Path,
) -> None:
    from bench.anomaly_cad_round import UNION_SENSITIVITY, default_run, gated_union

    series = load_nab(_nab_folder(tmp_path))
    alarms, rate = gated_union(series)
    own, _ = default_run(series, UNION_SENSITIVITY)
    assert rate > 0
    for union, default, s in zip(alarms, own, series, strict=True):
        assert union.shape == s.values.shape
        assert not (default & ~union).any(), s.name
    # Each series has a 25-unit step in a sine wave: the default finds it on its own.
    assert all(a[400:430].any() for a in alarms)


def test_a_detector_whose_results_do_not_fit_the_data_is_reported_not_fatal(
    tmp_path: Path,
) -> None:
    data = _nab_folder(tmp_path)
    repo = _checkout(tmp_path, data, 1.0)
    short = repo / "results" / "numenta" / "realTweets" / "numenta_extra.csv"
    short.write_text("\n".join(short.read_text().splitlines()[:100]) + "\n")
    result: dict[str, Any] = _run(repo, data)
    error = result["published"]["numenta"]["error"]
    assert error.startswith("ValueError")
    assert "99 rows, the data file has 600" in error
    assert result["scorer_agrees_with_nab"] is False
    assert result["validation_shugu"]["windows"] == 1
