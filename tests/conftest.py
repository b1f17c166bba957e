"""Fixtures shared by all test rooms."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from tests.pg import PostgresServer, postgres_server

__all__ = ["PostgresServer", "password_hasher", "postgres_server"]


@pytest.fixture(scope="session")
def password_hasher() -> PasswordHasher:
    """Argon2 with the cheapest parameters: tests check behaviour, not hash strength."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
