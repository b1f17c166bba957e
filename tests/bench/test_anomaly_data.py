"""`shugu bench anomaly` takes its NAB files from --data or $SHUGU_NAB_DATA, never from a folder
outside the repository, and says what it needs when it has neither."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.anomaly_data import committed_split, split_by_rule
from typer.testing import CliRunner

from shugu.cli import app
from tests.bench.test_cli_units import _nab_folder


def test_without_data_it_says_what_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHUGU_NAB_DATA", raising=False)
    answer = CliRunner().invoke(app, ["bench", "anomaly", "--json"])
    assert answer.exit_code == 2, answer.output
    assert "SHUGU_NAB_DATA" in answer.output and "windows.json" in answer.output


def test_the_folder_may_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHUGU_NAB_DATA", str(_nab_folder(tmp_path)))
    answer = CliRunner().invoke(app, ["bench", "anomaly", "--json"])
    assert answer.exit_code == 0, answer.output


def test_the_committed_split_follows_its_stated_rule() -> None:
    split = committed_split()
    for kind in ("nab", "skab"):
        names = [*split[kind]["tuning"], *split[kind]["reporting"]]
        tuning, reporting = split_by_rule(names)
        assert sorted(tuning) == sorted(split[kind]["tuning"])
        assert sorted(reporting) == sorted(split[kind]["reporting"])
        assert not set(tuning) & set(reporting)
    assert split["skab"]["normal_reporting"] == ["anomaly-free/anomaly-free.csv"]
