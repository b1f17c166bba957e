from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import ServedDistrict, serve_district

DEVICES = {
    "loom-1": ("loom", False),
    "loom-2": ("loom", False),
    "box-1": ("generic", False),
    "box-2": ("generic", False),
    "box-3": ("generic", False),
    "gw-1": ("generic", True),
}


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDistrict]:
    data: Path = tmp_path_factory.mktemp("mqtt-district")
    with serve_district(data, DEVICES) as served:
        yield served
