"""`shugu bench live` at a tiny size: every phase runs against a real server, the streamed pages
receive pushed values and the polling pages their answers."""

from __future__ import annotations

from pathlib import Path

from bench.live_cost import report, run


def test_the_live_cost_bench_measures_all_three_phases(tmp_path: Path) -> None:
    phases = run(tmp_path, pages=20, devices=5, seconds=1.5, poll_every_s=0.5, settle_s=0.5)
    assert [p.name for p in phases] == ["baseline", "events", "polling"]
    events, polling = phases[1], phases[2]
    assert events.pages_served == polling.pages_served == 20
    # Every stream got its opening and at least one pushed value; every poller its answers.
    assert events.received_bytes > 20 * 100
    assert polling.received_bytes > 20 * 2 * 100
    assert polling.answers_per_s > 0
    assert all(p.server_rss_mib > 0 for p in phases)
    assert "| events |" in report(phases)
