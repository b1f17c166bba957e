"""Calendar versions kept in the registry: the default until one is saved, versions by date,
listeners told where planned time changed, and the week ahead."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from shugu.analytics import calendar_service
from shugu.analytics.calendar import DEFAULT_CALENDAR, day_start_ms
from shugu.domain.errors import NotFoundError, ValidationError
from shugu.store.registry import Registry

DAY_SHIFT: dict[str, Any] = {
    "effective_from": "2026-12-15",
    "note": "冬季单班",
    "shifts": [{"name": "白班", "start": "08:00", "end": "16:00"}],
    "breaks": [{"name": "午餐", "start": "12:00", "end": "12:30"}],
    "rest_days": [7],
}


@pytest.fixture
def registry() -> Iterator[Registry]:
    opened = Registry("sqlite://")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def enterprise(registry: Registry) -> int:
    region = registry.create_region("350100", "福州市")
    park = registry.create_park(region.id, "长乐纺织园", "350112")
    return registry.create_enterprise(park.id, "甲纺织", "91110000600037341L", "0502").id


def test_an_enterprise_without_a_calendar_has_the_default(
    registry: Registry, enterprise: int
) -> None:
    versions = calendar_service.get_calendar(registry, enterprise)
    assert versions.is_default
    assert versions.in_force(date(2026, 12, 1)).calendar == DEFAULT_CALENDAR
    week = calendar_service.preview(versions, date(2026, 12, 1))
    assert [d.planned_hours for d in week] == [24.0] * 7


def test_a_saved_version_holds_from_its_date_and_the_listeners_hear_of_it(
    registry: Registry, enterprise: int
) -> None:
    heard: list[tuple[int, int]] = []
    elsewhere: list[tuple[int, int]] = []
    remove = calendar_service.add_calendar_listener(
        lambda e, t: heard.append((e, t)), registry=registry
    )
    other = Registry("sqlite://")
    calendar_service.add_calendar_listener(lambda e, t: elsewhere.append((e, t)), registry=other)
    try:
        saved = calendar_service.save_calendar(registry, enterprise, DAY_SHIFT, "admin_a")
    finally:
        remove()
        other.close()
    assert heard == [(enterprise, day_start_ms(date(2026, 12, 15)))]
    assert elsewhere == []
    assert saved.id is not None and saved.saved_by == "admin_a" and saved.note == "冬季单班"
    versions = calendar_service.get_calendar(registry, enterprise)
    assert [v.id for v in versions] == [saved.id]
    assert versions.in_force(date(2026, 12, 14)).is_default
    assert versions.in_force(date(2026, 12, 15)).calendar == saved.calendar
    week = calendar_service.preview(versions, date(2026, 12, 14))
    # Monday the 14th still the default, but its night shift ends at midnight, where the new
    # version takes over (20:00–24:00: 4 h); Sunday the 20th rests.
    assert [d.planned_hours for d in week] == [16.0, 7.5, 7.5, 7.5, 7.5, 7.5, 0.0]
    assert [d.kind for d in week][-1] == "rest"


def test_a_later_version_from_the_same_date_replaces_it_and_the_first_stays_on_record(
    registry: Registry, enterprise: int
) -> None:
    first = calendar_service.save_calendar(registry, enterprise, DAY_SHIFT, "admin_a")
    body = {**DAY_SHIFT, "rest_days": [], "breaks": []}
    second = calendar_service.save_calendar(registry, enterprise, body, "admin_a")
    versions = calendar_service.get_calendar(registry, enterprise)
    assert [v.id for v in versions] == [first.id, second.id]
    assert versions.in_force(date(2026, 12, 20)).id == second.id


def test_a_refused_body_saves_nothing_and_tells_nobody(registry: Registry, enterprise: int) -> None:
    heard: list[tuple[int, int]] = []
    remove = calendar_service.add_calendar_listener(lambda e, t: heard.append((e, t)))
    try:
        with pytest.raises(ValidationError) as caught:
            calendar_service.save_calendar(registry, enterprise, {**DAY_SHIFT, "shifts": []}, "a")
    finally:
        remove()
    assert caught.value.code == "calendar_no_shifts"
    assert heard == []
    assert calendar_service.get_calendar(registry, enterprise).is_default


def test_a_failing_listener_does_not_undo_the_save(registry: Registry, enterprise: int) -> None:
    def broken(enterprise_id: int, from_ms: int) -> None:
        raise RuntimeError("engine busy")

    remove = calendar_service.add_calendar_listener(broken, registry=registry)
    try:
        saved = calendar_service.save_calendar(registry, enterprise, DAY_SHIFT, "admin_a")
    finally:
        remove()
    assert [v.id for v in calendar_service.get_calendar(registry, enterprise)] == [saved.id]


def test_a_calendar_for_no_enterprise_is_refused(registry: Registry) -> None:
    with pytest.raises(NotFoundError):
        calendar_service.save_calendar(registry, 999, DAY_SHIFT, "admin_a")
