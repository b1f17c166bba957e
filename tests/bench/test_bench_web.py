"""`shugu bench web` at a tiny scale: a real server holds the district, every page of the
navigation is fetched as its role, and probes sent as devices send reach the open pages."""

from __future__ import annotations

from pathlib import Path

from bench.web import run, table


def test_the_web_bench_times_the_pages_and_brings_probes_to_open_pages(tmp_path: Path) -> None:
    result = run(
        scale=0.02,
        mills=2,
        pages=6,
        runs=1,
        repeats=1,
        seconds=1.5,
        rate=10.0,
        backfill_hours=0.25,
        backfill_step_s=300.0,
        live=True,
        warm_s=0.5,
        data=tmp_path / "data",
        log=False,
        grace_s=1.0,
    )
    # Two of the forty mills with one loom, a meter and a gateway each, the mill short of
    # orders, the data hall, the towers.
    assert result["enterprises"] == 5 and result["devices"] > 10
    assert result["history_points"] > 0 and result["district_messages_sent"] > 0
    rows = {(row["url"], row["as"]): row for row in result["pages"]}
    login = rows[("/login", "nobody")]
    assert login["status"] == 200 and login["median_ms"] > 0
    # Every role's navigation is there, measured or reported as missing.
    for url, who in [
        ("/operator/health", "operator"),
        ("/region", "bureau"),
        ("/e/{id}/devices", "mill-admin"),
        ("/e/{id}/alarms", "mill-viewer"),
        ("/devices/{id}", "dc-admin"),
    ]:
        assert rows[(url, who)]["status"] in (200, "missing") or rows[(url, who)]["status"] >= 300
    api = rows[("/api/enterprises/{id}/devices", "mill-admin")]
    assert api["status"] == 200 and api["bytes"] > 0
    live = result["live"]
    assert live["pages"] == 6 and live["probes"] > 0 and live["expected_deliveries"] > 0
    assert 0 < live["deliveries"] <= live["expected_deliveries"]
    assert live["latency_p50_ms"] > 0 and live["one_page_probes"] > 0
    assert "| `/login` | limit | nobody | 200 |" in table(result)
