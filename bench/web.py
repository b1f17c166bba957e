"""`shugu bench web`: the console's page times and device-to-screen latency on the demo district.

A real `shugu serve` in a child process holds the Changle district at ``scale`` (1.0: 40 mills
× 50 looms, a data hall of 200 racks and 8 CRAHs, 30 cooling towers), provisioned through the
public API with a backfill of history (bench/web_district.py); the district keeps reporting live
as in `shugu demo` (every 5 s) throughout, unless ``live`` is off. Then, ``runs`` times:

- pages (bench/web_pages.py): every main page of each role, and what each page loads next,
  timed over loopback as a browser on the same host would wait for it, next to ``/login`` and the
  API's JSON reads of the same things in the same round. Goal: every page ≤ 200 ms (its p95).
- live (bench/web_live.py): ``pages`` open live streams, probes sent as devices send, the time
  until each page's stream brings each probe, next to the same probes to one open page. Goal:
  p99 ≤ 1 s with 500 open pages.

Each figure is the median over the runs; the runs' own values are kept beside the main ones.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import say
from bench.web_district import LiveDistrict, served_district
from bench.web_live import GRACE_S, run_round
from bench.web_pages import PageRound, merge_rounds

PAGE_GOAL_MS = 200.0
LIVE_GOAL_P99_MS = 1000.0
#: Seconds the district reports live before the first measurement, so pages show live values.
WARM_S = 6.0


def _median_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the rounds; the main latency's values per round beside it."""
    out: dict[str, Any] = {}
    for key in rounds[0]:
        values = [r.get(key) for r in rounds]
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(numbers) == len(values):
            median = float(np.median(numbers))
            out[key] = int(median) if all(isinstance(v, int) for v in numbers) else round(median, 4)
        else:
            out[key] = values[-1]
    if len(rounds) > 1:
        out["runs_latency_p99_ms"] = [r.get("latency_p99_ms") for r in rounds]
        out["runs_delivered_share"] = [r.get("delivered_share") for r in rounds]
    return out


def run(
    *,
    scale: float = 1.0,
    pages: int = 500,
    runs: int = 3,
    repeats: int = 10,
    seconds: float = 30.0,
    rate: float = 20.0,
    backfill_hours: float = 6.0,
    backfill_step_s: float = 60.0,
    live: bool = True,
    data: Path | None = None,
    log: bool = True,
    warm_s: float = WARM_S,
    grace_s: float = GRACE_S,
    mills: int | None = None,
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="shugu-bench-web-"))
    data_dir = data or workdir / "data"
    result: dict[str, Any] = {
        "scale": scale,
        "mills": mills if mills is not None else "all",
        "runs": runs,
        "repeats": repeats,
        "open_pages": pages,
        "probe_rate_per_s": rate,
        "probe_seconds": seconds,
        "district_live": live,
        "page_goal_ms": PAGE_GOAL_MS,
        "live_goal_p99_ms": LIVE_GOAL_P99_MS,
    }
    try:
        with served_district(
            data_dir,
            scale=scale,
            backfill_hours=backfill_hours,
            backfill_step_s=backfill_step_s,
            log_path=workdir / "serve.log",
            log=log,
            mills=mills,
        ) as district:
            result["devices"] = district.devices
            result["enterprises"] = len(district.enterprises)
            result["history_points"] = district.history_points
            result.update(district.setup_s)
            reporting = LiveDistrict(district) if live else None
            try:
                if reporting is not None:
                    say(log, f"the district reports live; {warm_s:g} s before measuring")
                    time.sleep(warm_s)
                browser = PageRound(district)
                page_rounds: list[dict[str, Any]] = []
                live_rounds: list[dict[str, Any]] = []
                try:
                    for number in range(1, runs + 1):
                        say(log, f"run {number}/{runs}: pages, {repeats} times each")
                        page_rounds.append(browser.run(repeats))
                        say(log, f"run {number}/{runs}: device to screen, {pages} open pages")
                        live_rounds.append(
                            run_round(
                                district,
                                pages=pages,
                                rate=rate,
                                seconds=seconds,
                                log=log,
                                grace_s=grace_s,
                            )
                        )
                finally:
                    browser.close()
            finally:
                if reporting is not None:
                    reporting.close()
                    result["district_messages_sent"] = reporting.sent_messages
            result["server_rss_mib"] = round(district.server.rss_mib(), 1)
            result["server_log_problems"] = district.server.log_problems()["count"]
        merged = merge_rounds(page_rounds, PAGE_GOAL_MS)
        result["pages_goal_met"] = not merged["pages_over_goal"] and merged["pages_measured"] > 0
        live_result = _median_rounds(live_rounds)
        p99 = live_result.get("latency_p99_ms")
        result["live_goal_met"] = p99 is not None and p99 <= LIVE_GOAL_P99_MS
        result["live"] = live_result
        result.update({f"page_{k}" if k == "login_ms" else k: v for k, v in merged.items()})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def table(result: dict[str, Any]) -> str:
    """The page figures as a Markdown table, for docs/benchmarks.md."""
    lines = [
        "| page | kind | as | status | median ms | p95 ms | × /login | bytes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result.get("pages", []):
        lines.append(
            f"| `{row['url']}` | {row['kind']} | {row['as']} | {row['status']} "
            f"| {row.get('median_ms', '')} | {row.get('p95_ms', '')} "
            f"| {row.get('ratio_to_login', '')} | {row.get('bytes', '')} |"
        )
    return "\n".join(lines)
