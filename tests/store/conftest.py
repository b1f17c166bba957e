"""Store fixtures: every registry test runs on SQLite and on a real PostgreSQL, every
telemetry-store protocol test on DuckDB and on a real ClickHouse server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from shugu.store.clickhouse_store import ClickHouseTelemetryStore
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry
from shugu.store.telemetry import TelemetryStore
from tests.clickhouse import ClickHouseServer
from tests.pg import PostgresServer


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
def registry(registry_url: str, password_hasher: PasswordHasher) -> Iterator[Registry]:
    opened = Registry(registry_url, password_hasher=password_hasher)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(params=["duckdb", "clickhouse"])
def open_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], TelemetryStore]]:
    """Opens a telemetry store of each kind, on the same file or database every time it is
    called (so a test can close it and open it again); closes what it opened."""
    opened: list[TelemetryStore] = []
    if request.param == "duckdb":
        path = tmp_path / "t.duckdb"

        def open_one() -> TelemetryStore:
            opened.append(DuckDBTelemetryStore(path))
            return opened[-1]
    else:
        server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
        url = server.url()

        def open_one() -> TelemetryStore:
            opened.append(ClickHouseTelemetryStore(url))
            return opened[-1]

    yield open_one
    for s in opened:
        s.close()


@pytest.fixture
def store(open_store: Callable[[], TelemetryStore]) -> TelemetryStore:
    return open_store()
