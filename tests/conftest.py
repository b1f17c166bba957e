"""Fixtures shared by all test rooms."""

from __future__ import annotations

import threading

import pytest
from argon2 import PasswordHasher

from tests.pg import PostgresServer, postgres_server

__all__ = ["PostgresServer", "password_hasher", "postgres_server"]


@pytest.fixture(scope="session")
def password_hasher() -> PasswordHasher:
    """Argon2 with the cheapest parameters: tests check behaviour, not hash strength."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the background threads a test left running: each is a store, monitor or analytics
    engine somebody forgot to close (they are stopped at exit, but a test should close them)."""
    ours = ("shugu-writer", "shugu-compactor", "shugu-monitor", "shugu-analytics")
    leaked = sorted(t.name for t in threading.enumerate() if t.name in ours)
    if leaked:
        counts = {name: leaked.count(name) for name in leaked}
        terminalreporter.write_line(f"background threads left running: {counts}")
