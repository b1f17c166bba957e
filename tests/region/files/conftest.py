"""A registry on SQLite with one park and two enterprises, for the enterprise-file tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from shugu.store.registry import Registry

USCC_A = "91210200MA0QC0XX1T"
USCC_B = "91210200MA0QC0YY3U"


@dataclass
class Files:
    registry: Registry
    park_id: int
    ent_a: int
    ent_b: int


@pytest.fixture
def files(tmp_path: Path, password_hasher: PasswordHasher) -> Iterator[Files]:
    registry = Registry(f"sqlite:///{tmp_path / 'files.sqlite'}", password_hasher=password_hasher)
    try:
        region = registry.create_region("210200", "大连市")
        park = registry.create_park(region.id, "高新区")
        a = registry.create_enterprise(park.id, "甲织造", USCC_A, "0502")
        b = registry.create_enterprise(park.id, "乙软件", USCC_B, "0301")
        yield Files(registry, park.id, a.id, b.id)
    finally:
        registry.close()
