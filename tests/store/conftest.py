"""Registry fixtures: every registry test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from shugu.store.registry import Registry
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
