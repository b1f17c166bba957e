"""Fixtures shared by all test rooms."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from argon2 import PasswordHasher

from tests.clickhouse import ClickHouseServer, clickhouse_server
from tests.pg import PostgresServer, postgres_server

__all__ = [
    "ClickHouseServer",
    "PostgresServer",
    "clickhouse_server",
    "password_hasher",
    "postgres_server",
]


@pytest.fixture(scope="session")
def password_hasher() -> PasswordHasher:
    """Argon2 with the cheapest parameters: tests check behaviour, not hash strength."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


#: Threads of ours that outlive the tests: each a store, monitor or analytics engine somebody
#: forgot to close (they are stopped at exit, but a test should close them).
OUR_THREADS = ("shugu-writer", "shugu-compactor", "shugu-monitor", "shugu-analytics")
_LEAKED_BY_WORKERS: list[str] = []


def _our_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name in OUR_THREADS)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its count to the controller, which prints the summary."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["leaked_threads"] = _our_threads()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    _LEAKED_BY_WORKERS.extend(getattr(node, "workeroutput", {}).get("leaked_threads", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the background threads the tests left running, in this process and the workers'."""
    leaked = sorted(_our_threads() + _LEAKED_BY_WORKERS)
    if leaked:
        counts = {name: leaked.count(name) for name in leaked}
        terminalreporter.write_line(f"background threads left running: {counts}")
