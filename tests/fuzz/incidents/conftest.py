"""The API tests' small world (tests/api/conftest.py), for fuzzing the incident routes."""

from __future__ import annotations

from tests.api.conftest import (  # noqa: F401  (fixtures, shared with the API tests)
    registry,
    world,
    world_resolver,
    world_settings,
)
