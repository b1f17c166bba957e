"""A policy's reach and the innovation points ranking read the registry a fixed number of times
for the whole district, not once per enterprise per fact, and answer as the per-enterprise path
does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from shugu.domain.tenancy import Access, Principal, Role
from shugu.domain.uscc import compute_check_char
from shugu.region.facts import FactBook
from shugu.region.files.tags import tags_of
from shugu.region.policies.service import PolicyService
from shugu.store.registry import Registry

ENTERPRISES = 30


def _uscc(n: int) -> str:
    body = f"91350100{n:09d}"
    return body + compute_check_char(body)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    opened = Registry(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    try:
        region = opened.create_region("350100", "福州市")
        park = opened.create_park(region.id, "长乐纺织园", "350112")
        for n in range(ENTERPRISES):
            e = opened.create_enterprise(park.id, f"企业{n}", _uscc(n), "0502")
            opened.put_year_figures(e.id, 2024, {"revenue_wan": 1000.0 + n, "staff": 50}, "t")
        yield opened
    finally:
        opened.close()


def _statements(registry: Registry) -> list[str]:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(registry._engine, "before_cursor_execute", count)
    return seen


def test_reach_and_ranking_read_the_registry_once_for_the_district(registry: Registry) -> None:
    book = FactBook(registry, None, tags_of)
    bulk = PolicyService(
        registry, book.enterprise_facts, lambda e: [], facts_of_many=book.facts_many
    )
    single = PolicyService(registry, book.enterprise_facts, lambda e: [])
    bureau = Access(Principal(1, "bureau", Role.BUREAU), lambda e, g: False, lambda e: None)
    code = bulk.policies()[0].policy.code
    expected_reach, expected_ranking = single.reach(bureau, code), single.points_ranking(bureau)
    seen = _statements(registry)
    reach, ranking = bulk.reach(bureau, code), bulk.points_ranking(bureau)
    assert len(seen) < 20, len(seen)
    assert reach == expected_reach and ranking == expected_ranking
