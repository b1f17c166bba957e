from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from tests.monitor.site import Site, open_site


@pytest.fixture
def site(tmp_path: Path, password_hasher: PasswordHasher) -> Iterator[Site]:
    """One enterprise with one rack sensor, a registry and a store (tests/monitor/site.py)."""
    yield from open_site(tmp_path, password_hasher)
