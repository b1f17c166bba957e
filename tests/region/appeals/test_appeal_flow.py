"""An appeal from filing to a rated close, who may take each step, and the figures with medians
worked out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shugu.domain.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from shugu.domain.tenancy import Access, Principal, Role
from shugu.region.appeals.figures import nearest_rank
from shugu.region.appeals.service import AppealService
from shugu.store.registry import Registry
from tests.clock import ManualClock

START = datetime(2026, 5, 4, 1, 0, tzinfo=UTC)


class Clock(ManualClock[datetime]):
    def __init__(self) -> None:
        super().__init__(START)

    def hours(self, h: float) -> None:
        self.now += timedelta(hours=h)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Registry, int, int, int, int]]:
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    try:
        region = registry.create_region("350100", "福州市")
        park = registry.create_park(region.id, "长乐纺织园", "350112")
        other = registry.create_park(region.id, "滨海新城", "350112")
        a = registry.create_enterprise(park.id, "甲纺织", "91110000600037341L", "0502")
        b = registry.create_enterprise(other.id, "乙数据中心", "91110108551385082Q", "0405")
        yield registry, park.id, other.id, a.id, b.id
    finally:
        registry.close()


def access(role: Role, enterprise: int | None = None, park: int | None = None) -> Access:
    return Access(Principal(7, role.value, role, enterprise, park_id=park), lambda e, g: False)


def test_an_appeal_is_filed_assigned_answered_and_confirmed(
    setup: tuple[Registry, int, int, int, int],
) -> None:
    registry, park, _, a, _ = setup
    clock = Clock()
    service = AppealService(registry, now=clock)
    admin, bureau = access(Role.ENTERPRISE_ADMIN, a), access(Role.BUREAU)
    appeal = service.file(admin, a, {"category": "electricity", "title": "扩容", "text": "需增容"})
    with pytest.raises(ConflictError):
        service.answer(bureau, appeal.id, "已受理")  # no department yet
    with pytest.raises(ForbiddenError):
        service.assign(admin, appeal.id, "power_supply")
    with pytest.raises(ValidationError):
        service.assign(bureau, appeal.id, "no_such_department")
    service.assign(bureau, appeal.id, "power_supply", "请供电公司办理")
    with pytest.raises(ConflictError):
        service.confirm(admin, appeal.id, 5)  # not answered yet
    clock.hours(10)
    answered = service.answer(bureau, appeal.id, "下周完成增容")
    assert answered.may_confirm is False and service.get(admin, appeal.id).may_confirm
    with pytest.raises(ValidationError):
        service.confirm(admin, appeal.id, 6)
    clock.hours(14)
    done = service.confirm(admin, appeal.id, "4", "及时").appeal
    assert (done.status, done.rating, done.closed_by_side) == ("closed", 4, "enterprise")
    assert [e.kind for e in done.events] == ["filed", "assigned", "answered", "confirmed"]
    with pytest.raises(ConflictError):
        service.close(bureau, appeal.id)
    figures = service.figures(bureau)
    assert figures.total.first_answer.median_h == 10 and figures.total.closing.median_h == 24
    # Park officials read their park's appeals; others' are not there.
    official = access(Role.PARK_OFFICIAL, park=park)
    assert [x.id for x in service.appeals(official)] == [appeal.id]


def test_who_sees_whom(setup: tuple[Registry, int, int, int, int]) -> None:
    registry, _, other, a, b = setup
    service = AppealService(registry)
    appeal = service.file(
        access(Role.ENTERPRISE_ADMIN, a), a, {"category": "land", "title": "用地", "text": "x"}
    )
    with pytest.raises(NotFoundError):
        service.get(access(Role.ENTERPRISE_ADMIN, b), appeal.id)
    with pytest.raises(NotFoundError):
        service.get(access(Role.PARK_OFFICIAL, park=other), appeal.id)
    with pytest.raises(ForbiddenError):
        service.get(access(Role.OPERATOR), appeal.id)
    with pytest.raises(ForbiddenError):
        service.file(access(Role.ENTERPRISE_VIEWER, a), a, {"category": "land"})
    with pytest.raises(NotFoundError):
        service.file(access(Role.ENTERPRISE_ADMIN, b), a, {"category": "land"})
    with pytest.raises(ValidationError):
        service.file(access(Role.ENTERPRISE_ADMIN, a), a, {"category": "weather", "title": "t"})


def test_figures_per_category_and_department_by_hand(
    setup: tuple[Registry, int, int, int, int],
) -> None:
    """Four labour appeals answered after 2, 4, 6 and 30 hours: median (4 + 6) / 2 = 5, the
    90th percentile the 4th of 4 (ceil 3.6) = 30. One finance appeal left open 6 days, past its
    5 days for a first answer: overdue."""
    registry, _, _, a, _ = setup
    clock = Clock()
    service = AppealService(registry, now=clock)
    admin, bureau = access(Role.ENTERPRISE_ADMIN, a), access(Role.BUREAU)
    for hours, rating in ((2, 5), (4, 3), (6, 4), (30, None)):
        clock.now = START
        made = service.file(admin, a, {"category": "labour", "title": "招工", "text": "缺工"})
        service.assign(bureau, made.id, "human_resources")
        clock.hours(hours)
        service.answer(bureau, made.id, "已对接")
        if rating is not None:
            service.confirm(admin, made.id, rating)
    clock.now = START
    service.file(admin, a, {"category": "finance", "title": "贷款", "text": "x"})
    clock.now = START + timedelta(days=6)
    figures = service.figures(bureau)
    labour = next(f for f in figures.by_category if f.key == "labour")
    assert (labour.first_answer.median_h, labour.first_answer.p90_h) == (5.0, 30.0)
    # The one left open was answered, and 6 days are within labour's 30 to close.
    assert (labour.open, labour.overdue, labour.ratings, labour.rating_avg) == (1, 0, 3, 4.0)
    finance = next(f for f in figures.by_category if f.key == "finance")
    assert (finance.open, finance.overdue, finance.first_answer.count) == (1, 1, 0)
    hr = next(f for f in figures.by_department if f.key == "human_resources")
    assert hr.appeals == 4 and hr.closing.median_h == 4.0  # closed after 2, 4, 6 hours
    assert next(f for f in figures.by_department if f.key == "").appeals == 1
    with pytest.raises(ForbiddenError):
        service.figures(admin)


def test_nearest_rank() -> None:
    assert nearest_rank([5.0], 0.9) == 5.0
    assert nearest_rank([float(v) for v in range(1, 11)], 0.9) == 9.0
    assert nearest_rank([float(v) for v in range(1, 12)], 0.9) == 10.0
