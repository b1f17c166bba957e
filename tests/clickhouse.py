"""The tests' ClickHouse server: one private server (``bench/clickhouse_server.py``) for the
whole session; each test gets a fresh database of it (``ClickHouseServer.url``), which is much
faster than a new server. When ``clickhouse-server`` is missing the tests that need it are
skipped, unless CI=true, where a missing server is a broken build and fails loudly.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from bench.clickhouse_server import ClickHouseServer, find_server_binary, started_server

from tests.binaries import in_ci

__all__ = ["ClickHouseServer", "clickhouse_server", "require_clickhouse", "started_server"]


def require_clickhouse() -> str:
    binary = find_server_binary()
    if binary is None:
        reason = "clickhouse-server is not installed (Debian: apt-get install clickhouse-server)"
        if in_ci():
            pytest.fail(f"CI must have it: {reason}", pytrace=False)
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="session")
def clickhouse_server() -> Iterator[ClickHouseServer]:
    server = started_server(require_clickhouse())
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
