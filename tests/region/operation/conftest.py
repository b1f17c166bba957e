"""A registry on SQLite with two parks, three enterprises (two in park 1, one a key enterprise),
the accounts of every role as Access objects, and meters the test sets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from shugu.domain.tenancy import Access, Principal, Role
from shugu.region.operation.measured import Output
from shugu.region.operation.service import OperationService
from shugu.store.registry import Registry
from shugu.store.registry.models import Enterprise

#: 2026-12-15 10:00 China time: November's reports are due (deadline 2026-12-10).
NOW = datetime(2026, 12, 15, 2, 0, tzinfo=UTC)


@dataclass
class FakeMeters:
    kwh: dict[tuple[int, str], float] = field(default_factory=dict)
    output: dict[tuple[int, str], Output] = field(default_factory=dict)
    days: dict[int, list[float]] = field(default_factory=dict)

    def month_kwh(self, enterprise_id: int, month: str) -> float | None:
        return self.kwh.get((enterprise_id, month))

    def month_output(self, enterprise_id: int, month: str) -> Output | None:
        return self.output.get((enterprise_id, month))

    def daily_kwh(self, enterprise_id: int, start_ms: int, days: int) -> list[float] | None:
        return self.days.get(enterprise_id)


@dataclass
class OpWorld:
    registry: Registry
    service: OperationService
    meters: FakeMeters
    park: int
    other_park: int
    ent_a: int
    ent_b: int
    ent_c: int
    clock: list[datetime]
    users: dict[str, Access]

    def as_(self, who: str) -> Access:
        return self.users[who]


@pytest.fixture
def op(tmp_path: Path, password_hasher: PasswordHasher) -> Iterator[OpWorld]:
    clock = [NOW]
    registry = Registry(
        f"sqlite:///{tmp_path / 'r.sqlite'}",
        password_hasher=password_hasher,
        now=lambda: clock[0],
    )
    region = registry.create_region("350100", "福州市")
    park = registry.create_park(region.id, "长乐纺织园", "350112")
    other = registry.create_park(region.id, "滨海数据园", "350112")
    a = registry.create_enterprise(park.id, "甲纺织", "91110000600037341L", "0502")
    b = registry.create_enterprise(park.id, "乙数据中心", "91110108551385082Q", "0405")
    c = registry.create_enterprise(other.id, "丙电子", "91350100M000100Y43", None)
    with registry._session() as s:
        s.execute(
            update(Enterprise)
            .where(Enterprise.id == a.id)
            .values(key_enterprise=True, industry_code="1751")
        )
        s.execute(update(Enterprise).where(Enterprise.id == c.id).values(industry_code="3981"))
    parks = {a.id: park.id, b.id: park.id, c.id: other.id}
    principals = {
        "admin_a": Principal(1, "admin_a", Role.ENTERPRISE_ADMIN, a.id),
        "viewer_a": Principal(2, "viewer_a", Role.ENTERPRISE_VIEWER, a.id),
        "admin_b": Principal(3, "admin_b", Role.ENTERPRISE_ADMIN, b.id),
        "admin_c": Principal(4, "admin_c", Role.ENTERPRISE_ADMIN, c.id),
        "park_official": Principal(5, "park_official", Role.PARK_OFFICIAL, park_id=park.id),
        "park_other": Principal(6, "park_other", Role.PARK_OFFICIAL, park_id=other.id),
        "bureau": Principal(7, "bureau", Role.BUREAU),
        "operator": Principal(8, "operator", Role.OPERATOR),
    }
    users = {name: Access(p, lambda e, g: False, parks.get) for name, p in principals.items()}
    meters = FakeMeters()
    service = OperationService(registry, meters, now_ms=lambda: int(clock[0].timestamp() * 1000))
    try:
        yield OpWorld(registry, service, meters, park.id, other.id, a.id, b.id, c.id, clock, users)
    finally:
        registry.close()


FULL = {
    "output_value_wan": 1200.0,
    "revenue_wan": 1100.0,
    "profit_wan": -35.5,
    "power_kwh": 80000,
    "staff": 210,
    "new_orders_wan": 900,
    "note": "十一月订单回暖",
}


def filed(op: OpWorld, enterprise: str, month: str, **figures: object) -> int:
    """The enterprise's report for the month saved and submitted; its id."""
    who = {"a": "admin_a", "b": "admin_b", "c": "admin_c"}[enterprise]
    eid = {"a": op.ent_a, "b": op.ent_b, "c": op.ent_c}[enterprise]
    op.service.save(op.as_(who), eid, month, {**FULL, **figures})
    return op.service.submit(op.as_(who), eid, month).id


def accepted(op: OpWorld, enterprise: str, month: str, **figures: object) -> int:
    report_id = filed(op, enterprise, month, **figures)
    park = "park_other" if enterprise == "c" else "park_official"
    op.service.review(op.as_(park), report_id, "accept", "")
    op.service.review(op.as_("bureau"), report_id, "accept", "")
    return report_id
