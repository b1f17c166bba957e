"""The API tests' world (two enterprises in a park, an account of every role, the real app)."""

from __future__ import annotations

from tests.api.conftest import registry, world, world_resolver, world_settings

__all__ = ["registry", "world", "world_resolver", "world_settings"]
