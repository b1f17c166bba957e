"""The monitor API tests' data centre and webhook receiver (tests/api/test_monitor_api.py), for
the incident tests."""

from __future__ import annotations

from tests.api.test_monitor_api import (  # noqa: F401  (fixtures, shared with the monitor tests)
    dc,
    hook,
    world_resolver,
    world_settings,
)
