"""An SME digital-transformation project's owner measured before and after go-live, on a small
world: loom-b1 of enterprise B runs half of an hour at the start of the before window and
nine tenths of an hour at the start of the after window."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

import pytest

from shugu.domain.tenancy import Access, Principal, Role
from shugu.domain.timeutil import parse_instant
from shugu.region.projects.before_after import windows
from shugu.region.projects.catalogue import catalogue
from shugu.region.projects.service import ProjectService
from shugu.store.registry.region_projects import ProjectFields
from tests.api.conftest import World, registry, world, world_resolver, world_settings
from tests.api.kpi_world import MINUTE, T0, loom_rows, quiet_engine, store_rows

__all__ = ["registry", "world", "world_resolver", "world_settings"]

BUREAU = Access(Principal(1, "bureau", Role.BUREAU), lambda e, g: False)


def _minute(when: str) -> int:
    return (parse_instant(when, "t") - T0) // MINUTE


def test_windows_are_whole_months_beside_the_go_live_month() -> None:
    before, after = windows(date(2026, 4, 15), 3)
    assert (before.start, before.end) == (date(2026, 1, 1), date(2026, 4, 1))
    assert (after.start, after.end) == (date(2026, 5, 1), date(2026, 8, 1))
    before, after = windows(date(2026, 11, 30), 3)
    assert (before.start, after.start, after.end) == (
        date(2026, 8, 1),
        date(2026, 12, 1),
        date(2027, 3, 1),
    )


@pytest.fixture
def measured(world: World) -> tuple[World, int]:
    services = quiet_engine(world)
    loom = world.registry.create_device(world.ent_b, "loom-b1", "loom", asset_id=world.site_b)[0]
    services.analytics.places.invalidate()
    first, second = _minute("2026-01-02T08:00"), _minute("2026-05-01T08:00")
    rows = [
        *loom_rows(loom.id, first, first + 60, lambda m: m < first + 30, 1),
        *loom_rows(loom.id, second, second + 60, lambda m: m < second + 54, 2),
    ]
    store_rows(services, rows)
    body = {
        "code": "SME-1",
        "name": "数字化车间",
        "enterprise_id": world.ent_b,
        "project_type": "sme_digital_transformation",
        "total_investment_wan": "300",
        "official": "王科长",
        "go_live_on": "2026-04-15",
    }
    project, _ = services.region.projects.save(BUREAU, body)
    return world, project.id


def _service(world: World, now: str) -> ProjectService:
    services = quiet_engine(world)
    return ProjectService(
        world.registry, services.analytics.kpis, now_ms=lambda: parse_instant(now, "t")
    )


def test_efficiency_before_and_after(measured: tuple[World, int]) -> None:
    world, project = measured
    found = _service(world, "2026-09-01T00:00").before_after(BUREAU, project)
    assert found.missing is None
    efficiency = next(c for c in found.changes if c.kpi == "efficiency")
    assert (efficiency.before, efficiency.after) == (50.0, 90.0)
    assert efficiency.change == pytest.approx(40.0)


def test_a_side_not_over_or_not_covered_is_not_enough_data(measured: tuple[World, int]) -> None:
    world, project = measured
    # In July the after window (May to July) has not ended.
    found = _service(world, "2026-07-15T00:00").before_after(BUREAU, project)
    efficiency = next(c for c in found.changes if c.kpi == "efficiency")
    assert (efficiency.before, efficiency.after, efficiency.change) == (50.0, None, None)
    # Go-live in March: the before window starts in December, a month before the loom's first
    # data, so it is not covered.
    world.registry.save_project(_moved(world, project, "2026-03-10"), "bureau")
    earlier = _service(world, "2026-09-01T00:00").before_after(BUREAU, project)
    efficiency = next(c for c in earlier.changes if c.kpi == "efficiency")
    assert efficiency.before is None


def _moved(world: World, project: int, go_live: str) -> ProjectFields:
    record = world.registry.get_project(project)
    fields = {k: v for k, v in asdict(record).items() if k in ProjectFields.__dataclass_fields__}
    fields["go_live_on"] = date.fromisoformat(go_live)
    return ProjectFields(**fields)


def test_other_projects_say_why_nothing_is_compared(measured: tuple[World, int]) -> None:
    world, _ = measured
    service = _service(world, "2026-09-01T00:00")
    body = {
        "code": "IND-1",
        "name": "厂房",
        "enterprise_id": world.ent_b,
        "project_type": "industrial",
        "total_investment_wan": "10",
        "official": "王",
    }
    project, _ = service.save(BUREAU, body)
    assert service.before_after(BUREAU, project.id).missing == "not_sme"
    assert catalogue().window_months == 3
