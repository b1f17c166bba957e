"""`--workers` left out: the cores available to the process for roles that serve devices."""

from __future__ import annotations

import os
import re
from pathlib import Path

from typer.testing import CliRunner

from shugu.cli import app
from shugu.front.supervisor import (
    LINGERING_FRONTS_WAIT_S,
    cores_available,
    default_workers,
    port_wait_s,
)
from shugu.front.wire import FRONTS_SOCKET


def test_the_default_is_the_cores_this_process_may_run_on() -> None:
    assert cores_available() == len(os.sched_getaffinity(0))
    assert default_workers("all") == default_workers("ingest") == cores_available()


def test_roles_that_serve_no_devices_default_to_one_process() -> None:
    assert default_workers("monitor") == default_workers("api") == 1


def test_help_tells_the_default_on_this_machine() -> None:
    for command in (["serve", "--help"], ["demo", "--help"]):
        result = CliRunner().invoke(app, command, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        text = re.sub(r"[\s│]+", " ", result.output)
        assert f"the cores available to this process ({cores_available()} here)" in text, text


def test_a_port_in_use_is_waited_for_only_after_a_killed_main_with_fronts(tmp_path: Path) -> None:
    assert port_wait_s(tmp_path / "never-made") == 0.0
    assert port_wait_s(tmp_path) == 0.0
    (tmp_path / FRONTS_SOCKET).touch()  # what a main process killed with fronts leaves
    assert port_wait_s(tmp_path) == LINGERING_FRONTS_WAIT_S


def test_a_monitor_without_workers_is_not_refused_for_them(tmp_path: Path) -> None:
    """Left out, --workers is 1 for a monitor: the refusal is about its store, not workers."""
    base = ["serve", "--role", "monitor", "--data", str(tmp_path / "data"), "--http-port", "0"]
    left_out = CliRunner().invoke(app, base)
    assert left_out.exit_code == 2, left_out.output
    assert "--telemetry-url" in left_out.output and "--workers" not in left_out.output
    asked = CliRunner().invoke(app, [*base, "--workers", "2"])
    assert asked.exit_code == 2 and "leave --workers at 1" in asked.output, asked.output
