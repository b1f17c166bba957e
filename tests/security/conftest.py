"""The API tests' small world (two enterprises, an account of every role) for the security tests."""

from __future__ import annotations

from tests.api.conftest import registry, world, world_resolver, world_settings

__all__ = ["registry", "world", "world_resolver", "world_settings"]
