"""A compressed Arrow upload cannot blow up the server's memory.

A real ``shugu serve`` receives ~70 kB bodies that decode to gigabytes of zeros (zstd); it must
refuse them from their headers, before decompressing, and its resident memory must stay where
it was. Before this was checked, one such body took the server from 1.1 to 3.4 GiB, for good.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from shugu.ingest.arrow_codec import write_stream
from tests.server import ServedDistrict, serve_district

PAYLOADS = Path(__file__).parents[1] / "fuzz" / "payloads"
ARROW_STREAM = "application/vnd.apache.arrow.stream"
#: How much the server's peak resident memory may grow while it refuses all the bombs.
GROWTH_BOUND_KIB = 100 * 1024


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDistrict]:
    with serve_district(
        tmp_path_factory.mktemp("arrow-bomb"), {"loom-1": ("loom", False)}
    ) as served:
        yield served


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def _reset_peak(pid: int) -> bool:
    """Set the process's peak resident memory (VmHWM) to its current one, where allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _post(district: ServedDistrict, body: bytes) -> tuple[int, dict[str, object]]:
    connection = http.client.HTTPConnection("127.0.0.1", district.http_port, timeout=120)
    try:
        connection.request(
            "POST",
            f"/api/v1/batch?enterprise={district.enterprise}",
            body=body,
            headers={
                "Content-Type": ARROW_STREAM,
                "Authorization": f"Bearer {district.admin_token}",
            },
        )
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")
    finally:
        connection.close()


def _small_batch(ts: int) -> bytes:
    table = pa.table(
        {
            "device": ["loom-1"],
            "metric": ["speed_rpm"],
            "ts": pa.array([ts], pa.int64()),
            "value": [180.0],
        }
    )
    return write_stream(table, "zstd")


def test_decompression_bombs_are_refused_without_growing_the_server(
    district: ServedDistrict,
) -> None:
    assert district.process is not None
    pid = district.process.pid
    # Warm the route up, so that what it loads on first use is not counted as growth.
    status, body = _post(district, _small_batch(0))
    assert status in (200, 400), body
    rss_before = _status_kib(pid, "VmRSS")
    peak_was_reset = _reset_peak(pid)
    peak_before = _status_kib(pid, "VmHWM")

    for name in ("arrow_zstd_bomb_rows.arrows", "arrow_zstd_bomb_bytes.arrows"):
        status, body = _post(district, (PAYLOADS / name).read_bytes())
        assert status == 413, body
        error = body["error"]
        assert isinstance(error, dict) and error["code"] == "arrow_too_large", body

    rss_after = _status_kib(pid, "VmRSS")
    peak_after = _status_kib(pid, "VmHWM")
    assert rss_after - rss_before < GROWTH_BOUND_KIB, (rss_before, rss_after)
    if peak_was_reset:
        assert peak_after - peak_before < GROWTH_BOUND_KIB, (peak_before, peak_after)

    # The server still takes ordinary batches.
    status, body = _post(district, _small_batch(time.time_ns() // 1_000_000))
    assert status == 200 and body["accepted"] == 1, body
