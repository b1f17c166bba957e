"""The API tests' small world (tests/api/conftest.py) for fuzzing the console, with notification
host names answered from an empty table (instantly, and never by DNS)."""

from __future__ import annotations

import pytest

from tests.api.conftest import (  # noqa: F401  (fixtures, shared with the API tests)
    registry,
    world,
    world_settings,
)
from tests.resolver import TableResolver


@pytest.fixture
def world_resolver() -> TableResolver:
    return TableResolver({})
