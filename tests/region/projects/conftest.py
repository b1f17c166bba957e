"""A registry on SQLite with two parks, enterprises in them, and callers of every kind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from shugu.domain.tenancy import Access, Principal, Role
from shugu.region.projects.service import ProjectService
from shugu.store.registry import Registry

TODAY = date(2026, 6, 15)


@dataclass
class Place:
    registry: Registry
    park: int
    other_park: int
    ent_a: int
    ent_b: int
    today: list[date]

    def access(
        self, role: Role, enterprise_id: int | None = None, park_id: int | None = None
    ) -> Access:
        principal = Principal(1, role.value, role, enterprise_id, park_id=park_id)
        parks = {self.ent_a: self.park, self.ent_b: self.park}
        return Access(principal, lambda e, g: False, parks.get)

    @property
    def bureau(self) -> Access:
        return self.access(Role.BUREAU)

    @property
    def admin_a(self) -> Access:
        return self.access(Role.ENTERPRISE_ADMIN, self.ent_a)

    def service(self) -> ProjectService:
        return ProjectService(self.registry, today=lambda: self.today[0])


@pytest.fixture
def place(tmp_path: Path) -> Iterator[Place]:
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    try:
        region = registry.create_region("350100", "福州市")
        park = registry.create_park(region.id, "长乐纺织园", "350112")
        other = registry.create_park(region.id, "滨海新城", "350112")
        a = registry.create_enterprise(park.id, "甲纺织", "91110000600037341L", "0502")
        b = registry.create_enterprise(park.id, "乙数据中心", "91110108551385082Q", "0405")
        yield Place(registry, park.id, other.id, a.id, b.id, [TODAY])
    finally:
        registry.close()


def project_body(code: str = "P-001", **extra: object) -> dict[str, object]:
    return {
        "code": code,
        "name": "智能织造车间",
        "project_type": "technical_upgrade",
        "total_investment_wan": "1200.5",
        "official": "王科长",
        "planned": {"filing": "2026-01-10", "permits": "2026-03-31", "construction": "2026-06-15"},
        **extra,
    }
