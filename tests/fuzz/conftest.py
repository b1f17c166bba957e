"""Worlds the fuzz tests run codecs in: a registry, a telemetry store and the ingest door."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.fuzz_config import RuleWorld
from bench.fuzz_ingest import IngestWorld


@pytest.fixture(scope="module")
def ingest_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngestWorld]:
    world = IngestWorld(tmp_path_factory.mktemp("fuzz-ingest"))
    try:
        yield world
    finally:
        world.close()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the files a codec reads (a module's fixture: Hypothesis runs many cases)."""
    return tmp_path_factory.mktemp("fuzz-files")


@pytest.fixture(scope="module")
def rule_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuleWorld]:
    world = RuleWorld(tmp_path_factory.mktemp("fuzz-rules"))
    try:
        yield world
    finally:
        world.close()
