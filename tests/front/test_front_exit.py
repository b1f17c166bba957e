"""A front process stops cleanly: nothing it built at start is reported leaked at exit."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from bench.faults.served import Served, make_district


def test_a_front_that_took_ingest_exits_without_leak_reports(tmp_path: Path) -> None:
    """The front keeps its startup heap out of the collector while it serves; thawed before
    exit, the collection at exit frees it, where DuckDB's bindings listed it as leaked."""
    district = make_district(tmp_path / "data", 2)
    log_path = tmp_path / "serve.log"
    server = Served(district, workers=2, log_path=log_path)
    server.start()
    try:
        server.wait_for_fronts()
        # New connections each: the kernel spreads them over both processes.
        for i in range(20):
            token = district.devices[i % 2].token
            request = urllib.request.Request(
                f"{server.base}/api/v1/{token}/telemetry",
                data=json.dumps({"t": i}).encode(),
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 200
        front = server.health()["workers"][1]
        assert front["points_accepted"] > 0, "no request reached the front"
    finally:
        assert server.stop() == 0
    log = log_path.read_text(errors="replace")
    assert "leaked" not in log, log[-3000:]
