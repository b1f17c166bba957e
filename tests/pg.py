"""A throwaway PostgreSQL server for tests (``bench/postgres_server.py``): initdb + pg_ctl in a
temp dir on a free port.

The server runs for the whole test session; each test that needs a clean database asks
``PostgresServer.create_database`` for a fresh one, which is much faster than a new server.
When the binaries are missing the tests that need them are skipped, unless CI=true, where a
missing server is a broken build and fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.postgres_server import (
    MISSING,
    PostgresServer,
    RunningPostgres,
    find_bin_dir,
    started_postgres,
)

from tests.binaries import in_ci

__all__ = ["PostgresServer", "postgres_server", "require_postgres_bin_dir"]


def require_postgres_bin_dir() -> Path:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        if in_ci():
            pytest.fail(f"{MISSING}; CI=true requires them", pytrace=False)
        pytest.skip(MISSING)
    return bin_dir


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = require_postgres_bin_dir()
    try:
        running: RunningPostgres = started_postgres(bin_dir)
    except RuntimeError as exc:
        pytest.fail(f"could not start PostgreSQL: {exc}", pytrace=False)
    try:
        yield running.server
    finally:
        running.stop()
