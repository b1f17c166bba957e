"""Computed indicators on a small world: the API tests' two enterprises in one park with the KPI
world's looms (tests/api/kpi_world.py), and a clock set inside its day of data."""

from __future__ import annotations

import pytest

from shugu.domain.tenancy import Access, Principal, Role
from shugu.domain.timeutil import parse_instant
from shugu.region.indicators.periods import PeriodKey
from shugu.region.indicators.service import IndicatorService
from tests.api import kpi_world
from tests.api.conftest import World

NOW = parse_instant("2026-11-10T12:00", "now")
BUREAU = Access(Principal(1, "bureau", Role.BUREAU), lambda e, g: False)


@pytest.fixture
def service(world: World) -> IndicatorService:
    built = kpi_world.build(world)
    services = built.services
    return IndicatorService(
        services.registry, services.store, services.analytics, clock=lambda: NOW
    )


def _value(service: IndicatorService, computation: str, key: PeriodKey) -> float | None:
    return service.book.compute(computation, key).value


def test_counts_of_the_platform(world: World, service: IndicatorService) -> None:
    november = PeriodKey(2026, 11)
    # Devices that sent data: loom-002, loom-003, the meter (A) and loom-b1 (B); the API
    # world's loom-001 and crah-01 stayed silent.
    connected = service.book.compute("devices_connected", november)
    assert connected.value == 4
    assert connected.parts == {"长乐纺织园": 4.0, "滨海数据园": 0.0}
    assert _value(service, "enterprises_on_platform", november) == 2
    # Before the data began nothing was connected.
    assert _value(service, "devices_connected", PeriodKey(2026, 10)) == 0
    # Both world enterprises are in the core? A weaves (0502, digitised industry), B is a
    # data centre (0405, core).
    core = service.book.compute("core_digital_enterprises", november)
    assert core.value == 1 and list(core.parts.values()) == [1.0]


def test_key_enterprises_connected_share(world: World, service: IndicatorService) -> None:
    november = PeriodKey(2026, 11)
    assert service.book.compute("key_enterprises_connected_share", november).missing == (
        "no_key_enterprises"
    )
    silent = world.registry.create_enterprise(world.park_id, "丙织造", "91350182MA2Y0B0J3N", "0502")
    world.registry.update_enterprise_file(world.ent_a, {"key_enterprise": True})
    world.registry.update_enterprise_file(silent.id, {"key_enterprise": True})
    service.book.forget()
    share = service.book.compute("key_enterprises_connected_share", november)
    assert share.value == pytest.approx(50.0)


def test_energy_per_unit_output_by_park(service: IndicatorService) -> None:
    # A: its line's meter drew 60 kWh (08:00-10:00), its looms wove 40 m (loom-002: 200
    # running minutes) + 21 m (loom-003: 105) = 61 m; B: loom-b1 drew 12 kWh for 12 m.
    # The park: 72 kWh / 73 m = 98.63 kWh per 100 m.
    energy = service.book.compute("energy_per_unit_output_by_park", PeriodKey(2026, 11))
    assert energy.value == pytest.approx(100 * 72 / 73, rel=1e-3)
    assert energy.parts == {"长乐纺织园": pytest.approx(100 * 72 / 73, rel=1e-3)}
    assert service.book.compute("energy_per_unit_output_by_park", PeriodKey(2026, 10)).missing == (
        "no_output"
    )


def test_revenue_says_no_figures_until_there_are(world: World, service: IndicatorService) -> None:
    year = PeriodKey(2026)
    assert service.book.compute("core_digital_revenue_by_category", year).missing == "no_figures"
    world.registry.put_year_figures(world.ent_b, 2026, {"revenue_wan": 5200.0}, "bureau")
    world.registry.put_year_figures(world.ent_a, 2026, {"revenue_wan": 9000.0}, "bureau")
    service.book.forget()
    revenue = service.book.compute("core_digital_revenue_by_category", year)
    assert revenue.value == 5200.0


def test_online_is_live_only_and_snapshotted_after_the_month(
    service: IndicatorService,
) -> None:
    assert service.book.compute("devices_online", PeriodKey(2026, 10)).missing == "live_only"
    live = service.book.compute("devices_online", PeriodKey(2026, 11))
    assert live.value is not None
    # The board's first read of December snapshots November.
    later = IndicatorService(
        service.registry,
        service.book._sources.store,
        service.book._sources.analytics,
        clock=lambda: parse_instant("2026-12-01T00:10", "now"),
    )
    later.board(BUREAU)
    values = later.values(BUREAU, "devices_connected", "2026-11", "2026-11")
    assert [(v.period, v.value, v.kind) for v in values] == [("2026-11", 4.0, "snapshot")]
    assert [v.kind for v in later.values(BUREAU, "devices_online", "2026-11", "2026-11")] == [
        "snapshot"
    ]


def test_month_end_snapshots_taken_once_when_pages_read_at_once(
    service: IndicatorService,
) -> None:
    """The wall display's panels and the board read at the same moment: both ask for the
    month-end snapshots, and neither fails on the other's insert (it did, with a 500)."""
    import threading

    def process() -> IndicatorService:
        return IndicatorService(
            service.registry,
            service.book._sources.store,
            service.book._sources.analytics,
            clock=lambda: parse_instant("2026-12-01T00:10", "now"),
        )

    # Two processes sharing the registry, each with two pages reading at once.
    books = [process(), process()]
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def read(book: IndicatorService) -> None:
        start.wait()
        try:
            book.board(BUREAU)
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever escaped
            failures.append(exc)

    threads = [threading.Thread(target=read, args=(b,)) for b in books for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    values = books[0].values(BUREAU, "devices_connected", "2026-11", "2026-11")
    assert [(v.period, v.kind) for v in values] == [("2026-11", "snapshot")]


def test_a_value_another_writer_inserted_meanwhile_is_updated(
    service: IndicatorService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Select, then insert: a writer that inserted the same period in between makes the insert
    fail on the unique key; the write is tried again and updates that row."""
    from sqlalchemy.exc import IntegrityError

    service.board(BUREAU)  # the shipped register, seeded on first read
    registry = service.registry
    indicator = registry.indicator_by_code("devices_connected")
    assert indicator is not None
    original = registry._put_value
    calls: list[int] = []

    def racing(*args: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            original(*args)  # type: ignore[arg-type]  # the other writer's insert
            raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(registry, "_put_value", racing)
    record, created = registry.put_indicator_value(
        indicator.id, "2026-10", 7.0, kind="snapshot", by="test"
    )
    assert (len(calls), created, record.value) == (2, False, 7.0)
